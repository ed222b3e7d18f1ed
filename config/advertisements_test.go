package config

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

func labelled(p v1alpha1.IPPool, kv ...string) v1alpha1.IPPool {
	p.Labels = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Labels[kv[i]] = kv[i+1]
	}
	return p
}

func objectNames(ns ...string) []v1alpha1.ObjectName {
	var out []v1alpha1.ObjectName
	for _, n := range ns {
		out = append(out, v1alpha1.ObjectName(n))
	}
	return out
}

func matchLabels(kv ...string) *v1alpha1.LabelSelector {
	s := &v1alpha1.LabelSelector{}
	s.MatchLabels = map[string]v1alpha1.LabelValue{}
	for i := 0; i+1 < len(kv); i += 2 {
		s.MatchLabels[kv[i]] = v1alpha1.LabelValue(kv[i+1])
	}
	return s
}

var testPools = []v1alpha1.IPPool{
	labelled(pool("edge", 0, "198.51.100.0/24"), "zone", "edge"),
	labelled(pool("core", 1, "203.0.113.0/25", "2001:db8:1::/64"), "zone", "core"),
	pool("ranges", 2, "203.0.113.128-203.0.113.135"),
}

func TestL2AdvertisementPools(t *testing.T) {
	all := v1alpha1.L2Advertisement{ObjectMeta: meta("all", 0)}
	named := v1alpha1.L2Advertisement{ObjectMeta: meta("named", 1), Spec: v1alpha1.L2AdvertisementSpec{
		IPPools:        objectNames("ranges", "later"),
		IPPoolSelector: matchLabels("zone", "core"),
		NodeSelector:   matchLabels("l2", "yes"),
		Interfaces:     []v1alpha1.InterfaceName{"eth0", "bond0.100"},
	}}
	badIf := v1alpha1.L2Advertisement{ObjectMeta: meta("bad-if", 2), Spec: v1alpha1.L2AdvertisementSpec{
		Interfaces: []v1alpha1.InterfaceName{"eth0", "a/b", "much-too-long-name0"},
	}}
	c := Parse(Resources{Pools: testPools, L2Advertisements: []v1alpha1.L2Advertisement{named, all, badIf}})

	if got := names(c.L2Advertisements, func(a *L2Advertisement) string { return a.Name }); !slices.Equal(got, []string{"all", "named"}) {
		t.Fatalf("advertisements = %v", got)
	}
	a, n := c.L2Advertisements[0], c.L2Advertisements[1]
	if !slices.Equal(a.Pools, []string{"core", "edge", "ranges"}) || !a.NodeSelector.Empty() || len(a.Interfaces) != 0 {
		t.Errorf("an advertisement naming no pool covers all pools on all nodes: %+v", *a)
	}
	if !slices.Equal(n.Pools, []string{"core", "ranges"}) {
		t.Errorf("named+selected pools = %v, want [core ranges]", n.Pools)
	}
	if !n.NodeSelector.Matches(labels.Set{"l2": "yes"}) || n.NodeSelector.Matches(labels.Set{}) {
		t.Errorf("node selector %v", n.NodeSelector)
	}
	if !slices.Equal(n.Interfaces, []string{"eth0", "bond0.100"}) {
		t.Errorf("interfaces = %v", n.Interfaces)
	}
	wantProblem(t, c, KindL2Advertisement, "named", ReasonPoolNotFound, false, "spec.ipPools", "later")
	wantProblem(t, c, KindL2Advertisement, "bad-if", ReasonInvalidSpec, true, "spec.interfaces[1]", "spec.interfaces[2]")
}

func TestBGPAdvertisement(t *testing.T) {
	lp := int64(200)
	agg := int32(24)
	good := v1alpha1.BGPAdvertisement{ObjectMeta: meta("good", 0), Spec: v1alpha1.BGPAdvertisementSpec{
		IPPools:           objectNames("edge"),
		AggregationLength: &agg,
		LocalPref:         &lp,
		Communities:       []v1alpha1.Community{"65000:100", "large:64512:1:2", "no-export"},
		Peers:             objectNames("ibgp", "gone"),
	}}
	toAll := v1alpha1.BGPAdvertisement{ObjectMeta: meta("to-all", 1), Spec: v1alpha1.BGPAdvertisementSpec{LocalPref: &lp}}
	c := Parse(Resources{
		Pools:             testPools,
		BGPPeers:          []v1alpha1.BGPPeer{peer("ibgp", 0, 64512, 64512, "198.18.0.1"), peer("ebgp", 1, 64512, 64513, "198.18.0.2")},
		BGPAdvertisements: []v1alpha1.BGPAdvertisement{toAll, good},
	})
	if len(c.BGPAdvertisements) != 2 {
		t.Fatalf("advertisements = %+v, problems %+v", c.BGPAdvertisements, c.Problems)
	}
	g, all := c.BGPAdvertisements[0], c.BGPAdvertisements[1]
	if g.Name != "good" || g.AggregationLength != 24 || g.AggregationLengthV6 != 128 || *g.LocalPref != 200 {
		t.Errorf("good parsed wrongly: %+v", *g)
	}
	if got := names(g.Communities, Community.String); !slices.Equal(got, []string{"65000:100", "large:64512:1:2", "65535:65281"}) {
		t.Errorf("communities = %v", got)
	}
	if !slices.Equal(g.Peers, []string{"ibgp"}) || !slices.Equal(g.Pools, []string{"edge"}) {
		t.Errorf("good peers %v pools %v", g.Peers, g.Pools)
	}
	wantProblem(t, c, KindBGPAdvertisement, "good", ReasonPeerNotFound, false, "spec.peers[1]", "gone")
	if !slices.Equal(all.Peers, []string{"ebgp", "ibgp"}) || !slices.Equal(all.Pools, []string{"core", "edge", "ranges"}) {
		t.Errorf("to-all peers %v pools %v", all.Peers, all.Pools)
	}
	wantProblem(t, c, KindBGPAdvertisement, "to-all", ReasonLocalPrefOnEBGP, false, "spec.localPref", "ebgp")
	if len(c.ProblemsFor(KindBGPAdvertisement, "good")) != 1 {
		t.Errorf("localPref to an iBGP peer only is fine: %v", c.ProblemsFor(KindBGPAdvertisement, "good"))
	}
}

func TestBGPAdvertisementAggregation(t *testing.T) {
	tests := []struct {
		name   string
		pools  []string
		v4, v6 int32
		ok     bool
		path   string
	}{
		{"/24 of a /24", []string{"edge"}, 24, 128, true, ""},
		{"/16 of a /24 spills", []string{"edge"}, 16, 128, false, "spec.aggregationLength"},
		{"/25 pool at /25", []string{"core"}, 25, 64, true, ""},
		{"v6 /48 of a /64 spills", []string{"core"}, 32, 48, false, "spec.aggregationLengthV6"},
		{"aligned range /29", []string{"ranges"}, 29, 128, true, ""},
		{"range /28 spills", []string{"ranges"}, 28, 128, false, "spec.aggregationLength"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			adv := v1alpha1.BGPAdvertisement{ObjectMeta: meta("agg", 0), Spec: v1alpha1.BGPAdvertisementSpec{
				IPPools: objectNames(tt.pools...), AggregationLength: &tt.v4, AggregationLengthV6: &tt.v6,
			}}
			c := Parse(Resources{Pools: testPools, BGPAdvertisements: []v1alpha1.BGPAdvertisement{adv}})
			if tt.ok {
				wantNoProblems(t, c)
				if len(c.BGPAdvertisements) != 1 {
					t.Fatalf("advertisement missing")
				}
				return
			}
			wantProblem(t, c, KindBGPAdvertisement, "agg", ReasonAggregation, true, tt.path, "outside")
			if len(c.BGPAdvertisements) != 0 {
				t.Errorf("an advertisement that would spill must be left out")
			}
		})
	}
}

func TestBGPAdvertisementInvalidSpec(t *testing.T) {
	agg, agg6, lp := int32(33), int32(129), int64(-1)
	adv := v1alpha1.BGPAdvertisement{ObjectMeta: meta("bad", 0), Spec: v1alpha1.BGPAdvertisementSpec{
		AggregationLength: &agg, AggregationLengthV6: &agg6, LocalPref: &lp,
		Communities:    []v1alpha1.Community{"65536:1", "large:1:2", "foo", "1:2"},
		IPPoolSelector: &v1alpha1.LabelSelector{},
	}}
	adv.Spec.IPPoolSelector.MatchExpressions = append(adv.Spec.IPPoolSelector.MatchExpressions, selectorReq("zone", "Exists", "x"))
	c := Parse(Resources{Pools: testPools, BGPAdvertisements: []v1alpha1.BGPAdvertisement{adv}})
	wantProblem(t, c, KindBGPAdvertisement, "bad", ReasonInvalidSpec, true,
		"spec.aggregationLength:", "spec.aggregationLengthV6", "spec.localPref", "spec.communities[0]",
		"spec.communities[1]", "spec.communities[2]", "spec.ipPoolSelector")
	if got := c.Problems[0].Message(); strings.Contains(got, "spec.communities[3]") {
		t.Errorf("1:2 is a valid community: %s", got)
	}
}

func TestParseCommunity(t *testing.T) {
	good := map[string]string{
		"0:0": "0:0", "65535:65535": "65535:65535", "65000:100": "65000:100", "no-peer": "65535:65284",
		"large:0:0:0": "large:0:0:0", "large:4294967295:1:4294967295": "large:4294967295:1:4294967295",
	}
	for in, want := range good {
		c, err := ParseCommunity(in)
		if err != nil || c.String() != want {
			t.Errorf("ParseCommunity(%q) = %v, %v; want %s", in, c, err, want)
		}
	}
	for _, in := range []string{"", "1", "1:", ":1", "-1:2", "+1:2", "65536:0", "1:2:3", "large:1:2", "large:1:2:4294967296", "LARGE:1:2:3", "no_export", " 1:2"} {
		if c, err := ParseCommunity(in); err == nil {
			t.Errorf("ParseCommunity(%q) = %v, want an error", in, c)
		}
	}
}
