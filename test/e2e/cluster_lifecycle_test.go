package e2e

import (
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/test/chart"
	"github.com/pylonlb/pylon/test/images"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// The lifecycle scenarios of TestCluster come last (they upgrade pylon,
// uninstall it, install it again with kubectl and delete it): HelmUpgrade,
// HelmUninstall, KubectlApply.

// The upgrade's values beyond clusterValues: each changes the pods.
const (
	upgradeLogLevel         = "debug"
	upgradeControllerMemory = "320Mi" // controller.resources.limits.memory
	upgradeSpeakerCPU       = "70m"   // speaker.resources.requests.cpu
)

// clusterHelmUpgrade upgrades the release with changed values (log level
// of both, the controller's memory limit, the speaker's CPU request) while
// the local client probes the layer-2 Service backend-lab: every pod is
// replaced by one with the new arguments and resources and becomes Ready,
// the Service keeps its address, at most one probe a speaker restart is
// lost (what a rolling restart allows), and the memberlist key Secret is
// the same one.
func clusterHelmUpgrade(t *testing.T, c *cluster) {
	l, ctx := c.lab, c.ctx
	ip := serviceAddress(t, c, "backend-lab")
	if who := answering(t, l, ip); len(who) != 1 {
		t.Fatalf("%s answered by %v before the upgrade, want one node", ip, who)
	}
	key := keySecretUID(t, c)
	old := map[types.UID]bool{}
	for _, p := range pylonPods(t, c) {
		old[p.UID] = true
	}

	vals := chart.ImageValues(clusterRepo, clusterTag)
	vals["logLevel"] = upgradeLogLevel
	vals["controller"] = map[string]any{"resources": map[string]any{"limits": map[string]any{"memory": upgradeControllerMemory}}}
	vals["speaker"] = map[string]any{"resources": map[string]any{"requests": map[string]any{"cpu": upgradeSpeakerCPU}}}
	sampler := l.LocalClient.StartSampler(ctx, ip, 80)
	began := time.Now()
	rel := helmUpgrade(ctx, t, l.Kubeconfig, pylonNS, vals)
	t.Logf("helm upgrade: release %s revision %d %s in %v", rel.Name, rel.Version, rel.Info.Status, time.Since(began).Round(time.Millisecond))
	if rel.Version <= c.release.Version {
		t.Errorf("upgrade made revision %d, want more than %d", rel.Version, c.release.Version)
	}
	c.release = rel

	n := len(l.Nodes)
	poll.Eventually(t, 50*time.Millisecond, 90*time.Second, "every pylon pod replaced by a Ready one with the new values", func() (bool, string) {
		pods := pylonPods(t, c)
		var ready, stale int
		for _, p := range pods {
			if old[p.UID] || p.DeletionTimestamp != nil || !hasUpgradeValues(p) {
				stale++
				continue
			}
			if podReady(p) {
				ready++
			}
		}
		return stale == 0 && ready == 2+n && len(pods) == 2+n, fmt.Sprintf("%d pods: %d old or without the new values, %d new and Ready", len(pods), stale, ready)
	})
	rolled := time.Since(began)
	waitPylonReady(t, c, 30*time.Second)
	waitMembersAlive(t, l)
	t.Logf("every pod rolled and Ready %v after helm upgrade began", rolled.Round(time.Millisecond))
	time.Sleep(2 * time.Second) // the new speakers alone
	r, _ := sampler.Stop()
	t.Logf("local client over layer 2 through the upgrade: %v", r)
	if r.Samples == 0 || r.Failures > n {
		t.Errorf("%d of %d probes lost through the upgrade, want at most one a speaker restart (%d)", r.Failures, r.Samples, n)
	}
	if got := serviceAddress(t, c, "backend-lab"); got != ip {
		t.Errorf("backend-lab has %s after the upgrade, had %s", got, ip)
	}
	if got := keySecretUID(t, c); got != key {
		t.Errorf("the memberlist key Secret was replaced through the upgrade (UID %s, was %s)", got, key)
	}
	checkPodsNotRefused(ctx, t, l, pylonPods(t, c)...)
}

// hasUpgradeValues reports whether a pylon pod runs with the upgrade's
// values: the log level, and its component's changed resource.
func hasUpgradeValues(p corev1.Pod) bool {
	if len(p.Spec.Containers) != 1 {
		return false
	}
	ct := p.Spec.Containers[0]
	if !slices.Contains(ct.Args, "--zap-log-level="+upgradeLogLevel) {
		return false
	}
	switch p.Labels["app.kubernetes.io/component"] {
	case "controller":
		return ct.Resources.Limits.Memory().Equal(resource.MustParse(upgradeControllerMemory))
	case "speaker":
		return ct.Resources.Requests.Cpu().Equal(resource.MustParse(upgradeSpeakerCPU))
	}
	return false
}

// helmKeeps says why an object of pylon's may stay after helm uninstall,
// as docs/install.md says, or "" when it may not.
func helmKeeps(o invObject) string {
	switch {
	case o.resource == "customresourcedefinitions.apiextensions.k8s.io" && o.annotations["helm.sh/resource-policy"] == "keep":
		return "CRDs with helm.sh/resource-policy: keep"
	case strings.HasSuffix(o.resource, ".pylonlb.io"):
		return "pylon objects, kept with their CRDs"
	case o.resource == "leases.coordination.k8s.io" && o.namespace == pylonNS && o.name == "pylon-controller.pylonlb.io":
		return "the controller's leader Lease, released; goes with the namespace"
	}
	return eventsExpire(o)
}

// eventsExpire says why an Event may stay: the API server deletes Events
// an hour after their last update.
func eventsExpire(o invObject) string {
	if o.resource == "events" || o.resource == "events.events.k8s.io" {
		return "Events, deleted by the API server after an hour"
	}
	return ""
}

// clusterHelmUninstall uninstalls the release and checks that nothing of
// pylon's is left that install.md does not say is kept: every object of
// every listable resource type is compared with the cluster before helm
// install, and each new one that is pylon's (by namespace, API group,
// Helm's or pylon's labels, or written by a pylon component or Helm) must
// be one helmKeeps accepts; no node's containerd holds a container of a
// pylon image, and no node answers for the layer-2 address any more.
func clusterHelmUninstall(t *testing.T, c *cluster) {
	l := c.lab
	ip := serviceAddress(t, c, "backend-lab")
	// The containers the check below must see go: it sees them now.
	if running := pylonContainers(t, l); len(running) < 2+len(l.Nodes) {
		t.Fatalf("pylon containers in the nodes' containerd: %v, want the controller's 2 and a speaker a node", running)
	}
	began := time.Now()
	res := helmUninstall(t, l.Kubeconfig, pylonNS)
	t.Logf("helm uninstall: %s in %v", res.Info, time.Since(began).Round(time.Millisecond))
	kept, others := waitNothingLeft(t, c, c.beforeInstall, helmKeeps)
	t.Logf("nothing of pylon's left %v after helm uninstall began", time.Since(began).Round(time.Millisecond))
	logKept(t, kept, others)
	if crds := kept["CRDs with helm.sh/resource-policy: keep"]; len(crds) != 5 {
		t.Errorf("kept CRDs %v, want pylon's 5", crds)
	}
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "no node to answer for "+ip.String(), func() (bool, string) {
		who := answering(t, l, ip)
		return len(who) == 0, fmt.Sprint(who)
	})
}

// waitNothingLeft waits until, of pylon's objects made since before, only
// those keep accepts are left and no node runs a pylon container; it
// returns the kept ones by reason and the new objects that are not
// pylon's.
func waitNothingLeft(t *testing.T, c *cluster, before inventory, keep func(invObject) string) (kept map[string][]string, others []string) {
	t.Helper()
	began, last := time.Now(), ""
	poll.Eventually(t, 50*time.Millisecond, 2*time.Minute, "nothing of pylon's left but what is kept", func() (bool, string) {
		var pylons []invObject
		pylons, others = pylonsSince(before, takeInventory(c.ctx, t, c.lab))
		var left []string
		kept, left = leftovers(pylons, keep)
		containers := pylonContainers(t, c.lab)
		msg := fmt.Sprintf("left %d: %v; containers %v", len(left), left, containers)
		if msg != last { // what goes when, for the wall time
			t.Logf("%v: %.400s", time.Since(began).Round(time.Millisecond), msg)
			last = msg
		}
		return len(left) == 0 && len(containers) == 0, msg
	})
	return kept, others
}

func logKept(t *testing.T, kept map[string][]string, others []string) {
	t.Helper()
	for _, why := range slices.Sorted(maps.Keys(kept)) {
		t.Logf("kept: %s: %d: %v", why, len(kept[why]), kept[why])
	}
	t.Logf("not pylon's: %d objects the test and the cluster made: %v", len(others), others)
}

// pylonContainers are the containers of a pylon image in the nodes'
// containerd, as "node/id image".
func pylonContainers(t *testing.T, l *lab.Lab) []string {
	t.Helper()
	var out []string
	for _, n := range l.Nodes {
		cs, err := l.NodeContainers(t.Context(), n)
		if err != nil {
			t.Fatal(err)
		}
		for id, img := range cs {
			if strings.Contains(img, "/pylon-controller:") || strings.Contains(img, "/pylon-speaker:") {
				out = append(out, n.Name+"/"+id+" "+img)
			}
		}
	}
	return out
}

// clusterKubectlApply installs pylon again as install.md's kubectl path
// says, on the cluster Helm left (its CRDs and pylon objects kept, the
// namespace deleted as the operator would): the images deploy/pylon.yaml
// names imported into every node, `kubectl apply --server-side -f
// deploy/pylon.yaml`; the namespace carries the Pod Security label
// install.md names, the controller and the speakers are Ready with the
// kubelets' tokens and nothing refused, and backend-lab is answered by a
// pod through its owner at the address it had. Then `kubectl delete -f
// deploy/pylon.yaml` leaves nothing of pylon's but Events (the CRDs go
// too, as install.md says).
func clusterKubectlApply(t *testing.T, c *cluster) {
	l, ctx := c.lab, c.ctx
	ip := serviceAddress(t, c, "backend-lab")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pylonNS}}
	if err := l.Client.Delete(ctx, ns); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 50*time.Millisecond, 2*time.Minute, "namespace "+pylonNS+" gone", func() (bool, string) {
		err := l.Client.Get(ctx, client.ObjectKeyFromObject(ns), ns)
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})

	manifest := filepath.Join(l.API.RepoRoot, shippedManifest)
	imgs := shippedImages(t, c, manifest)
	before := takeInventory(ctx, t, l)
	began := time.Now()
	out, err := l.API.Kubectl(ctx, "apply", "--server-side", "-f", manifest)
	if err != nil {
		t.Fatalf("kubectl apply --server-side -f %s: %v\n%s", shippedManifest, err, out)
	}
	t.Logf("kubectl apply: %d lines in %v", strings.Count(string(out), "\n"), time.Since(began).Round(time.Millisecond))

	if err := l.Client.Get(ctx, client.ObjectKeyFromObject(ns), ns); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"pod-security.kubernetes.io/enforce": "privileged", corev1.LabelMetadataName: pylonNS}
	if !maps.Equal(ns.Labels, want) {
		t.Errorf("namespace %s labels %v, want %v (install.md)", pylonNS, ns.Labels, want)
	}
	waitPylonReady(t, c, 90*time.Second)
	waitMembersAlive(t, l)
	t.Logf("controller and speakers Ready, every speaker sees every node %v after kubectl apply", time.Since(began).Round(time.Millisecond))
	speakers := checkSpeakerPods(ctx, t, l)
	pods := append(speakers, controllerPods(ctx, t, l)...)
	for _, p := range pods {
		ct := p.Spec.Containers[0]
		if !slices.Contains(imgs, ct.Image) || ct.ImagePullPolicy != corev1.PullIfNotPresent {
			t.Errorf("pod %s runs %s (pull policy %s), want one of %v, IfNotPresent", p.Name, ct.Image, ct.ImagePullPolicy, imgs)
		}
	}

	podNames := c.backendPods(t)
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "one node to answer for "+ip.String()+" and a pod through it", func() (bool, string) {
		who := answering(t, l, ip)
		got, err := l.LocalClient.Get(ctx, ip, 80, time.Second)
		return len(who) == 1 && err == nil && slices.Contains(podNames, got), fmt.Sprintf("ARP %v; HTTP %q (%v)", who, got, err)
	})
	t.Logf("%s answered by a pod %v after kubectl apply", ip, time.Since(began).Round(time.Millisecond))
	if got := serviceAddress(t, c, "backend-lab"); got != ip {
		t.Errorf("backend-lab has %s under the kubectl install, had %s", got, ip)
	}
	sampler := l.LocalClient.StartSampler(ctx, ip, 80)
	time.Sleep(2 * time.Second)
	if r, _ := sampler.Stop(); r.Samples == 0 || r.Failures > 0 {
		t.Errorf("local client over layer 2: %v, want every probe answered", r)
	}
	checkPodsNotRefused(ctx, t, l, pods...)

	deleted := time.Now()
	if out, err := l.API.Kubectl(ctx, "delete", "-f", manifest, "--timeout=2m"); err != nil {
		t.Fatalf("kubectl delete -f %s: %v\n%s", shippedManifest, err, out)
	}
	t.Logf("kubectl delete returned in %v", time.Since(deleted).Round(time.Millisecond))
	kept, others := waitNothingLeft(t, c, before, eventsExpire)
	t.Logf("nothing of pylon's left %v after kubectl delete began", time.Since(deleted).Round(time.Millisecond))
	logKept(t, kept, others)
	// The CRDs and pylon objects Helm kept were there before the apply:
	// the delete takes them (install.md), and pylon's namespace with them.
	for _, o := range takeInventory(ctx, t, l) {
		if o.namespace == pylonNS || strings.HasSuffix(o.resource, ".pylonlb.io") || strings.HasSuffix(o.name, ".pylonlb.io") ||
			o.resource == "namespaces" && o.name == pylonNS {
			t.Errorf("%s left after kubectl delete", o)
		}
	}
	if who := answering(t, l, ip); len(who) != 0 {
		t.Errorf("%s answered by %v after kubectl delete", ip, who)
	}
}

// shippedImages builds the images manifest's workloads name (the
// repository and tag of its controller image) and imports them into every
// node's containerd; it returns their refs.
func shippedImages(t *testing.T, c *cluster, manifest string) []string {
	t.Helper()
	var refs []string
	for _, o := range manifestObjects(t, manifest) {
		switch o.GetKind() {
		case "Deployment":
			refs = append(refs, podTemplate[appsv1.Deployment](t, o, func(d *appsv1.Deployment) corev1.PodTemplateSpec { return d.Spec.Template }).Spec.Containers[0].Image)
		case "DaemonSet":
			refs = append(refs, podTemplate[appsv1.DaemonSet](t, o, func(d *appsv1.DaemonSet) corev1.PodTemplateSpec { return d.Spec.Template }).Spec.Containers[0].Image)
		}
	}
	if len(refs) != 2 {
		t.Fatalf("%s names images %v, want the controller's and the speaker's", shippedManifest, refs)
	}
	repo, tag, ok := strings.Cut(refs[0], "/pylon-controller:")
	if !ok {
		t.Fatalf("%s: controller image %s, want <repo>/pylon-controller:<tag>", shippedManifest, refs[0])
	}
	began := time.Now()
	imgs, err := images.Pylon(c.ctx, buildDir(t, "images-"+tag), repo, tag)
	if err != nil {
		t.Fatal(err)
	}
	var built []string
	for _, im := range imgs {
		built = append(built, im.Ref)
	}
	slices.Sort(built)
	slices.Sort(refs)
	if !slices.Equal(built, refs) {
		t.Fatalf("built %v, %s names %v", built, shippedManifest, refs)
	}
	if err := c.lab.ImportImages(c.ctx, imgs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("%v built and imported into every node in %v", refs, time.Since(began).Round(time.Millisecond))
	return refs
}

// serviceAddress is the address of the backend's LoadBalancer Service name.
func serviceAddress(t *testing.T, c *cluster, name string) netip.Addr {
	t.Helper()
	var svc corev1.Service
	if err := c.lab.Client.Get(c.ctx, client.ObjectKey{Namespace: c.backend.Namespace, Name: name}, &svc); err != nil {
		t.Fatal(err)
	}
	if len(svc.Status.LoadBalancer.Ingress) != 1 {
		t.Fatalf("Service %s: ingress %v, want one address", name, svc.Status.LoadBalancer.Ingress)
	}
	return netip.MustParseAddr(svc.Status.LoadBalancer.Ingress[0].IP)
}

// keySecretUID is the UID of the memberlist key Secret.
func keySecretUID(t *testing.T, c *cluster) types.UID {
	t.Helper()
	var s corev1.Secret
	if err := c.lab.Client.Get(c.ctx, client.ObjectKey{Namespace: pylonNS, Name: "pylon-memberlist"}, &s); err != nil {
		t.Fatal(err)
	}
	return s.UID
}

// pylonPods are the controller's and the speakers' pods.
func pylonPods(t *testing.T, c *cluster) []corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	if err := c.lab.Client.List(c.ctx, &pods, client.InNamespace(pylonNS), client.MatchingLabels{"app.kubernetes.io/name": "pylon"}); err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
