package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/poll"
)

// The cluster the RBAC proof runs in: one node, one pool, one Service.
const (
	node1     = "n1"
	node1IP   = "198.51.100.100"
	keySecret = "pylon-memberlist"
)

// testRBAC needs pylon.yaml applied (ServiceAccounts, roles, bindings and
// the admission policy).
func testRBAC(ctx context.Context, t *testing.T, env *envtest.Env) {
	t.Run("Authorizer", func(t *testing.T) {
		checkAccess(ctx, t, env, controllerUser, controllerMay(), controllerMayNot())
		checkAccess(ctx, t, env, speakerUser, speakerMay(), speakerMayNot())
	})
	seed(ctx, t, env)
	logs := &forbiddenLog{}
	metricsAddr := freeAddr(t)
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	ctrlDone := start(ctx, t, "controller", func() (ctrl.Manager, error) { return controllerManager(env, metricsAddr, logs) })
	ann := &fakeAnnouncer{}
	// cmd/speaker waits for the memberlist key Secret before it starts
	// (and writes its SpeakerStatus): so does this one.
	poll.Eventually(t, 100*time.Millisecond, time.Minute, "the memberlist key Secret, before the speaker starts", func() error {
		return env.Client.Get(ctx, types.NamespacedName{Namespace: pylonNS, Name: keySecret}, &corev1.Secret{})
	})
	spkDone := start(ctx, t, "speaker", func() (ctrl.Manager, error) { return speakerManager(env, ann, logs) })

	t.Run("ControllerWorksWithItsRights", func(t *testing.T) { controllerWorks(ctx, t, env) })
	t.Run("SpeakerWorksWithItsRights", func(t *testing.T) { speakerWorks(ctx, t, env, ann) })
	t.Run("SpeakerIsRefused", func(t *testing.T) { speakerRefused(ctx, t, env) })
	t.Run("ControllerIsRefused", func(t *testing.T) { controllerRefused(ctx, t, env) })
	t.Run("PodBoundToken", func(t *testing.T) { podBoundToken(ctx, t, env) })
	t.Run("MetricsNeedAnAuthorizedToken", func(t *testing.T) { metricsAuth(ctx, t, env, metricsAddr) })

	stop()
	for _, d := range []chan error{ctrlDone, spkDone} {
		if err := <-d; err != nil {
			t.Errorf("manager: %v", err)
		}
	}
	for _, l := range logs.lines() {
		t.Errorf("a component was refused something its code does: %s", l)
	}
}

// seed creates, as admin, what the components work on.
func seed(ctx context.Context, t *testing.T, env *envtest.Env) {
	t.Helper()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node1, Labels: map[string]string{corev1.LabelHostname: node1}}}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
		},
	}
	other := &v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: "n2"}, Spec: v1alpha1.SpeakerStatusSpec{MemberlistAddress: "198.51.100.101:7946"}}
	for _, o := range []client.Object{
		node,
		gen.IPPool("rbac", gen.Addresses("198.51.100.0/28")),
		gen.L2Advertisement("rbac", gen.L2Pools("rbac")),
		svc, other,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "not-pylons", Namespace: "default"}, StringData: map[string]string{"k": "v"}},
	} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatalf("create %T: %v", o, err)
		}
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: node1IP}}
	if err := env.Client.Status().Update(ctx, node); err != nil {
		t.Fatal(err)
	}
}

// controllerManager is cmd/controller's manager (controller.ManagerOptions:
// leader election, the Secret cache limited to pylon-system, trimmed Nodes;
// HTTPS metrics behind authn/authz) running as the controller's
// ServiceAccount.
func controllerManager(env *envtest.Env, metricsAddr string, logs *forbiddenLog) (ctrl.Manager, error) {
	mo := controller.ManagerOptions(env.Scheme, controller.ManagerConfig{Namespace: pylonNS, LeaderElect: true, Lease: controller.DefaultLease()})
	mo.Logger = logs.logger("controller")
	mo.Metrics = metricsserver.Options{BindAddress: metricsAddr, SecureServing: true, FilterProvider: filters.WithAuthenticationAndAuthorization}
	mo.HealthProbeBindAddress = "0"
	mo.Controller = config.Controller{SkipNameValidation: ptr.To(true), CacheSyncTimeout: 30 * time.Second}
	mgr, err := ctrl.NewManager(as(env, controllerUser, ""), mo)
	if err != nil {
		return nil, err
	}
	_, err = controller.Setup(mgr, controller.Options{Namespace: pylonNS, Workers: 2, KeySecret: keySecret})
	return mgr, err
}

// speakerManager is cmd/speaker's manager (speaker.ManagerOptions: the
// trimmed cache) running as the speaker's ServiceAccount with a token of
// node n1, with fakes for the network.
func speakerManager(env *envtest.Env, ann *fakeAnnouncer, logs *forbiddenLog) (ctrl.Manager, error) {
	mo := speaker.ManagerOptions(env.Scheme, pylonNS)
	mo.Logger = logs.logger("speaker")
	mo.Metrics = metricsserver.Options{BindAddress: "0"}
	mo.HealthProbeBindAddress = "0"
	mo.Controller = config.Controller{SkipNameValidation: ptr.To(true), CacheSyncTimeout: 30 * time.Second}
	mgr, err := ctrl.NewManager(as(env, speakerUser, node1), mo)
	if err != nil {
		return nil, err
	}
	_, err = speaker.Setup(mgr, speaker.Options{
		Node: node1, Namespace: pylonNS, KeySecret: keySecret, Announcer: ann,
		Members: fakeMembers{node: node1, addr: node1IP + ":7946"}, Links: oneLink(mustPrefix(node1IP + "/24")),
	})
	return mgr, err
}

// start builds a manager and runs it until ctx ends; the channel gets
// Start's result.
func start(ctx context.Context, t *testing.T, name string, build func() (ctrl.Manager, error)) chan error {
	t.Helper()
	mgr, err := build()
	if err != nil {
		t.Fatalf("%s manager: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return done
}

func controllerWorks(ctx context.Context, t *testing.T, env *envtest.Env) {
	var ip string
	poll.Eventually(t, 100*time.Millisecond, time.Minute, "the Service gets an address", func() error {
		var svc corev1.Service
		if err := env.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "web"}, &svc); err != nil {
			return err
		}
		if len(svc.Status.LoadBalancer.Ingress) == 0 {
			return errors.New("no ingress yet")
		}
		ip = svc.Status.LoadBalancer.Ingress[0].IP
		return nil
	})
	if !strings.HasPrefix(ip, "198.51.100.") {
		t.Errorf("address %s not from the pool", ip)
	}
	poll.Eventually(t, 100*time.Millisecond, time.Minute, "the IPPool's status counts it", func() error {
		var p v1alpha1.IPPool
		if err := env.Client.Get(ctx, types.NamespacedName{Name: "rbac"}, &p); err != nil {
			return err
		}
		if p.Status.Allocated != 1 {
			return fmt.Errorf("allocated %d", p.Status.Allocated)
		}
		return nil
	})
	poll.Eventually(t, 100*time.Millisecond, time.Minute, "an Allocated event", func() error { return hasEvent(ctx, env, "web", "Allocated", "pylon-controller") })
	poll.Eventually(t, 100*time.Millisecond, time.Minute, "the memberlist key Secret", func() error {
		return env.Client.Get(ctx, types.NamespacedName{Namespace: pylonNS, Name: keySecret}, &corev1.Secret{})
	})
	poll.Eventually(t, 100*time.Millisecond, time.Minute, "the leader lease", func() error {
		var l coordinationv1.Lease
		if err := env.Client.Get(ctx, types.NamespacedName{Namespace: pylonNS, Name: v1alpha1.ControllerLease}, &l); err != nil {
			return err
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
			return errors.New("no holder")
		}
		return nil
	})
}

func speakerWorks(ctx context.Context, t *testing.T, env *envtest.Env, ann *fakeAnnouncer) {
	poll.Eventually(t, 100*time.Millisecond, time.Minute, "its SpeakerStatus, announcing the address", func() error {
		var s v1alpha1.SpeakerStatus
		if err := env.Client.Get(ctx, types.NamespacedName{Name: node1}, &s); err != nil {
			return err
		}
		if s.Spec.MemberlistAddress != node1IP+":7946" || s.Status.Announced != 1 {
			return fmt.Errorf("spec %+v, announced %d", s.Spec, s.Status.Announced)
		}
		return nil
	})
	if owned := ann.Owned(); len(owned) != 1 {
		t.Errorf("announcer told %v, want one address", owned)
	}
	poll.Eventually(t, 100*time.Millisecond, time.Minute, "an Announcing event", func() error { return hasEvent(ctx, env, "web", speaker.ReasonAnnouncing, "pylon-speaker") })
	// cmd/speaker's direct reads before its cache runs.
	c := newClient(t, env, as(env, speakerUser, node1))
	if err := c.Get(ctx, types.NamespacedName{Name: node1}, &corev1.Node{}); err != nil {
		t.Errorf("speaker reads its Node: %v", err)
	}
	if err := c.Get(ctx, types.NamespacedName{Namespace: pylonNS, Name: keySecret}, &corev1.Secret{}); err != nil {
		t.Errorf("speaker reads the memberlist key Secret: %v", err)
	}
}

// hasEvent finds an events.k8s.io event about Service name in default.
func hasEvent(ctx context.Context, env *envtest.Env, name, reason, reporter string) error {
	var list eventsv1.EventList
	if err := env.Client.List(ctx, &list, client.InNamespace("default")); err != nil {
		return err
	}
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason && e.ReportingController == reporter {
			return nil
		}
	}
	return fmt.Errorf("no %s event by %s among %d", reason, reporter, len(list.Items))
}

func newClient(t *testing.T, env *envtest.Env, cfg *rest.Config) client.Client {
	t.Helper()
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// forbiddenLog collects log lines that say the API server refused
// something: a reconciler that lacks a right logs "... is forbidden".
type forbiddenLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *forbiddenLog) logger(name string) logr.Logger {
	return funcr.New(func(prefix, args string) {
		line := name + " " + prefix + " " + args
		if !strings.Contains(strings.ToLower(args), "forbidden") {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if !slices.Contains(l.seen, line) {
			l.seen = append(l.seen, line)
		}
	}, funcr.Options{Verbosity: 1})
}

func (l *forbiddenLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
