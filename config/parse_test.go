package config

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// TestParseIgnoresInputOrder: every component must reach the same verdict on
// the same objects, whatever order the API server lists them in.
func TestParseIgnoresInputOrder(t *testing.T) {
	pools := append(append([]v1alpha1.IPPool{}, testPools...),
		pool("dup", 5, "198.51.100.0/26"), pool("broken", 6, "nope"))
	peers := []v1alpha1.BGPPeer{
		peer("a", 0, 64512, 64513, "198.18.0.1"), peer("b", 1, 64512, 64513, "198.18.0.1"), peer("c", 2, 64512, 64512, "198.18.0.2"),
	}
	advs := []v1alpha1.BGPAdvertisement{
		{ObjectMeta: meta("x", 0), Spec: v1alpha1.BGPAdvertisementSpec{IPPools: objectNames("edge", "dup", "none")}},
		{ObjectMeta: meta("y", 1)},
	}
	want := summary(Parse(Resources{Pools: pools, BGPPeers: peers, BGPAdvertisements: advs}))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		rng.Shuffle(len(pools), func(i, j int) { pools[i], pools[j] = pools[j], pools[i] })
		rng.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
		rng.Shuffle(len(advs), func(i, j int) { advs[i], advs[j] = advs[j], advs[i] })
		if got := summary(Parse(Resources{Pools: pools, BGPPeers: peers, BGPAdvertisements: advs})); got != want {
			t.Fatalf("shuffle %d changed the result:\n%s\nwant:\n%s", i, got, want)
		}
	}
}

func summary(c *Config) string {
	s := ""
	for _, p := range c.Pools {
		s += fmt.Sprintf("pool %s %v %v\n", p.Name, p.Ranges, p.Overlaps)
	}
	for _, p := range c.BGPPeers {
		s += fmt.Sprintf("peer %s\n", p)
	}
	for _, a := range c.BGPAdvertisements {
		s += fmt.Sprintf("bgpadv %s %v %v\n", a.Name, a.Pools, a.Peers)
	}
	for _, p := range c.Problems {
		s += fmt.Sprintf("problem %s %s %s %v %s\n", p.Kind, p.Name, p.Reason, p.Rejected, p.Message())
	}
	return s
}
