package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
	"github.com/pylonlb/pylon/test/yamldocs"
)

// The lab's pylon runs as it is shipped: deploy/pylon.yaml's namespace,
// ServiceAccounts, roles, bindings and admission policy are applied as
// they are, and each process gets a token of the ServiceAccount its
// workload names; the speakers' tokens are bound to a pod on their node
// made from the DaemonSet's pod template, as the kubelet's are. What the
// manifest runs as workloads (Deployment, DaemonSet, their Services, the
// PodDisruptionBudget) the lab's processes stand in for; the CRDs are in
// place already (the test API server installs deploy/crds).

// shippedManifest is the install manifest, relative to the repository.
const shippedManifest = "deploy/pylon.yaml"

// ownStatusPolicy is the ValidatingAdmissionPolicy that keeps a speaker to
// its own node's SpeakerStatus.
const ownStatusPolicy = "pylon-speaker-own-speakerstatus"

// shippedKinds are the kinds of pylon.yaml the lab applies.
func shippedKinds() []string {
	return []string{
		"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
	}
}

// shipped is what the lab takes from pylon.yaml beyond what it applies.
type shipped struct {
	// controller and speaker are the workloads' pod templates.
	controller, speaker corev1.PodTemplateSpec
}

// installShipped applies pylon.yaml's rights (shippedKinds) to the lab's
// API server and returns the workloads' pod templates.
func installShipped(t testing.TB, l *lab.Lab) shipped {
	t.Helper()
	objs := manifestObjects(t, filepath.Join(l.API.RepoRoot, shippedManifest))
	kinds := shippedKinds()
	var s shipped
	var applied []string
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment":
			s.controller = podTemplate[appsv1.Deployment](t, o, func(d *appsv1.Deployment) corev1.PodTemplateSpec { return d.Spec.Template })
		case "DaemonSet":
			s.speaker = podTemplate[appsv1.DaemonSet](t, o, func(d *appsv1.DaemonSet) corev1.PodTemplateSpec { return d.Spec.Template })
		}
		if !slices.Contains(kinds, o.GetKind()) {
			continue
		}
		if err := l.Client.Create(t.Context(), o); err != nil {
			t.Fatalf("apply %s %s from %s: %v", o.GetKind(), o.GetName(), shippedManifest, err)
		}
		applied = append(applied, o.GetKind()+"/"+o.GetName())
	}
	for _, want := range []string{
		"Namespace/" + pylonNS, "ServiceAccount/pylon-controller", "ServiceAccount/pylon-speaker",
		"ClusterRole/pylon-controller", "ClusterRole/pylon-speaker", "Role/pylon-controller", "Role/pylon-speaker",
		"ValidatingAdmissionPolicy/" + ownStatusPolicy, "ValidatingAdmissionPolicyBinding/" + ownStatusPolicy,
	} {
		if !slices.Contains(applied, want) {
			t.Fatalf("%s has no %s (applied %v)", shippedManifest, want, applied)
		}
	}
	if s.controller.Spec.ServiceAccountName == "" || s.speaker.Spec.ServiceAccountName == "" {
		t.Fatalf("%s: no ServiceAccount in the controller's or the speaker's pod template", shippedManifest)
	}
	return s
}

// manifestObjects reads every object of a YAML stream.
func manifestObjects(t testing.TB, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := yamldocs.Objects(data)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = &unstructured.Unstructured{Object: o}
	}
	return out
}

// podTemplate converts o to a T and returns its pod template.
func podTemplate[T any](t testing.TB, o *unstructured.Unstructured, template func(*T) corev1.PodTemplateSpec) corev1.PodTemplateSpec {
	t.Helper()
	var typed T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &typed); err != nil {
		t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
	return template(&typed)
}

// controllerKubeconfig is a kubeconfig with a token of the controller's
// ServiceAccount.
func controllerKubeconfig(t testing.TB, l *lab.Lab, s shipped) string {
	t.Helper()
	kc, err := l.ServiceAccountKubeconfig(t.Context(), "pylon-controller",
		client.ObjectKey{Namespace: pylonNS, Name: s.controller.Spec.ServiceAccountName}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

// speakerKubeconfig makes the speaker DaemonSet's pod for node n and
// returns a kubeconfig with a token of the speaker's ServiceAccount bound
// to it: what the kubelet would mount, node name included.
func speakerKubeconfig(t testing.TB, l *lab.Lab, s shipped, n *lab.Node) string {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: *s.speaker.ObjectMeta.DeepCopy(), Spec: *s.speaker.Spec.DeepCopy()}
	pod.Namespace, pod.Name = pylonNS, "pylon-speaker-"+n.Name
	if err := l.CreatePodOn(t.Context(), n, pod); err != nil {
		t.Fatal(err)
	}
	kc, err := l.ServiceAccountKubeconfig(t.Context(), "pylon-speaker-"+n.Name,
		client.ObjectKey{Namespace: pylonNS, Name: pod.Spec.ServiceAccountName}, pod)
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

// waitPolicy waits until the API server enforces the admission policy
// (it takes up a new one within a second or so): a dry-run create of a
// SpeakerStatus named after no node, with a speaker's credentials, is
// refused by it. Without kube-controller-manager nothing writes the
// policy's status, so this is the only sign.
func waitPolicy(t testing.TB, l *lab.Lab, speakerKubeconfig string) {
	t.Helper()
	c := kubeconfigClient(t, l, speakerKubeconfig)
	probe := &v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: "e2e-policy-probe"}}
	probe.Spec.MemberlistAddress = "198.18.0.250:7946"
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "the API server to enforce "+ownStatusPolicy, func() (bool, string) {
		err := c.Create(t.Context(), probe.DeepCopy(), client.DryRunAll)
		if err == nil {
			return false, "a speaker may still create any SpeakerStatus"
		}
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), ownStatusPolicy), err.Error()
	})
}

// kubeconfigClient is a client with the credentials of a kubeconfig file.
func kubeconfigClient(t testing.TB, l *lab.Lab, path string) client.Client {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: l.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkNotRefused fails t for every line of the processes' logs that says
// the API server refused them something: under the shipped RBAC that is a
// right the code uses and the roles lack. Lines excused says are not (nil:
// none) are logged instead.
func checkNotRefused(t testing.TB, excused func(line string) bool, procs ...*lab.Process) {
	t.Helper()
	for _, p := range procs {
		var lines []string
		for _, line := range refusedLines(p.Log()) {
			if excused != nil && excused(line) {
				t.Logf("%s: refused while the API server was starting (excused): %.300s", p.Spec.Name, line)
				continue
			}
			lines = append(lines, line)
		}
		for i, line := range lines {
			if i == 5 {
				t.Errorf("%s: %d more refusals in %s", p.Spec.Name, len(lines)-i, p.LogPath)
				break
			}
			if len(line) > 600 {
				line = line[:600] + "…"
			}
			t.Errorf("%s was refused something its code does (shipped RBAC too narrow?): %s", p.Spec.Name, line)
		}
	}
}

// refusedLines are the lines of log that report a 403: client-go's errors
// say "… is forbidden: …", admission policies' reason is Forbidden.
func refusedLines(log string) []string {
	var out []string
	for line := range strings.Lines(log) {
		if strings.Contains(strings.ToLower(line), "forbidden") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}
