package e2e

import (
	"context"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/test/chart"
	"github.com/pylonlb/pylon/test/images"
	"github.com/pylonlb/pylon/test/lab"
)

// podLab brings up a lab whose nodes' containerds hold pylon's images
// (clusterRepo, clusterTag) and extra, for installPylon.
func podLab(t testing.TB, o lab.Options, extra ...images.Image) *lab.Lab {
	t.Helper()
	// Before building: without root or the node binaries it skips (or,
	// under make test, fails) at once.
	lab.Require(t)
	build, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	imgs, err := images.Pylon(build, buildDir(t, "images-"+clusterTag), clusterRepo, clusterTag)
	if err != nil {
		t.Fatal(err)
	}
	ns := lab.NodeStack{}
	if o.NodeStack != nil {
		ns = *o.NodeStack
	}
	ns.Images = append(append(ns.Images, imgs...), extra...)
	o.NodeStack = &ns
	return lab.Start(t, o)
}

// startPylonPods runs pylon on a podLab as a cluster runs it, with
// installPylon, then applies the IPPool "lab" with its L2Advertisement, as
// startPylon does for processes. When the test ends, it fails for every
// 403 in the pods' logs.
func startPylonPods(t testing.TB, l *lab.Lab) *pylon {
	t.Helper()
	ctx := t.Context()
	installPylon(ctx, t, l)
	t.Cleanup(func() {
		// The test's context is done by now.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		checkPodsNotRefused(ctx, t, l, append(speakerPods(ctx, t, l), controllerPods(ctx, t, l)...)...)
	})
	labPool(t, l)
	return &pylon{lab: l}
}

// installPylon installs pylon as docs/install.md says: prepareInstall,
// then helmInstallReady.
func installPylon(ctx context.Context, t testing.TB, l *lab.Lab) (*release.Release, time.Time) {
	t.Helper()
	prepareInstall(ctx, t, l)
	return helmInstallReady(ctx, t, l)
}

// prepareInstall makes the cluster one pylon was never installed on, with
// the namespace as docs/install.md has it: labelled for Pod Security
// (Helm does not label it), and the lab's pylon CRDs removed (Helm refuses
// to take over objects it did not create).
func prepareInstall(ctx context.Context, t testing.TB, l *lab.Lab) {
	t.Helper()
	create(t, l.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: pylonNS, Labels: map[string]string{"pod-security.kubernetes.io/enforce": "privileged"},
	}})
	if err := chart.RemoveCRDs(ctx, l.Client); err != nil {
		t.Fatal(err)
	}
}

// helmInstallReady runs `helm install` of deploy/charts/pylon with the
// lab's images (chart.ImageValues) and waits until the controller's two pods
// and a speaker a node are Ready and every speaker sees every node alive.
// It returns the release and when helm install returned.
func helmInstallReady(ctx context.Context, t testing.TB, l *lab.Lab) (*release.Release, time.Time) {
	t.Helper()
	rel := helmInstall(ctx, t, l.Kubeconfig, pylonNS, chart.ImageValues(clusterRepo, clusterTag))
	installed := time.Now()
	t.Logf("helm install: release %s revision %d %s", rel.Name, rel.Version, rel.Info.Status)
	waitWorkloadsReady(ctx, t, l, 90*time.Second)
	t.Logf("controller and speakers Ready %v after helm install", time.Since(installed).Round(time.Millisecond))
	waitMembersAlive(t, l)
	t.Logf("every speaker sees %d members alive %v after helm install", len(l.Nodes), time.Since(installed).Round(time.Millisecond))
	return rel, installed
}

// speakerRestarts is how often the speaker container on node has
// restarted.
func speakerRestarts(t testing.TB, l *lab.Lab, node string) int32 {
	t.Helper()
	for _, p := range speakerPods(t.Context(), t, l) {
		if p.Spec.NodeName != node {
			continue
		}
		var n int32
		for _, c := range p.Status.ContainerStatuses {
			n += c.RestartCount
		}
		return n
	}
	t.Fatalf("no speaker pod on %s", node)
	return 0
}
