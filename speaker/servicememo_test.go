package speaker

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/pylonlb/pylon/test/gen"
)

func memoService(name, ip string, labels map[string]string) *corev1.Service {
	svc := gen.Service("ns", name, gen.LoadBalancer())
	svc.Labels = labels
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
	return svc
}

func memoSlice(service, suffix string, ready ...string) *discoveryv1.EndpointSlice {
	sl := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: service + "-" + suffix,
		Labels: map[string]string{discoveryv1.LabelServiceName: service}}}
	for _, n := range ready {
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{NodeName: ptr.To(n), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	return sl
}

// sortedServices orders a plan's Services by key for comparison.
func sortedServices(in []Service) []Service {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b Service) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// TestServiceMemo: through a series of cache states, planServices with the
// reconciler's memory gives what it gives without (every object read
// afresh), and counts a change exactly when the Services as the plan sees
// them change: not when an object is only replaced by one with the same
// result (an annotation edit), nor when nothing changed.
func TestServiceMemo(t *testing.T) {
	a := memoService("a", "198.51.100.1", nil)
	b := memoService("b", "198.51.100.2", map[string]string{"tier": "web"})
	sa, sb := memoSlice("a", "1", "n1", "n2"), memoSlice("b", "1", "n2")
	// Each step differs from the one before in the one way it names.
	a2 := memoService("a", "198.51.100.9", nil)
	b2 := memoService("b", "198.51.100.2", map[string]string{"tier": "db"})
	sa2, sb2, sa3 := memoSlice("a", "1", "n2", "n1"), memoSlice("b", "1", "n2", "n3"), memoSlice("a", "2", "n3")
	c := withClass(memoService("c", "198.51.100.3", nil))
	var memo serviceMemo
	steps := []struct {
		name     string
		services []*corev1.Service
		slices   []*discoveryv1.EndpointSlice
		change   bool
	}{
		{"first pass", []*corev1.Service{a, b}, []*discoveryv1.EndpointSlice{sa, sb}, true},
		{"nothing changed", []*corev1.Service{b, a}, []*discoveryv1.EndpointSlice{sb, sa}, false},
		{"an annotation edit: a new object, the same result", []*corev1.Service{withAnnotation(a), b}, []*discoveryv1.EndpointSlice{sa, sb}, false},
		{"a new slice object with the same ready nodes", []*corev1.Service{a, b}, []*discoveryv1.EndpointSlice{sa2, sb}, false},
		{"an address changes", []*corev1.Service{a2, b}, []*discoveryv1.EndpointSlice{sa2, sb}, true},
		{"labels change", []*corev1.Service{a2, b2}, []*discoveryv1.EndpointSlice{sa2, sb}, true},
		{"an endpoint gets ready elsewhere", []*corev1.Service{a2, b2}, []*discoveryv1.EndpointSlice{sa2, sb2}, true},
		{"a second slice of a", []*corev1.Service{a2, b2}, []*discoveryv1.EndpointSlice{sa2, sa3, sb2}, true},
		{"b's slice goes", []*corev1.Service{a2, b2}, []*discoveryv1.EndpointSlice{sa2, sa3}, true},
		{"b goes", []*corev1.Service{a2}, []*discoveryv1.EndpointSlice{sa2, sa3}, true},
		{"a Service not of this class", []*corev1.Service{a2, c}, []*discoveryv1.EndpointSlice{sa2, sa3}, true},
		{"it goes again", []*corev1.Service{a2}, []*discoveryv1.EndpointSlice{sa2, sa3}, true},
	}
	for _, st := range steps {
		before := memo.changes
		got := (&snapshot{services: st.services, slices: st.slices, memo: &memo}).planServices("")
		want := (&snapshot{services: st.services, slices: st.slices}).planServices("")
		if !reflect.DeepEqual(sortedServices(got), sortedServices(want)) {
			t.Errorf("%s: with the memo %+v, afresh %+v", st.name, got, want)
		}
		if changed := memo.changes != before; changed != st.change {
			t.Errorf("%s: counted a change %v, want %v", st.name, changed, st.change)
		}
		if len(memo.services) != len(st.services) || len(memo.slices) != len(st.slices) {
			t.Errorf("%s: the memo holds %d Services and %d slices, want %d and %d (one per object in the cache)",
				st.name, len(memo.services), len(memo.slices), len(st.services), len(st.slices))
		}
	}
	// The second slice of a was merged into a's node set without
	// changing the set remembered for a's first slice.
	if got := memo.slices[sa2].nodes.nodes; len(got) != 2 || got["n3"] {
		t.Errorf("a's first slice's remembered nodes changed: %v", got)
	}
}

func withAnnotation(svc *corev1.Service) *corev1.Service {
	c := svc.DeepCopy()
	c.Annotations = map[string]string{"edited": "yes"}
	return c
}

func withClass(svc *corev1.Service) *corev1.Service {
	svc.Spec.LoadBalancerClass = ptr.To("other")
	return svc
}

// TestPlanMemo: the remembered plans are handed out only for equal inputs.
// An input that changes in place between passes (the split-brain policy's
// yielded addresses are the reconciler's own map) still makes a new plan.
func TestPlanMemo(t *testing.T) {
	in := Inputs{Node: "node-1", Nodes: nodes(true, true, true), Config: testConfig(t), Links: eth0(1), NodeIPs: addrs("198.18.0.11"),
		Services: []Service{{Key: "ns/a", IPs: addrs("198.51.100.1"), EndpointNodes: map[string]bool{"n1": true}}}}
	// An address node-1 owns among three live nodes.
	var mine netip.Addr
	for i := 1; !mine.IsValid(); i++ {
		if i > 250 {
			t.Fatal("node-1 owns none of 198.51.100.1-250")
		}
		ip := netip.MustParseAddr("198.51.100.0").As4()
		ip[3] = byte(i)
		in.Services[0].IPs = []netip.Addr{netip.AddrFrom4(ip)}
		if _, ok := PlanL2(in).L2[in.Services[0].IPs[0]]; ok {
			mine = in.Services[0].IPs[0]
		}
	}
	var m planMemo
	in.Yield = map[netip.Addr]bool{}
	if p, _ := m.plans(in, 1, "node-1", false); len(p.L2) != 1 {
		t.Fatalf("node-1 answers for %v, want %s", p.L2, mine)
	}
	in.Yield[mine] = true // changed in place, as the reconciler does
	if p, _ := m.plans(in, 1, "node-1", false); len(p.L2) != 0 {
		t.Errorf("with %s yielded node-1 still answers for it: the plan of the inputs before", mine)
	}
	in.Yield = nil
	in.Nodes = nodes(true, false, false)
	if p, _ := m.plans(in, 1, "node-1", false); len(p.Owners) != 1 || p.Owners[mine] != "node-1" {
		t.Errorf("with only node-1 live, owners %v", p.Owners)
	}
	// The Services are known to have changed only by the count.
	in.Services = nil
	if p, _ := m.plans(in, 1, "node-1", false); len(p.Owners) != 1 {
		t.Errorf("the same count of changes: want the remembered plan, got owners %v", p.Owners)
	}
	if p, _ := m.plans(in, 2, "node-1", false); len(p.Owners) != 0 {
		t.Errorf("a new count of changes: want a new plan with no Services, got owners %v", p.Owners)
	}
	// The same inputs with BGP on: a BGP plan is made, not the memory of
	// a pass without one.
	if _, bp := m.plans(in, 2, "node-1", true); bp.offered == nil {
		t.Errorf("BGP on after a pass without it: no BGP plan")
	}
}
