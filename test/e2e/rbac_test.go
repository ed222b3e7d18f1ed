package e2e

import (
	"fmt"
	"strings"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/lab"
)

// nodeNameExtra is the user extra in which a pod-bound token names its
// node.
const nodeNameExtra = "authentication.kubernetes.io/node-name"

// TestRBAC takes the credentials a running speaker uses (the kubeconfig
// in its environment: a token bound to its pod on n1) and shows what the
// shipped RBAC and admission policy let it do: it may not touch a
// Service's spec or status, nor write n2's SpeakerStatus, and may write
// its own. The controller's credentials may not write a Service's spec
// either. Refusals must be 403s from the right check (RBAC or the
// policy), not just any error. startPylon fails the test if a process
// was refused anything while it ran.
func TestRBAC(t *testing.T) {
	l := lab.Start(t, lab.Options{Nodes: 2})
	// pylon as processes: the test acts with each process's own token
	// (processClient) to show what that identity may not do.
	p := startPylon(t, l)
	svc, _ := service(t, l, "web", false)

	spk := processClient(t, l, p.speakers["n1"])
	t.Run("the speaker's token is its ServiceAccount's, bound to n1", func(t *testing.T) {
		u := whoAmI(t, spk)
		if u.Username != "system:serviceaccount:"+pylonNS+":pylon-speaker" || fmt.Sprint(u.Extra[nodeNameExtra]) != "[n1]" {
			t.Fatalf("the speaker on n1 authenticates as %s with extra %v", u.Username, u.Extra)
		}
	})

	t.Run("the speaker cannot change a Service", func(t *testing.T) {
		var cur corev1.Service
		if err := l.Client.Get(t.Context(), client.ObjectKeyFromObject(svc), &cur); err != nil {
			t.Fatal(err)
		}
		changed := cur.DeepCopy()
		changed.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		refusedByRBAC(t, "update the Service's spec", spk.Update(t.Context(), changed), `cannot update resource "services"`)
		spec := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"externalTrafficPolicy":"Local"}}`))
		refusedByRBAC(t, "patch the Service's spec", spk.Patch(t.Context(), cur.DeepCopy(), spec), `cannot patch resource "services"`)
		status := client.RawPatch(types.MergePatchType, []byte(`{"status":{"loadBalancer":{"ingress":[{"ip":"198.51.100.200"}]}}}`))
		refusedByRBAC(t, "patch the Service's status", spk.Status().Patch(t.Context(), cur.DeepCopy(), status), `cannot patch resource "services/status"`)
		var after corev1.Service
		if err := l.Client.Get(t.Context(), client.ObjectKeyFromObject(svc), &after); err != nil {
			t.Fatal(err)
		}
		if after.ResourceVersion != cur.ResourceVersion {
			t.Errorf("the Service changed (resourceVersion %s -> %s)", cur.ResourceVersion, after.ResourceVersion)
		}
	})

	t.Run("the speaker cannot write another node's SpeakerStatus", func(t *testing.T) {
		const policyRefusal = "may write only the SpeakerStatus n1"
		note := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"e2e.pylonlb.io/written-by":"n1"}}}`))
		refusedByPolicy(t, "patch SpeakerStatus n2", spk.Patch(t.Context(), speakerStatus("n2"), note), policyRefusal)
		status := client.RawPatch(types.MergePatchType, []byte(`{"status":{"membersAlive":0}}`))
		refusedByPolicy(t, "patch SpeakerStatus n2's status", spk.Status().Patch(t.Context(), speakerStatus("n2"), status), policyRefusal)
		forged := speakerStatus("n3")
		forged.Spec.MemberlistAddress = "198.18.0.13:7946"
		refusedByPolicy(t, "create SpeakerStatus n3", spk.Create(t.Context(), forged), policyRefusal)
		refusedByRBAC(t, "delete SpeakerStatus n2", spk.Delete(t.Context(), speakerStatus("n2")), `cannot delete resource "speakerstatuses"`)

		var n2 v1alpha1.SpeakerStatus
		if err := l.Client.Get(t.Context(), client.ObjectKey{Name: "n2"}, &n2); err != nil {
			t.Fatal(err)
		}
		if _, ok := n2.Annotations["e2e.pylonlb.io/written-by"]; ok || n2.Status.MembersAlive != 2 {
			t.Errorf("SpeakerStatus n2 was changed: annotations %v, membersAlive %d", n2.Annotations, n2.Status.MembersAlive)
		}
		if err := l.Client.Get(t.Context(), client.ObjectKey{Name: "n3"}, &v1alpha1.SpeakerStatus{}); !apierrors.IsNotFound(err) {
			t.Errorf("SpeakerStatus n3: %v, want not found", err)
		}
	})

	t.Run("the speaker writes its own SpeakerStatus", func(t *testing.T) {
		own := speakerStatus("n1")
		note := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"e2e.pylonlb.io/written-by":"n1"}}}`))
		if err := spk.Patch(t.Context(), own, note); err != nil {
			t.Fatalf("patch its own SpeakerStatus: %v", err)
		}
		if own.Annotations["e2e.pylonlb.io/written-by"] != "n1" {
			t.Fatalf("patched SpeakerStatus n1 has annotations %v", own.Annotations)
		}
		// A real change of its status, then back to what the speaker
		// wrote (it does not rewrite an unchanged status by itself).
		alive := own.Status.MembersAlive
		changed := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"status":{"membersAlive":%d}}`, alive+7))
		if err := spk.Status().Patch(t.Context(), own, changed); err != nil {
			t.Fatalf("patch its own SpeakerStatus's status: %v", err)
		}
		if own.Status.MembersAlive != alive+7 {
			t.Fatalf("membersAlive after the patch: %d, want %d", own.Status.MembersAlive, alive+7)
		}
		back := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"status":{"membersAlive":%d}}`, alive))
		if err := spk.Status().Patch(t.Context(), own, back); err != nil {
			t.Fatalf("patch its own SpeakerStatus's status back: %v", err)
		}
	})

	t.Run("the controller cannot change a Service's spec", func(t *testing.T) {
		ctl := processClient(t, l, p.controller)
		if u := whoAmI(t, ctl); u.Username != "system:serviceaccount:"+pylonNS+":pylon-controller" {
			t.Fatalf("the controller authenticates as %s", u.Username)
		}
		spec := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"externalTrafficPolicy":"Local"}}`))
		refusedByRBAC(t, "controller patches the Service's spec", ctl.Patch(t.Context(), svc.DeepCopy(), spec), `cannot patch resource "services"`)
		status := client.RawPatch(types.MergePatchType, []byte(`{"status":{"membersAlive":0}}`))
		refusedByRBAC(t, "controller patches SpeakerStatus n1's status", ctl.Status().Patch(t.Context(), speakerStatus("n1"), status), `cannot patch resource "speakerstatuses/status"`)
	})
}

// processClient is a client with the credentials process p runs with:
// its --kubeconfig flag, else the KUBECONFIG in its environment.
func processClient(t *testing.T, l *lab.Lab, p *lab.Process) client.Client {
	t.Helper()
	if !p.Running() {
		t.Fatalf("%s is not running", p.Spec.Name)
	}
	var path string
	for _, a := range p.Spec.Args {
		if v, ok := strings.CutPrefix(a, "--kubeconfig="); ok {
			path = v
		}
	}
	for _, e := range p.Spec.Env {
		if v, ok := strings.CutPrefix(e, "KUBECONFIG="); ok && path == "" {
			path = v
		}
	}
	if path == "" {
		t.Fatalf("%s has no kubeconfig", p.Spec.Name)
	}
	return kubeconfigClient(t, l, path)
}

// whoAmI asks the API server who c is.
func whoAmI(t *testing.T, c client.Client) authnv1.UserInfo {
	t.Helper()
	r := &authnv1.SelfSubjectReview{}
	if err := c.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	return r.Status.UserInfo
}

func speakerStatus(name string) *v1alpha1.SpeakerStatus {
	return &v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// refusedByRBAC fails t unless err is a 403 from the authorizer, whose
// message has want ("cannot patch resource …").
func refusedByRBAC(t *testing.T, what string, err error, want string) {
	t.Helper()
	envtest.WantForbidden(t, what, err, "is forbidden: User ", want)
}

// refusedByPolicy fails t unless err is a 403 from the admission policy
// pylon-speaker-own-speakerstatus whose message has want.
func refusedByPolicy(t *testing.T, what string, err error, want string) {
	t.Helper()
	envtest.WantForbidden(t, what, err, "ValidatingAdmissionPolicy '"+ownStatusPolicy+"'", want)
}

// TestRefusedLines: the log check catches the API server's 403s as the
// components log them, and nothing else.
func TestRefusedLines(t *testing.T) {
	log := `2026-01-02T10:00:00Z	INFO	speaker	pass done	{"node": "n1"}
2026-01-02T10:00:01Z	ERROR	Reconciler error	{"error": "write SpeakerStatus n2 status: speakerstatuses.pylonlb.io \"n2\" is forbidden: ValidatingAdmissionPolicy 'pylon-speaker-own-speakerstatus' with binding 'pylon-speaker-own-speakerstatus' denied request: the speaker on node n1 may write only the SpeakerStatus n1, not n2"}
E0102 10:00:02.000000 1 event.go:359] "Server rejected event (will not retry!)" err="events.events.k8s.io is forbidden: User \"system:serviceaccount:pylon-system:pylon-speaker\" cannot create resource \"events\" in API group \"events.k8s.io\" in the namespace \"default\""
2026-01-02T10:00:03Z	INFO	announcing	{"ip": "198.51.100.1"}
`
	got := refusedLines(log)
	if len(got) != 2 || !strings.Contains(got[0], "ValidatingAdmissionPolicy") || !strings.Contains(got[1], "Server rejected event") {
		t.Errorf("refusedLines found %q, want the policy denial and the rejected event", got)
	}
	if got := refusedLines("all good\nno refusal here\n"); got != nil {
		t.Errorf("refusedLines found %q in a clean log", got)
	}
}
