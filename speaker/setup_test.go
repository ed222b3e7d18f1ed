package speaker_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/layer2"
	"github.com/pylonlb/pylon/speaker/membership"
	"github.com/pylonlb/pylon/test/envtest"
)

// recordingAnnouncer stands in for layer 2's raw sockets: it records what
// the reconciler tells it to answer for.
type recordingAnnouncer struct {
	mu    sync.Mutex
	owned map[netip.Addr][]string
}

func (a *recordingAnnouncer) SetOwned(m map[netip.Addr][]string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.owned = m
	return nil
}
func (a *recordingAnnouncer) Reannounce(netip.Addr) bool { return true }
func (a *recordingAnnouncer) Stats() layer2.Stats        { return layer2.Stats{} }
func (a *recordingAnnouncer) has(ip netip.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.owned[ip]
	return ok
}

// alone is a memberlist of one.
type alone struct{ node string }

func (m alone) Address() string { return "" }
func (m alone) Live() []string  { return []string{m.node} }
func (m alone) Members() []membership.Member {
	return []membership.Member{{Name: m.node, State: membership.Alive}}
}
func (m alone) Join([]string) (int, error)    { return 0, nil }
func (m alone) SetKeys(membership.Keys) error { return nil }

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
	must(t, c.Create(ctx, &v1alpha1.IPPool{ObjectMeta: metav1.ObjectMeta{Name: "v6"}, Spec: v1alpha1.IPPoolSpec{Addresses: []v1alpha1.AddressRange{"2001:db8:51::/120"}}}))
	must(t, c.Create(ctx, &v1alpha1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "v6"}, Spec: v1alpha1.L2AdvertisementSpec{IPPools: []v1alpha1.ObjectName{"v6"}}}))
	must(t, c.Create(ctx, &v1alpha1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "v6"}, Spec: v1alpha1.BGPAdvertisementSpec{IPPools: []v1alpha1.ObjectName{"v6"}}}))
	single := corev1.IPFamilyPolicySingleStack
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, IPFamilyPolicy: &single, IPFamilies: []corev1.IPFamily{corev1.IPv6Protocol},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
		},
	}
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

	skip := true
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: &skip},
	})
	must(t, err)
	ann := &recordingAnnouncer{}
	r, err := speaker.Setup(mgr, speaker.Options{
		Node: node, Namespace: "pylon-system", Announcer: ann, Members: alone{node},
		Links: func() ([]layer2.Link, error) {
			return []layer2.Link{{Name: "eth0", HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Up: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("2001:db8:51::/64")}}}, nil
		},
		// The real embedded GoBGP; with no BGPPeer it opens no session.
		StartBGP: speaker.GoBGP(logr.Discard()),
	})
	must(t, err)
	mctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := r.CloseBGP(cctx); err != nil {
			t.Errorf("CloseBGP: %v", err)
		}
		stop()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	condition := func(typ, status, reason, part string) func(context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			var s v1alpha1.SpeakerStatus
			if err := c.Get(ctx, client.ObjectKey{Name: node}, &s); err != nil {
				return false, nil
			}
			got := meta.FindStatusCondition(s.Status.Conditions, typ)
			return got != nil && string(got.Status) == status && got.Reason == reason && strings.Contains(got.Message, part), nil
		}
	}
	poll := func(what string, f func(context.Context) (bool, error)) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 20*time.Second, true, f); err != nil {
			var s v1alpha1.SpeakerStatus
			_ = c.Get(ctx, client.ObjectKey{Name: node}, &s)
			t.Fatalf("waiting for %s: %v; SpeakerStatus conditions %+v", what, err, s.Status.Conditions)
		}
	}
	poll("layer 2 to answer for "+vip.String(), func(context.Context) (bool, error) { return ann.has(vip), nil })
	poll("BGP=False NoRouterID", condition(speaker.ConditionBGP, "False", speaker.ReasonNoRouterID, "no IPv4 InternalIP"))
	poll("Announcing=True", condition(speaker.ConditionAnnouncing, "True", "Applied", "1 addresses over Layer2, 0 over BGP"))

	patch := client.MergeFrom(n.DeepCopy())
	n.Annotations = map[string]string{speaker.AnnotationRouterID: "198.18.0.11"}
	must(t, c.Patch(ctx, n, patch))
	poll("BGP=True with the annotation's ID", condition(speaker.ConditionBGP, "True", speaker.ReasonBGPRunning, "198.18.0.11"))
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
