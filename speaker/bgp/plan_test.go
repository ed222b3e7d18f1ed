package bgp

import (
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"k8s.io/utils/ptr"
)

func TestPlanFor(t *testing.T) {
	labelled := func(p v1alpha1.IPPool, kv ...string) v1alpha1.IPPool {
		p.Labels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
		return p
	}
	pools := []v1alpha1.IPPool{
		pool("web", "198.51.100.0/24", "2001:db8:51::/64"),
		labelled(pool("edge", "203.0.113.0/25"), "tier", "edge"),
		pool("other", "203.0.113.128/25"),
	}
	ebgp := bgpPeer("r1", 64512, 64513, "198.18.2.254")
	ibgp := bgpPeer("r2", 64513, 64513, "198.18.2.253")
	ebgp6 := bgpPeer("r6", 64512, 64513, "2001:db8:2::fe")
	rackA := func(s *v1alpha1.BGPPeerSpec) { s.NodeSelector = selector("rack", "a") }
	nodeA := labels.Set{"rack": "a", "kubernetes.io/hostname": "n1"}
	nodeB := labels.Set{"rack": "b", "kubernetes.io/hostname": "n2"}

	tests := []struct {
		name      string
		res       config.Resources
		node      labels.Set
		ips       []string
		wantPeers []string
		wantPaths []Path
		wantUnadv []string
		wantProb  []string // fragments, one per problem
	}{{
		name:      "one eBGP peer, every pool: a /32 per IP, to the peer",
		res:       config.Resources{Pools: pools, BGPPeers: []v1alpha1.BGPPeer{ebgp}, BGPAdvertisements: []v1alpha1.BGPAdvertisement{bgpAd("all")}},
		node:      nodeA,
		ips:       []string{"198.51.100.7", "198.51.100.3"},
		wantPeers: []string{"r1"},
		wantPaths: []Path{
			{Prefix: pfx("198.51.100.3/32"), Peers: []string{"r1"}},
			{Prefix: pfx("198.51.100.7/32"), Peers: []string{"r1"}},
		},
	}, {
		name: "peer nodeSelector: a node it does not select has no peer and announces nothing",
		res: config.Resources{Pools: pools, BGPPeers: []v1alpha1.BGPPeer{bgpPeer("r1", 64512, 64513, "198.18.2.254", rackA)},
			BGPAdvertisements: []v1alpha1.BGPAdvertisement{bgpAd("all")}},
		node:      nodeB,
		ips:       []string{"198.51.100.7"},
		wantUnadv: []string{"198.51.100.7"},
	}, {
		name: "advertisement nodeSelector: only selected nodes announce",
		res: config.Resources{Pools: pools, BGPPeers: []v1alpha1.BGPPeer{ebgp},
			BGPAdvertisements: []v1alpha1.BGPAdvertisement{bgpAd("a-only", func(s *v1alpha1.BGPAdvertisementSpec) { s.NodeSelector = selector("rack", "a") })}},
		node:      nodeB,
		ips:       []string{"198.51.100.7"},
		wantPeers: []string{"r1"},
		wantUnadv: []string{"198.51.100.7"},
	}, {
		name: "pools by name and by selector; an IP of another pool is not advertised",
		res: config.Resources{Pools: pools, BGPPeers: []v1alpha1.BGPPeer{ebgp}, BGPAdvertisements: []v1alpha1.BGPAdvertisement{
			bgpAd("by-name", func(s *v1alpha1.BGPAdvertisementSpec) { s.IPPools = []v1alpha1.ObjectName{"web"} }),
			bgpAd("by-label", func(s *v1alpha1.BGPAdvertisementSpec) { s.IPPoolSelector = selector("tier", "edge") }),
		}},
		node:      nodeA,
		ips:       []string{"198.51.100.9", "203.0.113.5", "203.0.113.200"},
		wantPeers: []string{"r1"},
		wantPaths: []Path{
			{Prefix: pfx("198.51.100.9/32"), Peers: []string{"r1"}},
			{Prefix: pfx("203.0.113.5/32"), Peers: []string{"r1"}},
		},
		wantUnadv: []string{"203.0.113.200"},
	}, {
		name: "aggregation: the aggregate holding each IP, once, per family",
		res: config.Resources{Pools: pools, BGPPeers: []v1alpha1.BGPPeer{ebgp, ebgp6}, BGPAdvertisements: []v1alpha1.BGPAdvertisement{
			bgpAd("agg", func(s *v1alpha1.BGPAdvertisementSpec) {
				s.IPPools = []v1alpha1.ObjectName{"web"}
				s.AggregationLength = ptr.To(int32(24))
				s.AggregationLengthV6 = ptr.To(int32(64))
			}),
		}},
		node:      nodeA,
		ips:       []string{"198.51.100.9", "198.51.100.10", "2001:db8:51::5"},
		wantPeers: []string{"r1", "r6"},
		wantPaths: []Path{
			{Prefix: pfx("198.51.100.0/24"), Peers: []string{"r1"}},
			{Prefix: pfx("2001:db8:51::/64"), Peers: []string{"r6"}},
		},
	}, {
		name: "paths go to peers of their own family only",
		res:  config.Resources{Pools: pools, BGPPeers: []v1alpha1.BGPPeer{ebgp}, BGPAdvertisements: []v1alpha1.BGPAdvertisement{bgpAd("all")}},
		node: nodeA,
		ips:  []string{"2001:db8:51::5"}, wantPeers: []string{"r1"}, wantUnadv: []string{"2001:db8:51::5"},
	}, {
		name: "advertisement peers: only to the named peer",
		res: config.Resources{Pools: pools, BGPPeers: []v1alpha1.BGPPeer{ebgp, ibgp}, BGPAdvertisements: []v1alpha1.BGPAdvertisement{
			bgpAd("to-r2", func(s *v1alpha1.BGPAdvertisementSpec) { s.Peers = []v1alpha1.ObjectName{"r2"} }),
		}},
		node:      nodeA,
		ips:       []string{"198.51.100.9"},
		wantPeers: []string{"r1", "r2"},
		wantPaths: []Path{{Prefix: pfx("198.51.100.9/32"), Peers: []string{"r2"}}},
	}, {
		name: "communities and localPref: per peer, the union over the advertisements that target it only",
		res: config.Resources{Pools: pools, BGPPeers: []v1alpha1.BGPPeer{ebgp, ibgp}, BGPAdvertisements: []v1alpha1.BGPAdvertisement{
			bgpAd("a", func(s *v1alpha1.BGPAdvertisementSpec) {
				s.Communities = []v1alpha1.Community{"65000:100", "large:64512:1:2"}
				s.LocalPref = ptr.To(int64(150))
				s.Peers = []v1alpha1.ObjectName{"r2"}
			}),
			bgpAd("b", func(s *v1alpha1.BGPAdvertisementSpec) {
				s.Communities = []v1alpha1.Community{"65000:200", "65000:100"}
				s.LocalPref = ptr.To(int64(300))
				s.Peers = []v1alpha1.ObjectName{"r2"}
			}),
			bgpAd("c", func(s *v1alpha1.BGPAdvertisementSpec) { s.Peers = []v1alpha1.ObjectName{"r1"} }),
		}},
		node:      nodeA,
		ips:       []string{"198.51.100.9"},
		wantPeers: []string{"r1", "r2"},
		wantPaths: []Path{
			{Prefix: pfx("198.51.100.9/32"), Peers: []string{"r1"}},
			{
				Prefix:      pfx("198.51.100.9/32"),
				Communities: []string{"65000:100", "65000:200", "large:64512:1:2"},
				LocalPref:   ptr.To(uint32(300)),
				Peers:       []string{"r2"},
			},
		},
	}, {
		name: "no leakage: no-export and localPref for one router do not reach the other; peers with equal attributes share a Path",
		res: config.Resources{Pools: pools, BGPPeers: []v1alpha1.BGPPeer{ebgp, ibgp, bgpPeer("r3", 64513, 64513, "198.18.2.252")}, BGPAdvertisements: []v1alpha1.BGPAdvertisement{
			bgpAd("to-r2", func(s *v1alpha1.BGPAdvertisementSpec) {
				s.Communities = []v1alpha1.Community{"no-export"}
				s.LocalPref = ptr.To(int64(300))
				s.Peers = []v1alpha1.ObjectName{"r2"}
			}),
			bgpAd("to-all", func(s *v1alpha1.BGPAdvertisementSpec) {
				s.Communities = []v1alpha1.Community{"65000:1"}
			}),
		}},
		node:      nodeA,
		ips:       []string{"198.51.100.9"},
		wantPeers: []string{"r1", "r2", "r3"},
		wantPaths: []Path{
			{Prefix: pfx("198.51.100.9/32"), Communities: []string{"65000:1"}, Peers: []string{"r1", "r3"}},
			{Prefix: pfx("198.51.100.9/32"), Communities: []string{"65000:1", "65535:65281"}, LocalPref: ptr.To(uint32(300)), Peers: []string{"r2"}},
		},
	}, {
		name: "dualStackAddressFamily: an IPv4 peer gets IPv6 prefixes too, an IPv6 one IPv4 prefixes; others their own family only",
		res: config.Resources{Pools: pools, BGPPeers: []v1alpha1.BGPPeer{
			bgpPeer("r1", 64512, 64513, "198.18.2.254", func(s *v1alpha1.BGPPeerSpec) { s.DualStackAddressFamily = ptr.To(true) }),
			bgpPeer("r2", 64513, 64513, "198.18.2.253"),
			bgpPeer("r6", 64512, 64513, "2001:db8:2::fe", func(s *v1alpha1.BGPPeerSpec) { s.DualStackAddressFamily = ptr.To(true) }),
		}, BGPAdvertisements: []v1alpha1.BGPAdvertisement{bgpAd("all")}},
		node:      nodeA,
		ips:       []string{"198.51.100.9", "2001:db8:51::5"},
		wantPeers: []string{"r1", "r2", "r6"},
		wantPaths: []Path{
			{Prefix: pfx("198.51.100.9/32"), Peers: []string{"r1", "r2", "r6"}},
			{Prefix: pfx("2001:db8:51::5/128"), Peers: []string{"r1", "r6"}},
		},
	}, {
		name: "localPref is never put on a path that goes to eBGP peers only",
		res: config.Resources{Pools: pools, BGPPeers: []v1alpha1.BGPPeer{ebgp}, BGPAdvertisements: []v1alpha1.BGPAdvertisement{
			bgpAd("lp", func(s *v1alpha1.BGPAdvertisementSpec) { s.LocalPref = ptr.To(int64(150)) }),
		}},
		node:      nodeA,
		ips:       []string{"198.51.100.9"},
		wantPeers: []string{"r1"},
		wantPaths: []Path{{Prefix: pfx("198.51.100.9/32"), Peers: []string{"r1"}}},
	}, {
		name: "two selected peers with one address: the first by name wins, the other is reported",
		res: config.Resources{Pools: pools, BGPPeers: []v1alpha1.BGPPeer{
			bgpPeer("r1", 64512, 64513, "198.18.2.254"),
			bgpPeer("r1-rack-a", 64512, 64513, "198.18.2.254", rackA),
		}},
		node:      nodeA,
		wantPeers: []string{"r1"},
		wantProb:  []string{"BGPPeer r1-rack-a: not used on this node: BGPPeer r1 already peers with 198.18.2.254"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parse(t, tc.res)
			plan := PlanFor(cfg, tc.node, addrs(tc.ips...), nil)
			var peers []string
			for _, p := range plan.Peers {
				peers = append(peers, p.Name)
			}
			if !reflect.DeepEqual(peers, tc.wantPeers) {
				t.Errorf("peers = %v, want %v", peers, tc.wantPeers)
			}
			if !reflect.DeepEqual(plan.Paths, tc.wantPaths) {
				t.Errorf("paths =\n%s\nwant\n%s", showPaths(plan.Paths), showPaths(tc.wantPaths))
			}
			if !reflect.DeepEqual(plan.Unadvertised, addrs(tc.wantUnadv...)) && len(plan.Unadvertised)+len(tc.wantUnadv) > 0 {
				t.Errorf("unadvertised = %v, want %v", plan.Unadvertised, tc.wantUnadv)
			}
			if len(plan.Problems) != len(tc.wantProb) {
				t.Fatalf("problems = %q, want %d matching %q", plan.Problems, len(tc.wantProb), tc.wantProb)
			}
			for i, f := range tc.wantProb {
				if !strings.Contains(plan.Problems[i], f) {
					t.Errorf("problem %q lacks %q", plan.Problems[i], f)
				}
			}
		})
	}
}

func TestPlanForPeerSettings(t *testing.T) {
	cfg := parse(t, config.Resources{
		Namespace: "pylon-system",
		Secrets:   []corev1.Secret{secret("pylon-system", "r1-md5", "password", "s3cret")},
		BGPPeers: []v1alpha1.BGPPeer{bgpPeer("r1", 64512, 64513, "198.18.9.1", func(s *v1alpha1.BGPPeerSpec) {
			s.PeerPort = ptr.To(int32(1179))
			s.SourceAddress = "198.18.2.1"
			s.HoldTime = duration(9 * time.Second)
			s.KeepaliveTime = duration(3 * time.Second)
			s.EBGPMultiHop = ptr.To(true)
			s.PasswordSecretRef = &v1alpha1.SecretKeyReference{Name: "r1-md5"}
			s.GracefulRestart = &v1alpha1.GracefulRestart{RestartTime: duration(30 * time.Second)}
			s.DualStackAddressFamily = ptr.To(true)
		})},
	})
	plan := PlanFor(cfg, labels.Set{}, nil, nil)
	want := []Peer{{
		Name: "r1", Address: netip.MustParseAddr("198.18.9.1"), Port: 1179, MyASN: 64512, PeerASN: 64513,
		SourceAddress: netip.MustParseAddr("198.18.2.1"), HoldTime: 9 * time.Second, KeepaliveTime: 3 * time.Second,
		EBGPMultiHop: true, Password: "s3cret", GracefulRestart: 30 * time.Second, DualStackAddressFamily: true,
	}}
	if !reflect.DeepEqual(plan.Peers, want) {
		t.Errorf("peers = %+v\nwant %+v", plan.Peers, want)
	}
	if plan.ASN != 64512 {
		t.Errorf("ASN = %d, want 64512", plan.ASN)
	}
	if _, err := validatePeers(plan.Peers); err != nil {
		t.Errorf("a planned peer is invalid: %v", err)
	}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func showPaths(ps []Path) string {
	var b strings.Builder
	for _, p := range ps {
		lp := "-"
		if p.LocalPref != nil {
			lp = strconv.FormatUint(uint64(*p.LocalPref), 10)
		}
		fmt.Fprintf(&b, "  %v communities=%v localPref=%s peers=%v\n", p.Prefix, p.Communities, lp, p.Peers)
	}
	return b.String()
}
