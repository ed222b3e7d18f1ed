package speaker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/memberlistkey"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/layer2"
	"github.com/pylonlb/pylon/speaker/membership"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/poll"
)

// recordingAnnouncer stands in for layer 2's raw sockets: it records what
// the reconciler tells it to answer for, how often, and the reclaiming
// bursts it asks for.
type recordingAnnouncer struct {
	// broken makes every SetOwned fail, as the layer-2 Announcer does
	// when an interface is gone.
	broken     atomic.Bool
	mu         sync.Mutex
	owned      map[netip.Addr][]string
	sets       int
	reannounce map[netip.Addr]int
}

func (a *recordingAnnouncer) SetOwned(m map[netip.Addr][]string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sets++
	if a.broken.Load() {
		a.owned = nil
		return &layer2.InterfaceError{Interface: "eth0", Err: errors.New("no such network interface")}
	}
	a.owned = m
	return nil
}

// on is the interfaces the announcer answers for ip on.
func (a *recordingAnnouncer) on(ip netip.Addr) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.owned[ip]
}

func (a *recordingAnnouncer) Reannounce(ip netip.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.reannounce == nil {
		a.reannounce = map[netip.Addr]int{}
	}
	a.reannounce[ip]++
	return true
}

func (a *recordingAnnouncer) Stats() layer2.Stats { return layer2.Stats{} }

func (a *recordingAnnouncer) has(ip netip.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.owned[ip]
	return ok
}

// passes is how many passes applied a plan so far.
func (a *recordingAnnouncer) passes() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sets
}

func (a *recordingAnnouncer) reannounced(ip netip.Addr) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reannounce[ip]
}

// fakeMembers stands in for memberlist: the test says who is live; each
// change wakes the reconciler (Options.Changes).
type fakeMembers struct {
	mu      sync.Mutex
	live    []string
	changes chan struct{}
}

// members returns a memberlist in which the given nodes are live.
func members(live ...string) *fakeMembers {
	return &fakeMembers{live: live, changes: make(chan struct{}, 1)}
}

func (m *fakeMembers) Address() string { return "" }

func (m *fakeMembers) Live() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.live)
}

func (m *fakeMembers) Members() []membership.Member {
	var out []membership.Member
	for _, n := range m.Live() {
		out = append(out, membership.Member{Name: n, State: membership.Alive})
	}
	return out
}

func (m *fakeMembers) Join([]string) (int, error)       { return 0, nil }
func (m *fakeMembers) SetKeys(memberlistkey.Keys) error { return nil }

// setLive makes exactly these nodes live and wakes the reconciler.
func (m *fakeMembers) setLive(live ...string) {
	m.mu.Lock()
	m.live = live
	m.mu.Unlock()
	m.poke()
}

// poke wakes the reconciler as a memberlist change does.
func (m *fakeMembers) poke() {
	select {
	case m.changes <- struct{}{}:
	default:
	}
}

// eth0 is a node's one link, in prefix.
func eth0(prefix string) func() ([]layer2.Link, error) {
	return func() ([]layer2.Link, error) {
		return []layer2.Link{{Name: "eth0", HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Up: true, Prefixes: []netip.Prefix{netip.MustParsePrefix(prefix)}}}, nil
	}
}

// intercepted is a NewClientFunc whose clients go through funcs first
// (interceptor), to make the API server hang or a cache look stale.
func intercepted(funcs interceptor.Funcs) client.NewClientFunc {
	return func(cfg *rest.Config, o client.Options) (client.Client, error) {
		inner, err := client.NewWithWatch(cfg, o)
		if err != nil {
			return nil, err
		}
		return interceptor.NewClient(inner, funcs), nil
	}
}

// startSpeaker runs the speaker's reconciler (Setup) in a manager of its
// own on env, with newClient when not nil; the returned stop ends it (as a
// stopping or crashing process) and runs at the test's end if not called.
func startSpeaker(t *testing.T, env *envtest.Env, o speaker.Options, newClient client.NewClientFunc) (*speaker.Reconciler, func()) {
	t.Helper()
	skip := true
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: &skip}, NewClient: newClient,
	})
	must(t, err)
	if m, ok := o.Members.(*fakeMembers); ok && o.Changes == nil {
		o.Changes = m.changes
	}
	r, err := speaker.Setup(mgr, o)
	must(t, err)
	mctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("manager: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return r, stop
}

// lbService creates a LoadBalancer Service with one ready endpoint on node
// and ip in its status.
func lbService(t *testing.T, c client.Client, name, node string, ip netip.Addr) *corev1.Service {
	t.Helper()
	ctx := t.Context()
	svc := gen.Service("default", name, gen.LoadBalancer(), gen.WithPort("http", 80))
	must(t, c.Create(ctx, svc))
	ready, nodeName := true, node
	must(t, c.Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name + "-1", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"198.18.0.11"}, NodeName: &nodeName, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}))
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip.String()}}
	must(t, c.Status().Update(ctx, svc))
	return svc
}

// layer2Pool creates an IPPool of prefix and an L2Advertisement of it.
func layer2Pool(t *testing.T, c client.Client, prefix string) {
	t.Helper()
	must(t, c.Create(t.Context(), gen.IPPool("pool", gen.Addresses(prefix))))
	must(t, c.Create(t.Context(), gen.L2Advertisement("pool", gen.L2Pools("pool"))))
}

// serviceEvents counts the events with reason on the Service name in
// "default" (a series counts its count), and returns their notes.
func serviceEvents(t *testing.T, c client.Client, name, reason string) (int, []string) {
	t.Helper()
	var list eventsv1.EventList
	must(t, c.List(t.Context(), &list, client.InNamespace("default")))
	n := 0
	var notes []string
	for _, e := range list.Items {
		if e.Regarding.Kind == "Service" && e.Regarding.Name == name && e.Reason == reason {
			count := 1
			if e.Series != nil {
				count = max(1, int(e.Series.Count))
			}
			n += count
			notes = append(notes, e.Note)
		}
	}
	return n, notes
}

// speakerStatus reads node's SpeakerStatus (empty when there is none).
func speakerStatus(t *testing.T, c client.Client, node string) v1alpha1.SpeakerStatus {
	t.Helper()
	var st v1alpha1.SpeakerStatus
	_ = c.Get(t.Context(), client.ObjectKey{Name: node}, &st)
	return st
}

// eventCount sums serviceEvents' counts over the Services names.
func eventCount(t *testing.T, c client.Client, reason string, names ...string) int {
	t.Helper()
	n := 0
	for _, name := range names {
		k, _ := serviceEvents(t, c, name, reason)
		n += k
	}
	return n
}

// TestIPv6OnlyNodeRunsLayer2: the speaker's setup path (Setup, with the
// real embedded GoBGP and a real API server) on a node whose router ID
// cannot be derived: layer 2 announces, BGP is off with the reason in
// SpeakerStatus, nothing exits; annotating the Node starts BGP.
func TestIPv6OnlyNodeRunsLayer2(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ctx := t.Context()
	const node = "n1"
	vip := netip.MustParseAddr("2001:db8:51::1")
	n := createNode(t, c, node, "2001:db8:18::11")
	must(t, c.Create(ctx, gen.IPPool("v6", gen.Addresses("2001:db8:51::/120"))))
	must(t, c.Create(ctx, gen.L2Advertisement("v6", gen.L2Pools("v6"))))
	must(t, c.Create(ctx, gen.BGPAdvertisement("v6", gen.BGPPools("v6"))))
	svc := gen.Service("default", "web", gen.LoadBalancer(), gen.SingleStack(corev1.IPv6Protocol), gen.WithPort("http", 80))
	must(t, c.Create(ctx, svc))
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: vip.String()}}
	must(t, c.Status().Update(ctx, svc))
	ready := true
	nodeName := node
	must(t, c.Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv6,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"2001:db8:18::11"}, NodeName: &nodeName, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}))

	ann := &recordingAnnouncer{}
	r, stop := startSpeaker(t, env, speaker.Options{
		Node: node, Namespace: "pylon-system", Announcer: ann, Members: members(node), Links: eth0("2001:db8:51::/64"),
		// The real embedded GoBGP; with no BGPPeer it opens no session.
		StartBGP: speaker.GoBGP(logr.Discard()),
	}, nil)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := r.CloseBGP(cctx); err != nil {
			t.Errorf("CloseBGP: %v", err)
		}
		stop()
	})

	condition := func(typ, status, reason, part string) func() bool {
		return func() bool {
			got := meta.FindStatusCondition(speakerStatus(t, c, node).Status.Conditions, typ)
			return got != nil && string(got.Status) == status && got.Reason == reason && strings.Contains(got.Message, part)
		}
	}
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "layer 2 to answer for "+vip.String(), func() bool { return ann.has(vip) })
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "BGP=False NoRouterID", condition(speaker.ConditionBGP, "False", speaker.ReasonNoRouterID, "no IPv4 InternalIP"))
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "Announcing=True", condition(speaker.ConditionAnnouncing, "True", "Applied", "1 addresses over Layer2, 0 over BGP"))

	patch := client.MergeFrom(n.DeepCopy())
	n.Annotations = map[string]string{speaker.AnnotationRouterID: "198.18.0.11"}
	must(t, c.Patch(ctx, n, patch))
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "BGP=True with the annotation's ID", condition(speaker.ConditionBGP, "True", speaker.ReasonBGPRunning, "198.18.0.11"))
	if !ann.has(vip) {
		t.Fatal("layer 2 stopped answering when BGP started")
	}
}

// createNode creates a Node, labelled with its host name, with one
// InternalIP.
func createNode(t *testing.T, c client.Client, name, internalIP string) *corev1.Node {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}}}
	must(t, c.Create(t.Context(), n))
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: internalIP}}
	must(t, c.Status().Update(t.Context(), n))
	return n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("setup: %w", err))
	}
}

// TestRetryIsBounded: however long the API server has refused the
// SpeakerStatus write, the next try comes within 10 s (controller-runtime's
// default would wait up to 16 minutes, and the status would stay stale
// that long after an outage: test/e2e TestFaults with PYLON_FAULT_OUTAGE=3m).
func TestRetryIsBounded(t *testing.T) {
	l := speaker.RetryLimiter()
	req := reconcile.Request{}
	var last time.Duration
	for range 40 { // 40 failures: 5 ms doubled 40 times is years
		last = l.When(req)
	}
	if last > 10*time.Second {
		t.Fatalf("after 40 failures the next try waits %v, want at most 10s", last)
	}
	if first := speaker.RetryLimiter().When(req); first > 10*time.Millisecond {
		t.Fatalf("the first retry waits %v, want milliseconds", first)
	}
}
