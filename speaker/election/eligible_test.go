package election

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/config"
)

func ad(name, selector string, pools ...string) *config.L2Advertisement {
	sel, err := labels.Parse(selector)
	if err != nil {
		panic(err)
	}
	return &config.L2Advertisement{Name: name, Pools: pools, NodeSelector: sel}
}

func TestCheck(t *testing.T) {
	all := []*config.L2Advertisement{ad("all", "")}
	zoneA := []*config.L2Advertisement{ad("zone-a", "zone=a")}
	ok := Node{Name: "n1", Labels: labels.Set{"zone": "a"}, Alive: true}
	with := func(f func(*Node)) Node {
		n := ok
		n.Labels = labels.Set{"zone": "a"}
		f(&n)
		return n
	}
	for _, tc := range []struct {
		name string
		node Node
		svc  Service
		want Reason
	}{
		{"eligible", ok, Service{Advertisements: all}, ReasonEligible},
		{"selected by label", ok, Service{Advertisements: zoneA}, ReasonEligible},
		{"selected by one of two", ok, Service{Advertisements: []*config.L2Advertisement{ad("b", "zone=b"), ad("a", "zone=a")}}, ReasonEligible},
		{"not selected", with(func(n *Node) { n.Labels["zone"] = "b" }), Service{Advertisements: zoneA}, ReasonNotSelected},
		{"no advertisement covers the pool", ok, Service{}, ReasonNotSelected},
		{"excluded with any value", with(func(n *Node) { n.Labels[ExcludeLabel] = "" }), Service{Advertisements: all}, ReasonExcluded},
		{"excluded with true", with(func(n *Node) { n.Labels[ExcludeLabel] = "true" }), Service{Advertisements: all}, ReasonExcluded},
		{"network unavailable", with(func(n *Node) { n.NetworkUnavailable = true }), Service{Advertisements: all}, ReasonNetworkUnavailable},
		{"not alive", with(func(n *Node) { n.Alive = false }), Service{Advertisements: all}, ReasonNotAlive},
		{"local with endpoint", ok, Service{Advertisements: all, Local: true, EndpointNodes: map[string]bool{"n1": true}}, ReasonEligible},
		{"local without endpoint", ok, Service{Advertisements: all, Local: true, EndpointNodes: map[string]bool{"n2": true}}, ReasonNoEndpoint},
		{"local, no endpoints at all", ok, Service{Advertisements: all, Local: true}, ReasonNoEndpoint},
		{"cluster policy ignores endpoints", ok, Service{Advertisements: all, EndpointNodes: map[string]bool{"n2": true}}, ReasonEligible},
		{"exclusion reported before the rest", Node{Name: "n1", Labels: labels.Set{ExcludeLabel: ""}, NetworkUnavailable: true}, Service{Local: true}, ReasonExcluded},
		{"network reported before liveness", Node{Name: "n1", NetworkUnavailable: true}, Service{Local: true}, ReasonNetworkUnavailable},
		{"liveness reported before selection", Node{Name: "n1"}, Service{Local: true}, ReasonNotAlive},
		{"selection reported before endpoints", Node{Name: "n1", Alive: true}, Service{Local: true}, ReasonNotSelected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Check(tc.node, tc.svc); got != tc.want {
				t.Errorf("Check = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestEligible(t *testing.T) {
	nodes := []Node{
		{Name: "n3", Labels: labels.Set{"l2": "yes"}, Alive: true},
		{Name: "n1", Labels: labels.Set{"l2": "yes"}, Alive: true},
		{Name: "n2", Labels: labels.Set{"l2": "yes", ExcludeLabel: "true"}, Alive: true},
		{Name: "n4", Labels: labels.Set{"l2": "no"}, Alive: true},
		{Name: "n5", Labels: labels.Set{"l2": "yes"}, Alive: false},
		{Name: "n6", Labels: labels.Set{"l2": "yes"}, Alive: true},
		{Name: "n1", Labels: labels.Set{"l2": "yes"}, Alive: true},
	}
	svc := Service{Advertisements: []*config.L2Advertisement{ad("l2", "l2=yes")}}
	if got, want := Eligible(nodes, svc), []string{"n1", "n3", "n6"}; !slices.Equal(got, want) {
		t.Errorf("Eligible = %v, want %v", got, want)
	}
	svc.Local, svc.EndpointNodes = true, map[string]bool{"n3": true, "n4": true, "n5": true}
	if got, want := Eligible(nodes, svc), []string{"n3"}; !slices.Equal(got, want) {
		t.Errorf("Eligible (Local) = %v, want %v", got, want)
	}
	svc.EndpointNodes = nil
	if got := Eligible(nodes, svc); got != nil {
		t.Errorf("Eligible (Local, no endpoints) = %v, want none", got)
	}
}

func TestAdvertisementsFor(t *testing.T) {
	a, b, c := ad("a", "", "p1", "p2"), ad("b", "zone=x", "p2"), ad("c", "", "p3")
	ads := []*config.L2Advertisement{a, b, c}
	names := func(ads []*config.L2Advertisement) []string {
		var out []string
		for _, ad := range ads {
			out = append(out, ad.Name)
		}
		return out
	}
	for _, tc := range []struct {
		pool string
		want []string
	}{{"p1", []string{"a"}}, {"p2", []string{"a", "b"}}, {"p3", []string{"c"}}, {"p4", nil}} {
		if got := names(AdvertisementsFor(ads, tc.pool)); !slices.Equal(got, tc.want) {
			t.Errorf("AdvertisementsFor(%s) = %v, want %v", tc.pool, got, tc.want)
		}
	}
	if got, want := names(Selecting(labels.Set{"zone": "x"}, ads)), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("Selecting(zone=x) = %v, want %v", got, want)
	}
	if got, want := names(Selecting(labels.Set{"zone": "y"}, ads)), []string{"a", "c"}; !slices.Equal(got, want) {
		t.Errorf("Selecting(zone=y) = %v, want %v", got, want)
	}
}
