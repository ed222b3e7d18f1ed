package speaker

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/memberlistkey"
	"github.com/pylonlb/pylon/speaker/bgp"
	"github.com/pylonlb/pylon/speaker/layer2"
	"github.com/pylonlb/pylon/speaker/membership"
	"github.com/pylonlb/pylon/test/gen"
)

// BenchmarkPass measures one speaker pass with nothing to do (pass: read
// the cache, plan layer 2 and BGP, apply the differences, build the
// status) at 5,000 and 50,000 Services, in-process: the cache's stores
// filled with the trimmed objects the speaker's cache would hold, one
// IPv6 pool advertised over layer 2 and over BGP, three live nodes, every
// Service with a ready endpoint on each (Cluster policy), the real GoBGP
// speaker of package speaker/bgp with one passive peer (it never dials,
// and listens on no port: no packet leaves the process). What the API
// server, memberlist and the node's links would give come from fakes.
// idle is a pass with nothing to do, one-change a pass after one Service's
// address moved; heap-MiB is the live heap after the idle passes (the
// cache's objects, GoBGP's table, the plans and what the passes remember),
// the in-process part of the speaker's RSS. It logs how long CloseBGP, the
// withdrawal of every path, takes.
func BenchmarkPass(b *testing.B) {
	for _, n := range []int{5000, 50000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			r := passBench(b, n)
			ctx := b.Context()
			first, err := r.pass(ctx) // the first pass does the work
			if err != nil {
				b.Fatal(err)
			}
			if r.bgp == nil {
				b.Fatalf("no BGP speaker after the first pass: %+v", first.status.Conditions)
			}
			if got := len(r.plans.bgp.plan.Paths); got != n {
				b.Fatalf("the BGP plan has %d paths, want %d", got, n)
			}
			// idle: nothing changed since the pass before.
			b.Run("idle", func(b *testing.B) {
				b.ReportAllocs()
				var res *passResult
				for b.Loop() {
					var err error
					if res, err = r.pass(ctx); err != nil {
						b.Fatal(err)
					}
				}
				if got := len(r.announced); got == 0 || got == n {
					b.Fatalf("n1 answers for %d of %d addresses; want a share", got, n)
				}
				if got := res.status.Announced; got < int32(len(r.announced)) {
					b.Fatalf("status says %d announced; layer 2 alone answers for %d", got, len(r.announced))
				}
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
			})
			// one-change: before each pass one Service's address moves
			// (a new object in the cache), so the plans are made again.
			b.Run("one-change", func(b *testing.B) {
				b.ReportAllocs()
				svc := r.Stores.Services.List()[0].(*corev1.Service)
				addrs := []string{svc.Status.LoadBalancer.Ingress[0].IP, netip.MustParseAddr(fmt.Sprintf("2001:db8:51::%x", n+1)).String()}
				i := 0
				for b.Loop() {
					i++
					moved := svc.DeepCopy()
					moved.Status.LoadBalancer.Ingress[0].IP = addrs[i%2]
					if err := r.Stores.Services.Update(moved); err != nil {
						b.Fatal(err)
					}
					if _, err := r.pass(ctx); err != nil {
						b.Fatal(err)
					}
				}
				if r.services.changes < uint64(i) {
					b.Fatalf("%d changes counted over %d passes that each moved an address", r.services.changes, i)
				}
			})
			began := time.Now()
			if err := r.CloseBGP(ctx); err != nil {
				b.Fatal(err)
			}
			b.Logf("CloseBGP with %d paths: %v", n, time.Since(began))
		})
	}
}

// passBench builds n1's reconciler over n Services.
func passBench(b *testing.B, n int) *Reconciler {
	b.Helper()
	s := clientgoscheme.Scheme
	if err := v1alpha1.AddToScheme(s); err != nil {
		b.Fatal(err)
	}
	pool := gen.IPPool("lab", gen.Addresses("2001:db8:51::/64"))
	peer := gen.BGPPeer("router-v6", 64512, 64513, "2001:db8:18::fe")
	peer.Spec.Passive = ptr.To(true)
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(pool, peer,
		&v1alpha1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "lab"}, Spec: v1alpha1.L2AdvertisementSpec{IPPools: []v1alpha1.ObjectName{"lab"}}},
		&v1alpha1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "lab"}, Spec: v1alpha1.BGPAdvertisementSpec{IPPools: []v1alpha1.ObjectName{"lab"}}},
	).Build()
	stores := &Stores{
		Nodes:          toolscache.NewStore(toolscache.MetaNamespaceKeyFunc),
		Services:       toolscache.NewStore(toolscache.MetaNamespaceKeyFunc),
		EndpointSlices: toolscache.NewStore(toolscache.MetaNamespaceKeyFunc),
	}
	add := func(st toolscache.Store, trim func(any) (any, error), obj any) {
		t, err := trim(obj)
		if err == nil {
			err = st.Add(t)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	nodes := []string{"n1", "n2", "n3"}
	for i, name := range nodes {
		add(stores.Nodes, TrimNode, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("198.18.0.%d", 11+i)}}}})
	}
	for i := range n {
		ns, name := fmt.Sprintf("ns-%d", i%50), fmt.Sprintf("service-%d", i)
		svc := gen.Service(ns, name, gen.LoadBalancer())
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: netip.MustParseAddr(fmt.Sprintf("2001:db8:51::%x", i+1)).String()}}
		add(stores.Services, TrimService, svc)
		sl := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-abcde",
			Labels: map[string]string{discoveryv1.LabelServiceName: name}}, AddressType: discoveryv1.AddressTypeIPv6}
		for j, node := range nodes {
			sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("2001:db8:10::%x:%x", j, i)},
				NodeName: ptr.To(node), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
		}
		add(stores.EndpointSlices, TrimEndpointSlice, sl)
	}
	r := &Reconciler{
		Client: c, Recorder: &events.FakeRecorder{}, Node: "n1", Namespace: "pylon-system",
		Announcer: benchAnnouncer{}, Members: benchMembers(nodes), Stores: stores, Clock: clock.RealClock{},
		Links: func() ([]layer2.Link, error) { return eth0(1), nil },
		StartBGP: func(ctx context.Context, id netip.Addr, _ []netip.Addr) (BGPSpeaker, error) {
			return bgp.New(ctx, bgp.Options{RouterID: id}) // no listen port: a passive peer is never reached
		},
		writer: newStatusWriter(), retry: backoff{min: applyRetryMin, max: applyRetryMax},
	}
	return r
}

// benchAnnouncer takes the plan and answers nothing.
type benchAnnouncer struct{}

func (benchAnnouncer) SetOwned(map[netip.Addr][]string) error { return nil }
func (benchAnnouncer) Reannounce(netip.Addr) bool             { return false }
func (benchAnnouncer) Stats() layer2.Stats                    { return layer2.Stats{} }

// benchMembers is memberlist with every node live.
type benchMembers []string

func (m benchMembers) Address() string { return "" }
func (m benchMembers) Live() []string  { return m }
func (m benchMembers) Members() []membership.Member {
	out := make([]membership.Member, len(m))
	for i, n := range m {
		out[i] = membership.Member{Name: n, State: membership.Alive}
	}
	return out
}
func (benchMembers) Join([]string) (int, error)       { return 0, nil }
func (benchMembers) SetKeys(memberlistkey.Keys) error { return nil }
