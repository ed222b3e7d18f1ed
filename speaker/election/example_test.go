package election_test

import (
	"fmt"
	"net/netip"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/speaker/election"
)

func Example() {
	ads := []*config.L2Advertisement{{Name: "lab", Pools: []string{"lab"}, NodeSelector: labels.Everything()}}
	nodes := []election.Node{
		{Name: "node-a", Alive: true},
		{Name: "node-b", Alive: true},
		{Name: "node-c", Alive: true, Labels: labels.Set{election.ExcludeLabel: "true"}},
		{Name: "node-d", Alive: false},
	}
	svc := election.Service{Advertisements: election.AdvertisementsFor(ads, "lab")}

	for _, n := range nodes {
		fmt.Println(n.Name, election.Check(n, svc))
	}
	eligible := election.Eligible(nodes, svc)
	owner, _ := election.Owner(netip.MustParseAddr("198.51.100.10"), eligible)
	fmt.Println("owner:", owner)
	// Output:
	// node-a Eligible
	// node-b Eligible
	// node-c ExcludedByLabel
	// node-d NotAlive
	// owner: node-a
}
