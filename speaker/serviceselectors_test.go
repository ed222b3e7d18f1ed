package speaker

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/speaker/bgp"
	"github.com/pylonlb/pylon/speaker/election"
)

func matching(kv ...string) v1alpha1.LabelSelector {
	s := v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.MatchLabels[kv[i]] = v1alpha1.LabelValue(kv[i+1])
	}
	return s
}

// selectorWorld: pool "l2" advertised over layer 2 by "web" (Services
// app=web, every node) and "db-on-3" (Services app=db, node-3 only), and
// over BGP by "web" (Services app=web) to one peer; four Services.
func selectorWorld(t *testing.T) Inputs {
	t.Helper()
	node3 := matching("name", "node-3")
	cfg := config.Parse(config.Resources{
		Pools: []v1alpha1.IPPool{{ObjectMeta: metav1.ObjectMeta{Name: "l2"}, Spec: v1alpha1.IPPoolSpec{Addresses: []v1alpha1.AddressRange{"198.51.100.0/24"}}}},
		L2Advertisements: []v1alpha1.L2Advertisement{
			{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: v1alpha1.L2AdvertisementSpec{ServiceSelectors: []v1alpha1.LabelSelector{matching("app", "web")}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "db-on-3"}, Spec: v1alpha1.L2AdvertisementSpec{NodeSelector: &node3, ServiceSelectors: []v1alpha1.LabelSelector{matching("app", "db")}}},
		},
		BGPPeers: []v1alpha1.BGPPeer{{ObjectMeta: metav1.ObjectMeta{Name: "r1"}, Spec: v1alpha1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513, PeerAddress: "198.18.0.1"}}},
		BGPAdvertisements: []v1alpha1.BGPAdvertisement{
			{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: v1alpha1.BGPAdvertisementSpec{ServiceSelectors: []v1alpha1.LabelSelector{matching("app", "web")}}},
		},
	})
	if len(cfg.Problems) > 0 {
		t.Fatalf("test config has problems: %v", cfg.Problems)
	}
	var ns []election.Node
	for i := range 3 {
		name := fmt.Sprintf("node-%d", i+1)
		ns = append(ns, election.Node{Name: name, Labels: labels.Set{"name": name}, Alive: true})
	}
	everywhere := map[string]bool{"node-1": true, "node-2": true, "node-3": true}
	return Inputs{Nodes: ns, Config: cfg, Services: []Service{
		{Key: "ns/web", IPs: addrs("198.51.100.3"), Labels: labels.Set{"app": "web"}, EndpointNodes: everywhere},
		{Key: "ns/db", IPs: addrs("198.51.100.7"), Labels: labels.Set{"app": "db"}, EndpointNodes: everywhere},
		{Key: "ns/other", IPs: addrs("198.51.100.9"), Labels: labels.Set{"app": "other"}, EndpointNodes: everywhere},
		{Key: "ns/shared-a", IPs: addrs("198.51.100.11"), Labels: labels.Set{"app": "other"}, EndpointNodes: everywhere},
		{Key: "ns/shared-b", IPs: addrs("198.51.100.11"), Labels: labels.Set{"app": "web"}, EndpointNodes: everywhere},
	}}
}

// TestPlanL2ServiceSelectors: an L2Advertisement takes part in an
// address's election only when its serviceSelectors select one of the
// Services using it: an address none selects has no owner, and one only a
// node-restricted advertisement selects is owned within its nodes.
// ExplainL2 says the same.
func TestPlanL2ServiceSelectors(t *testing.T) {
	in := selectorWorld(t)
	web, db, other, shared := addrs("198.51.100.3")[0], addrs("198.51.100.7")[0], addrs("198.51.100.9")[0], addrs("198.51.100.11")[0]
	plans := planAll(t, in)
	for _, ip := range []netip.Addr{web, db, shared} {
		var answering []string
		for name, p := range plans {
			if _, ok := p.L2[ip]; ok {
				answering = append(answering, name)
			}
		}
		if len(answering) != 1 {
			t.Errorf("%s answered by %v, want one node", ip, answering)
		}
	}
	for name, p := range plans {
		if _, ok := p.Owners[other]; ok {
			t.Errorf("%s: %s has owner %s, but no L2Advertisement selects its Service", name, other, p.Owners[other])
		}
		if p.Owners[db] != "node-3" {
			t.Errorf("%s: %s owned by %q, want node-3 (only db-on-3 selects ns/db)", name, db, p.Owners[db])
		}
	}

	e := ExplainL2(in, other)
	if !strings.Contains(e.Skipped, "serviceSelectors of db-on-3, web select none") || !slices.Equal(e.NotSelecting, []string{"db-on-3", "web"}) {
		t.Errorf("explain %s: skipped %q, not selecting %v", other, e.Skipped, e.NotSelecting)
	}
	e = ExplainL2(in, db)
	if e.Skipped != "" || !slices.Equal(e.Advertisements, []string{"db-on-3"}) || !slices.Equal(e.NotSelecting, []string{"web"}) || !slices.Equal(e.Ranked, []string{"node-3"}) {
		t.Errorf("explain %s: %+v", db, e)
	}
	if e := ExplainL2(in, shared); !slices.Equal(e.Advertisements, []string{"web"}) || len(e.Ranked) != 3 {
		t.Errorf("explain %s (shared, one of its Services selected): %+v", shared, e)
	}
}

// TestBGPServiceSelectors: the speaker's BGP plan (BGPIPs, BGPServiceLabels,
// bgp.PlanFor, as applyBGP and pylonctl run them) announces the addresses
// of the Services the advertisement selects, a shared one when one of its
// Services is, and names the advertisement for the others.
func TestBGPServiceSelectors(t *testing.T) {
	in := selectorWorld(t)
	in.Node = "node-1"
	offered := BGPIPs(in)
	if len(offered) != 4 {
		t.Fatalf("offered %v, want all four addresses", offered)
	}
	sl := BGPServiceLabels(in, offered)
	if got := sl[addrs("198.51.100.11")[0]]; len(got) != 2 || got[0]["app"] != "other" || got[1]["app"] != "web" {
		t.Errorf("labels of the shared address: %v", got)
	}
	var ips []netip.Addr
	for ip := range offered {
		ips = append(ips, ip)
	}
	plan := bgp.PlanFor(in.Config, labels.Set{"name": "node-1"}, ips, sl)
	var announced []string
	for _, p := range plan.Paths {
		announced = append(announced, p.Prefix.String())
	}
	if want := []string{"198.51.100.3/32", "198.51.100.11/32"}; !slices.Equal(announced, want) {
		t.Errorf("announced %v, want %v", announced, want)
	}
	for _, ip := range addrs("198.51.100.7", "198.51.100.9") {
		if !slices.Equal(plan.NotSelecting[ip], []string{"web"}) {
			t.Errorf("%s: notSelecting %v, want [web]", ip, plan.NotSelecting[ip])
		}
	}
}
