package bgp

import (
	"net/netip"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
)

// TestPlanForServiceSelectors: an advertisement with serviceSelectors
// announces an IP only when one selects one of the Services using it, and
// names itself in NotSelecting for the others; one without announces all.
func TestPlanForServiceSelectors(t *testing.T) {
	webOnly := bgpAd("web-only", func(s *v1alpha1.BGPAdvertisementSpec) {
		s.ServiceSelectors = []v1alpha1.LabelSelector{*selector("app", "web"), *selector("tier", "front")}
		s.Communities = []v1alpha1.Community{"65000:1"}
	})
	services := ServiceLabels{
		netip.MustParseAddr("198.51.100.3"):  {{"app": "web"}},
		netip.MustParseAddr("198.51.100.5"):  {{"app": "cache", "tier": "front"}},
		netip.MustParseAddr("198.51.100.7"):  {{"app": "db"}},
		netip.MustParseAddr("198.51.100.9"):  {{"app": "db"}, {"app": "web"}}, // shared
		netip.MustParseAddr("198.51.100.11"): {nil},
	}
	ips := addrs("198.51.100.3", "198.51.100.5", "198.51.100.7", "198.51.100.9", "198.51.100.11")
	res := config.Resources{
		Pools:             []v1alpha1.IPPool{pool("web", "198.51.100.0/24")},
		BGPPeers:          []v1alpha1.BGPPeer{bgpPeer("r1", 64512, 64513, "198.18.2.254")},
		BGPAdvertisements: []v1alpha1.BGPAdvertisement{webOnly},
	}

	plan := PlanFor(parse(t, res), labels.Set{}, ips, services)
	want := []Path{
		{Prefix: pfx("198.51.100.3/32"), Communities: []string{"65000:1"}, Peers: []string{"r1"}},
		{Prefix: pfx("198.51.100.5/32"), Communities: []string{"65000:1"}, Peers: []string{"r1"}},
		{Prefix: pfx("198.51.100.9/32"), Communities: []string{"65000:1"}, Peers: []string{"r1"}},
	}
	if !reflect.DeepEqual(plan.Paths, want) {
		t.Errorf("selector alone: paths =\n%s\nwant\n%s", showPaths(plan.Paths), showPaths(want))
	}
	if want := addrs("198.51.100.7", "198.51.100.11"); !reflect.DeepEqual(plan.Unadvertised, want) {
		t.Errorf("unadvertised = %v, want %v", plan.Unadvertised, want)
	}
	wantNot := map[netip.Addr][]string{
		netip.MustParseAddr("198.51.100.7"):  {"web-only"},
		netip.MustParseAddr("198.51.100.11"): {"web-only"},
	}
	if !reflect.DeepEqual(plan.NotSelecting, wantNot) {
		t.Errorf("notSelecting = %v, want %v", plan.NotSelecting, wantNot)
	}

	// With an advertisement for every Service besides, every IP goes out;
	// only the selected ones carry web-only's community.
	res.BGPAdvertisements = append(res.BGPAdvertisements, bgpAd("all"))
	plan = PlanFor(parse(t, res), labels.Set{}, ips, services)
	want = []Path{
		{Prefix: pfx("198.51.100.3/32"), Communities: []string{"65000:1"}, Peers: []string{"r1"}},
		{Prefix: pfx("198.51.100.5/32"), Communities: []string{"65000:1"}, Peers: []string{"r1"}},
		{Prefix: pfx("198.51.100.7/32"), Peers: []string{"r1"}},
		{Prefix: pfx("198.51.100.9/32"), Communities: []string{"65000:1"}, Peers: []string{"r1"}},
		{Prefix: pfx("198.51.100.11/32"), Peers: []string{"r1"}},
	}
	if !reflect.DeepEqual(plan.Paths, want) || len(plan.Unadvertised) != 0 {
		t.Errorf("with a second advertisement: paths =\n%s\nwant\n%s\nunadvertised %v", showPaths(plan.Paths), showPaths(want), plan.Unadvertised)
	}
}
