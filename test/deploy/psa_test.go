package deploy

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	utilptr "k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/test/envtest"
)

// testPodSecurity creates, with dry-run, the pods the controller
// Deployment and the speaker DaemonSet would make, in namespaces that
// enforce each Pod Security level. The controller meets "restricted"
// without a warning; the speaker (host network, NET_RAW) meets only
// "privileged", which pylon-system enforces; and being refused elsewhere
// shows the admission plugin is really on.
func testPodSecurity(ctx context.Context, t *testing.T, env *envtest.Env, plain []object) {
	for _, level := range []string{"restricted", "baseline"} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "psa-" + level, Labels: map[string]string{
			"pod-security.kubernetes.io/enforce":         level,
			"pod-security.kubernetes.io/enforce-version": "latest",
			"pod-security.kubernetes.io/warn":            level,
		}}}
		if err := env.Client.Create(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	warnings := &warningLog{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = warnings
	c := newClient(t, env, cfg)
	ctrlPod := podFrom(t, find(t, plain, "apps/v1/Deployment", "pylon-controller"))
	spkPod := podFrom(t, find(t, plain, "apps/v1/DaemonSet", "pylon-speaker"))

	create := func(p *corev1.Pod, ns string) error {
		p = p.DeepCopy()
		p.Namespace = ns
		return c.Create(ctx, p, client.DryRunAll)
	}
	if err := create(ctrlPod, "psa-restricted"); err != nil {
		t.Errorf("Pod Security restricted refuses the controller's pod: %v", err)
	}
	if w := warnings.take(); len(w) > 0 {
		t.Errorf("the controller's pod draws warnings under restricted: %v", w)
	}
	for _, ns := range []string{"psa-restricted", "psa-baseline"} {
		err := create(spkPod, ns)
		if err == nil || !strings.Contains(err.Error(), "hostNetwork") {
			t.Errorf("%s: the speaker's pod: %v, want refused for hostNetwork", ns, err)
		}
	}
	// The speaker's priority class (system-node-critical) is admitted
	// outside kube-system: the Priority admission plugin resolves it.
	spk := spkPod.DeepCopy()
	spk.Namespace = pylonNS
	if err := c.Create(ctx, spk, client.DryRunAll); err != nil {
		t.Errorf("pylon-system refuses the speaker's pod: %v", err)
	} else if spk.Spec.PriorityClassName != "system-node-critical" || spk.Spec.Priority == nil || *spk.Spec.Priority != nodeCritical {
		t.Errorf("the speaker's pod: priority class %q, priority %v; want system-node-critical, %d",
			spk.Spec.PriorityClassName, utilptr.Deref(spk.Spec.Priority, 0), nodeCritical)
	}
}

// nodeCritical is the priority of the built-in PriorityClass
// system-node-critical, which the API server creates.
const nodeCritical = 2000001000

// podFrom makes the pod a workload's template describes.
func podFrom(t *testing.T, o object) *corev1.Pod {
	t.Helper()
	tmpl := o["spec"].(map[string]any)["template"]
	b, err := json.Marshal(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	var pt corev1.PodTemplateSpec
	if err := json.Unmarshal(b, &pt); err != nil {
		t.Fatal(err)
	}
	p := &corev1.Pod{ObjectMeta: pt.ObjectMeta, Spec: pt.Spec}
	p.Name = o.name() + "-psa"
	return p
}

// warningLog keeps the API server's warnings.
type warningLog struct {
	mu   sync.Mutex
	seen []string
}

func (w *warningLog) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	w.seen = append(w.seen, text)
	w.mu.Unlock()
}

func (w *warningLog) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.seen
	w.seen = nil
	return s
}
