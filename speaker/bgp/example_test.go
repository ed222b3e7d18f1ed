package bgp_test

import (
	"fmt"
	"net/netip"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/speaker/bgp"
)

// PlanFor turns the configuration, the node's labels and the IPs the node
// announces into the peers and paths to hand to a Speaker.
func ExamplePlanFor() {
	agg := int32(28)
	cfg := config.Parse(config.Resources{
		Pools: []v1alpha1.IPPool{{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec:       v1alpha1.IPPoolSpec{Addresses: []v1alpha1.AddressRange{"203.0.113.0/26"}},
		}},
		BGPPeers: []v1alpha1.BGPPeer{{
			ObjectMeta: metav1.ObjectMeta{Name: "tor"},
			Spec:       v1alpha1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513, PeerAddress: "198.18.2.254"},
		}},
		BGPAdvertisements: []v1alpha1.BGPAdvertisement{{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec:       v1alpha1.BGPAdvertisementSpec{AggregationLength: &agg, Communities: []v1alpha1.Community{"65000:100"}},
		}},
	})
	ips := []netip.Addr{netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("203.0.113.9")}
	plan := bgp.PlanFor(cfg, labels.Set{"kubernetes.io/hostname": "node-1"}, ips, nil)
	for _, p := range plan.Peers {
		fmt.Println("peer", p)
	}
	for _, p := range plan.Paths {
		fmt.Println("path", p.Prefix, p.Communities, p.Peers)
	}
	// Output:
	// peer tor (AS64512 -> AS64513 at 198.18.2.254:179)
	// path 203.0.113.0/28 [65000:100] [tor]
}
