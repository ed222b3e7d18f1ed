package config

import (
	"net/netip"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

func TestPoolsOrderAndDefaults(t *testing.T) {
	prio := func(p v1alpha1.IPPool, n int32) v1alpha1.IPPool {
		p.Spec.Allocation = &v1alpha1.IPPoolAllocation{Priority: &n}
		return p
	}
	off := false
	manual := pool("manual", 4, "203.0.113.0/28")
	manual.Spec.AutoAssign = &off
	c := Parse(Resources{Pools: []v1alpha1.IPPool{
		pool("zeta", 0, "198.51.100.0/26"),
		prio(pool("beta", 1, "198.51.100.64/26"), 10),
		prio(pool("alpha", 2, "198.51.100.128/26"), 10),
		prio(pool("first", 3, "2001:db8:1::/64", "198.51.100.192-198.51.100.200"), 0),
		manual,
	}})
	wantNoProblems(t, c)
	if got, want := poolNames(c), []string{"first", "alpha", "beta", "manual", "zeta"}; !slices.Equal(got, want) {
		t.Fatalf("pool order = %v, want %v (priority, then name; unset last)", got, want)
	}
	if !c.Pool("zeta").AutoAssign || c.Pool("manual").AutoAssign {
		t.Errorf("autoAssign: default must be true and an explicit false kept")
	}
	first := c.Pool("first")
	if len(first.Ranges) != 2 || !first.Ranges[0].Is4() || first.Ranges[1].Is4() {
		t.Errorf("ranges must be sorted IPv4 first: %v", first.Ranges)
	}
	if !first.Contains(netip.MustParseAddr("2001:db8:1::ffff")) || first.Contains(netip.MustParseAddr("198.51.100.201")) {
		t.Errorf("Contains is wrong for %v", first.Ranges)
	}
	if c.Pool("nope") != nil {
		t.Errorf("Pool of an unknown name must be nil")
	}
}

func TestPoolAllocationSelectors(t *testing.T) {
	p := pool("team", 0, "198.51.100.0/24")
	p.Spec.Allocation = &v1alpha1.IPPoolAllocation{
		Namespaces:      []string{"web", "api"},
		ServiceSelector: &v1alpha1.LabelSelector{},
	}
	p.Spec.Allocation.ServiceSelector.MatchLabels = map[string]v1alpha1.LabelValue{"tier": "edge"}
	c := Parse(Resources{Pools: []v1alpha1.IPPool{p}})
	wantNoProblems(t, c)
	got := c.Pool("team")
	if !slices.Equal(got.Namespaces, []string{"api", "web"}) {
		t.Errorf("namespaces = %v", got.Namespaces)
	}
	if got.NamespaceSelector != nil {
		t.Errorf("unset namespaceSelector must be nil")
	}
	if !got.ServiceSelector.Matches(labels.Set{"tier": "edge"}) || got.ServiceSelector.Matches(labels.Set{"tier": "core"}) {
		t.Errorf("service selector %v matches wrongly", got.ServiceSelector)
	}
	if got.AllowSharingAcrossNamespaces {
		t.Errorf("allowSharingAcrossNamespaces must default to false")
	}
}

func TestPoolAllowSharingAcrossNamespaces(t *testing.T) {
	p := pool("shared", 0, "198.51.100.0/24")
	p.Spec.Allocation = &v1alpha1.IPPoolAllocation{AllowSharingAcrossNamespaces: true}
	c := Parse(Resources{Pools: []v1alpha1.IPPool{p, pool("private", 1, "203.0.113.0/24")}})
	wantNoProblems(t, c)
	if !c.Pool("shared").AllowSharingAcrossNamespaces || c.Pool("private").AllowSharingAcrossNamespaces {
		t.Errorf("allowSharingAcrossNamespaces: shared %v, private %v; want true, false",
			c.Pool("shared").AllowSharingAcrossNamespaces, c.Pool("private").AllowSharingAcrossNamespaces)
	}
}

func TestPoolInvalidSpecIsRejected(t *testing.T) {
	bad := pool("bad", 0, "198.51.100.0/25", "foo", "198.51.100.5/24")
	neg := int32(-1)
	badSel := pool("badsel", 1, "203.0.113.0/24")
	badSel.Spec.Allocation = &v1alpha1.IPPoolAllocation{Priority: &neg, Namespaces: []string{"Not_A_Namespace"}, NamespaceSelector: &v1alpha1.LabelSelector{}}
	badSel.Spec.Allocation.NamespaceSelector.MatchExpressions = append(badSel.Spec.Allocation.NamespaceSelector.MatchExpressions,
		selectorReq("team", "Maybe"))
	self := pool("self", 2, "2001:db8::/64", "2001:db8::10-2001:db8::20")
	empty := pool("empty", 3)
	good := pool("good", 4, "198.51.100.128/25")

	c := Parse(Resources{Pools: []v1alpha1.IPPool{bad, badSel, self, empty, good}})
	wantProblem(t, c, KindIPPool, "bad", ReasonInvalidSpec, true, "spec.addresses[1]", `"foo"`, "spec.addresses[2]", "198.51.100.0/24")
	wantProblem(t, c, KindIPPool, "badsel", ReasonInvalidSpec, true,
		"spec.allocation.priority", "spec.allocation.namespaces[0]", "spec.allocation.namespaceSelector")
	wantProblem(t, c, KindIPPool, "self", ReasonInvalidSpec, true, "spec.addresses[1]", "overlaps spec.addresses[0] (2001:db8::/64)")
	wantProblem(t, c, KindIPPool, "empty", ReasonInvalidSpec, true, "spec.addresses")
	if got := poolNames(c); !slices.Equal(got, []string{"good"}) {
		t.Fatalf("only the valid pool may be in the model, got %v", got)
	}
	// The bad pool's /25 would have overlapped "good" if it had been kept.
	if len(c.ProblemsFor(KindIPPool, "good")) != 0 {
		t.Errorf("a rejected pool must not mark others as overlapping")
	}
}

func TestOverlappingPools(t *testing.T) {
	steps := []struct {
		name        string
		pools       []v1alpha1.IPPool
		overlapping map[string][]string // pool -> older pools it overlaps
	}{
		{
			name:        "CIDR inside CIDR: the newer is marked",
			pools:       []v1alpha1.IPPool{pool("old", 0, "198.51.100.0/24"), pool("new", 1, "198.51.100.128/25")},
			overlapping: map[string][]string{"new": {"old"}},
		},
		{
			name:        "age, not name, decides",
			pools:       []v1alpha1.IPPool{pool("b-old", 0, "198.51.100.0/24"), pool("a-new", 1, "198.51.100.0/24")},
			overlapping: map[string][]string{"a-new": {"b-old"}},
		},
		{
			name:        "same age: the later name is marked",
			pools:       []v1alpha1.IPPool{pool("b", 0, "198.51.100.0/24"), pool("a", 0, "198.51.100.255/32")},
			overlapping: map[string][]string{"b": {"a"}},
		},
		{
			name:        "range against CIDR, IPv6",
			pools:       []v1alpha1.IPPool{pool("v6", 0, "2001:db8:5::/48"), pool("r6", 1, "2001:db8:4:ffff::-2001:db8:5::1")},
			overlapping: map[string][]string{"r6": {"v6"}},
		},
		{
			name:        "range against range, touching only at one end",
			pools:       []v1alpha1.IPPool{pool("r1", 0, "203.0.113.10-203.0.113.20"), pool("r2", 1, "203.0.113.20-203.0.113.30")},
			overlapping: map[string][]string{"r2": {"r1"}},
		},
		{
			name:  "adjacent blocks and other families do not overlap",
			pools: []v1alpha1.IPPool{pool("lo", 0, "198.51.100.0/25"), pool("hi", 1, "198.51.100.128/25", "2001:db8::/64"), pool("r", 2, "203.0.113.21-203.0.113.30")},
		},
		{
			name:        "the newest overlapping two older pools names both",
			pools:       []v1alpha1.IPPool{pool("a", 0, "198.51.100.0/25"), pool("b", 1, "198.51.100.128/25"), pool("c", 2, "198.51.100.0/24")},
			overlapping: map[string][]string{"c": {"a", "b"}},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			c := Parse(Resources{Pools: st.pools})
			if len(c.Pools) != len(st.pools) {
				t.Fatalf("overlapping pools must stay in the model (their addresses may be held): got %v", poolNames(c))
			}
			for _, p := range c.Pools {
				want := st.overlapping[p.Name]
				if !slices.Equal(p.Overlaps, want) {
					t.Errorf("pool %s Overlaps = %v, want %v", p.Name, p.Overlaps, want)
				}
				if p.Usable() != (len(want) == 0) {
					t.Errorf("pool %s Usable = %v", p.Name, p.Usable())
				}
				if len(want) > 0 {
					wantProblem(t, c, KindIPPool, p.Name, ReasonOverlapping, false, append([]string{"spec.addresses"}, want...)...)
				} else if len(c.ProblemsFor(KindIPPool, p.Name)) > 0 {
					t.Errorf("pool %s has problems: %v", p.Name, c.ProblemsFor(KindIPPool, p.Name))
				}
			}
		})
	}
}
