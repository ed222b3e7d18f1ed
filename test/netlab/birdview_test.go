package netlab

import (
	"net/netip"
	"slices"
	"testing"
)

// The fixtures under testdata/bird2.0 are BIRD 2.0.12's (Debian 12) own
// output, birdc's greeting cut as BIRD.Birdc cuts it, captured with a
// BIRD router (AS 64513, 198.18.0.254 and 2001:db8:18::fe on br0,
// `timeformat protocol iso long ms`, kernel protocols kernel4 and kernel6
// with merge paths) and two BIRD nodes: n1 (AS 64512, 198.18.0.11, also
// over IPv6) and n2 (198.18.0.12: AS 64514 for the ECMP capture, iBGP AS
// 64513 with local-pref 150 and MED 7 for the ibgp one), each announcing
// 198.51.100.77/32 and 198.51.100.7<n>/32 with communities 64512:<n>
// 64512:100 and large community 64512:1:<n>.

func birdView(t *testing.T, routes, protocols, export string) map[netip.Prefix][]Path {
	t.Helper()
	rs, err := parseBIRDRoutes(fixture(t, routes))
	if err != nil {
		t.Fatal(err)
	}
	protos, err := parseBIRDProtocols(fixture(t, protocols))
	if err != nil {
		t.Fatal(err)
	}
	var merged map[netip.Prefix][]birdRoute
	if export != "" {
		if merged, err = parseBIRDRoutes(fixture(t, export)); err != nil {
			t.Fatal(err)
		}
	}
	return resolveBIRD(rs, protos, merged)
}

func TestParseBIRDProtocols(t *testing.T) {
	protos, err := parseBIRDProtocols(fixture(t, "bird2.0/protocols-all.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(protos) != 3 {
		t.Fatalf("got %d BGP protocols %+v, want n1, n1v6, n2 (not device1, kernel4, kernel6)", len(protos), protos)
	}
	want := map[string]Session{
		"n1":   {Peer: netip.MustParseAddr("198.18.0.11"), RemoteAS: 64512, State: "Established", Since: "2026-12-05 09:47:54.767", PrefixesReceived: map[string]int{"ipv4": 2}},
		"n1v6": {Peer: netip.MustParseAddr("2001:db8:18::11"), RemoteAS: 64512, State: "Established", Since: "2026-12-05 09:47:55.602", PrefixesReceived: map[string]int{"ipv6": 1}},
		"n2":   {Peer: netip.MustParseAddr("198.18.0.12"), RemoteAS: 64514, State: "Established", Since: "2026-12-05 09:47:54.879", PrefixesReceived: map[string]int{"ipv4": 2}},
	}
	for name, w := range want {
		g := protos[name]
		if g.Peer != w.Peer || g.RemoteAS != w.RemoteAS || g.State != w.State || g.Since != w.Since || !g.Established() || g.Internal || len(g.PrefixesReceived) != len(w.PrefixesReceived) {
			t.Errorf("%s: got %+v, want %+v", name, g, w)
		}
		for fam, n := range w.PrefixesReceived {
			if g.PrefixesReceived[fam] != n {
				t.Errorf("%s: %s prefixes %d, want %d", name, fam, g.PrefixesReceived[fam], n)
			}
		}
	}
	ibgp, err := parseBIRDProtocols(fixture(t, "bird2.0/protocols-ibgp.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if n2 := ibgp["n2"]; !n2.Internal || n2.RemoteAS != 64513 || ibgp["n1"].Internal {
		t.Errorf("iBGP n2 %+v (want Internal, AS 64513); n1 internal %v", n2, ibgp["n1"].Internal)
	}
	down, err := parseBIRDProtocols(fixture(t, "bird2.0/protocols-down.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if n1 := down["n1"]; n1.State != "Passive" || n1.Established() || n1.Since != "2026-12-05 09:48:38.755" || n1.PrefixesReceived["ipv4"] != 0 {
		t.Errorf("n1 after its peer stopped: %+v, want Passive since 09:48:38.755, no prefixes", n1)
	}
}

// TestParseBIRDHostname: the hostname a peer announced (GoBGP does) is
// among its capabilities; the router's own, if it announces one, is not
// the peer's.
func TestParseBIRDHostname(t *testing.T) {
	data := []byte(`Name       Proto      Table      State  Since         Info
node_ebgp  BGP        ---        up     2026-12-05 09:56:22.985  Established
  BGP state:          Established
    Neighbor address: 198.18.2.1
    Neighbor AS:      64512
    Local capabilities
      Hostname: router
    Neighbor capabilities
      4-octet AS numbers
      Hostname: n1
    Session:          external AS4
`)
	protos, err := parseBIRDProtocols(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := protos["node_ebgp"].Hostname; got != "n1" {
		t.Errorf("hostname %q, want the peer's n1", got)
	}
	protos, err = parseBIRDProtocols(fixture(t, "bird2.0/protocols-all.txt"))
	if err != nil || protos["n1"].Hostname != "" {
		t.Errorf("BIRD peers without the capability: hostname %q (%v), want none", protos["n1"].Hostname, err)
	}
}

func TestParseBIRDRoutesECMP(t *testing.T) {
	routes := birdView(t, "bird2.0/route-all-ecmp.txt", "bird2.0/protocols-all.txt", "bird2.0/export-kernel4.txt")
	if len(routes) != 4 {
		t.Fatalf("got %d prefixes, want 4 (3 IPv4, 1 IPv6): %v", len(routes), routes)
	}
	shared := netip.MustParsePrefix("198.51.100.77/32")
	paths := routes[shared]
	if len(paths) != 2 {
		t.Fatalf("%s: %d paths, want 2: %+v", shared, len(paths), paths)
	}
	bests := 0
	for _, p := range paths {
		n := map[string]string{"198.18.0.11": "1", "198.18.0.12": "2"}[p.Peer.String()]
		if n == "" {
			t.Fatalf("path from %s, want 198.18.0.11 or .12", p.Peer)
		}
		if !p.Valid || !p.Multipath || p.PeerType != "external" {
			t.Errorf("path from %s: valid %v multipath %v type %q, want valid, multipath (kernel4 merges both), external", p.Peer, p.Valid, p.Multipath, p.PeerType)
		}
		if p.Best {
			bests++
		}
		if p.LocalPref == nil || *p.LocalPref != 100 {
			t.Errorf("eBGP path from %s: local-pref %v, want BIRD's default 100", p.Peer, p.LocalPref)
		}
		if want := []string{"64512:" + n, "64512:100"}; !slices.Equal(p.Communities, want) {
			t.Errorf("path from %s: communities %v, want %v", p.Peer, p.Communities, want)
		}
		if want := []string{"64512:1:" + n}; !slices.Equal(p.LargeCommunities, want) {
			t.Errorf("path from %s: large communities %v, want %v", p.Peer, p.LargeCommunities, want)
		}
		if len(p.NextHops) != 1 || p.NextHops[0] != p.Peer {
			t.Errorf("path from %s: next hops %v, want the peer", p.Peer, p.NextHops)
		}
		if wantAS := map[string]uint32{"1": 64512, "2": 64514}[n]; !slices.Equal(p.ASPath, []uint32{wantAS}) {
			t.Errorf("path from %s: AS path %v, want [%d]", p.Peer, p.ASPath, wantAS)
		}
	}
	if bests != 1 || !paths[0].Best {
		t.Errorf("%d best paths (first best: %v), want 1, the first listed", bests, paths[0].Best)
	}
	v := RouterView{Routes: routes}
	want := []netip.Addr{netip.MustParseAddr("198.18.0.11"), netip.MustParseAddr("198.18.0.12")}
	if got := v.NextHops(shared); !slices.Equal(got, want) {
		t.Errorf("NextHops(%s) = %v, want %v", shared, got, want)
	}
	single := routes[netip.MustParsePrefix("198.51.100.71/32")]
	if len(single) != 1 || single[0].Multipath || !single[0].Best || single[0].Peer != want[0] {
		t.Errorf(".71: %+v, want one best path from 198.18.0.11, not multipath", single)
	}
	// Without the kernel protocol's export, nothing says multipath.
	for _, p := range birdView(t, "bird2.0/route-all-ecmp.txt", "bird2.0/protocols-all.txt", "")[shared] {
		if p.Multipath {
			t.Errorf("path from %s multipath without the merged export", p.Peer)
		}
	}
}

func TestParseBIRDRoutesIBGP(t *testing.T) {
	routes := birdView(t, "bird2.0/route-all-ibgp.txt", "bird2.0/protocols-ibgp.txt", "")
	paths := routes[netip.MustParsePrefix("198.51.100.72/32")]
	if len(paths) != 1 {
		t.Fatalf("got %d paths, want 1", len(paths))
	}
	p := paths[0]
	if p.LocalPref == nil || *p.LocalPref != 150 || p.MED != 7 {
		t.Errorf("local-pref %v MED %d, want 150 and 7", p.LocalPref, p.MED)
	}
	if len(p.ASPath) != 0 || !p.Best || p.Multipath || p.PeerType != "internal" || p.Peer != netip.MustParseAddr("198.18.0.12") {
		t.Errorf("iBGP path: %+v, want empty AS path, best, not multipath, internal, from 198.18.0.12", p)
	}
	// n2's iBGP path wins on local-pref over n1's eBGP one.
	shared := routes[netip.MustParsePrefix("198.51.100.77/32")]
	if len(shared) != 2 || !shared[0].Best || shared[0].PeerType != "internal" || shared[1].Best || shared[1].PeerType != "external" {
		t.Errorf("198.51.100.77/32: %+v, want the internal path best and the external one not", shared)
	}
}

// TestParseBIRDRoutesReflected reads what an upstream BIRD (r2 of the
// cluster lab's route reflector topology: AS 64513, 198.18.0.3, an iBGP
// non-client of the FRR reflector 198.18.0.2) learns of a Service's two
// addresses, reflected from node n1 (198.18.0.11): route-all-reflected.txt
// and protocols-upstream.txt, captured by TestRouteReflector.
func TestParseBIRDRoutesReflected(t *testing.T) {
	routes := birdView(t, "bird2.0/route-all-reflected.txt", "bird2.0/protocols-upstream.txt", "")
	n1, rr := netip.MustParseAddr("198.18.0.11"), netip.MustParseAddr("198.18.0.2")
	for prefix, nh := range map[string]string{"198.51.100.1/32": "198.18.0.11", "2001:db8:51::1/128": "2001:db8:18::11"} {
		paths := routes[netip.MustParsePrefix(prefix)]
		if len(paths) != 1 {
			t.Fatalf("%s: %d paths, want 1", prefix, len(paths))
		}
		p := paths[0]
		if p.Peer != rr || p.PeerType != "internal" || !slices.Equal(p.NextHops, []netip.Addr{netip.MustParseAddr(nh)}) {
			t.Errorf("%s: %+v, want from %s over iBGP with next hop %s", prefix, p, rr, nh)
		}
		if p.OriginatorID != n1 || !slices.Equal(p.ClusterList, []netip.Addr{rr}) {
			t.Errorf("%s: originator %v, cluster list %v, want %v and [%v]", prefix, p.OriginatorID, p.ClusterList, n1, rr)
		}
	}
	// A path no reflector passed on has neither.
	for _, paths := range birdView(t, "bird2.0/route-all-ibgp.txt", "bird2.0/protocols-ibgp.txt", "") {
		for _, p := range paths {
			if p.OriginatorID.IsValid() || p.ClusterList != nil {
				t.Errorf("%+v: an originator or cluster list on an unreflected path", p)
			}
		}
	}
}

// TestParseBIRDProtocolsReflector reads a BIRD route reflector's
// protocols (r1 of TestRouteReflectorBIRD: the nodes' dynamic iBGP
// sessions as clients, r2 a non-client), each node announcing one IPv4
// and one IPv6 address, n1's the best: what it sends each peer.
func TestParseBIRDProtocolsReflector(t *testing.T) {
	protos, err := parseBIRDProtocols(fixture(t, "bird2.0/protocols-reflector.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"198.18.0.11": 0, "198.18.0.12": 1, "198.18.0.13": 1, "198.18.0.3": 1}
	got := map[string]int{}
	for _, p := range protos {
		if !p.Internal || !p.Established() {
			t.Errorf("%+v: want an established iBGP session", p.Session)
		}
		if p.PrefixesSent["ipv4"] != p.PrefixesSent["ipv6"] {
			t.Errorf("%s: sent %v, want as many of either family", p.Peer, p.PrefixesSent)
		}
		got[p.Peer.String()] = p.PrefixesSent["ipv4"]
	}
	if len(got) != len(want) {
		t.Fatalf("sessions %v, want %v", got, want)
	}
	for peer, n := range want {
		if got[peer] != n {
			t.Errorf("sent to %s: %d, want %d (all: %v)", peer, got[peer], n, got)
		}
	}
}

func TestParseBIRDRoutesIPv6(t *testing.T) {
	routes := birdView(t, "bird2.0/route-all-ecmp.txt", "bird2.0/protocols-all.txt", "")
	prefix := netip.MustParsePrefix("2001:db8:51::77/128")
	paths := routes[prefix]
	if len(paths) != 1 || paths[0].Peer != netip.MustParseAddr("2001:db8:18::11") {
		t.Fatalf("got %+v, want one path from 2001:db8:18::11", paths)
	}
	if len(paths[0].NextHops) != 2 || !paths[0].NextHops[1].IsLinkLocalUnicast() {
		t.Errorf("next hops %v, want the global one and its link-local twin", paths[0].NextHops)
	}
	v := RouterView{Routes: routes}
	if got := v.NextHops(prefix); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("2001:db8:18::11")}) {
		t.Errorf("NextHops = %v, want the global next hop only", got)
	}
}

// TestParseBIRDRoutePrefix reads `show route <prefix> all`: one prefix,
// two paths.
func TestParseBIRDRoutePrefix(t *testing.T) {
	routes := birdView(t, "bird2.0/route-prefix.txt", "bird2.0/protocols-all.txt", "bird2.0/export-kernel4.txt")
	if len(routes) != 1 || len(routes[netip.MustParsePrefix("198.51.100.77/32")]) != 2 {
		t.Errorf("got %+v, want 198.51.100.77/32 with two paths", routes)
	}
	if _, err := parseBIRDRoutes([]byte("\tvia 198.18.0.11 on br0\n")); err == nil {
		t.Error("a via line before any route parsed")
	}
}

func TestBIRDCommunities(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want []string
	}{
		{"(65535,65281) (65000,10)", 2, []string{"65000:10", "no-export"}},
		{"(64512,100) (64512,2)", 2, []string{"64512:2", "64512:100"}},
		{"(64512, 7, 8) (64512, 1, 2)", 3, []string{"64512:1:2", "64512:7:8"}},
		{"(65535, 65281, 1)", 3, []string{"65535:65281:1"}},
	} {
		got, err := birdCommunities(c.in, c.n)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("birdCommunities(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	if _, err := birdCommunities("(1,2,3)", 2); err == nil {
		t.Error("a large community read as a standard one")
	}
}

func TestParseKernelRoutesBIRD(t *testing.T) {
	routes, err := parseKernelRoutes(fixture(t, "bird2.0/ip-route-bird.json"))
	if err != nil {
		t.Fatal(err)
	}
	n1, n2 := netip.MustParseAddr("198.18.0.11"), netip.MustParseAddr("198.18.0.12")
	if got := routes[netip.MustParsePrefix("198.51.100.77/32")]; !slices.Equal(got, []netip.Addr{n1, n2}) || len(routes) != 3 {
		t.Errorf("got %v, want .77 via both nodes (merge paths) and two single routes", routes)
	}
}

func TestParseBIRDBFD(t *testing.T) {
	up, err := parseBIRDBFD(fixture(t, "bird2.0/bfd-up.txt"))
	if err != nil {
		t.Fatal(err)
	}
	peer4, peer6 := netip.MustParseAddr("198.18.5.2"), netip.MustParseAddr("2001:db8:5::2")
	want := []BFDPeer{
		{Peer: peer4, Multihop: true, Status: "up", Since: "2026-12-05 10:09:41.613", TransmitInterval: 300, DetectTime: 900},
		{Peer: peer4, Status: "up", Since: "2026-12-05 10:09:41.594", TransmitInterval: 300, DetectTime: 900},
		{Peer: peer6, Status: "up", Since: "2026-12-05 10:09:41.418", TransmitInterval: 300, DetectTime: 900},
	}
	if !slices.Equal(up, want) {
		t.Errorf("got %+v\nwant %+v", up, want)
	}
	down, err := parseBIRDBFD(fixture(t, "bird2.0/bfd-down.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(down) != 3 || down[1].Status != "down" || down[1].TransmitInterval != 1000 || down[1].DetectTime != 0 || down[1].Multihop {
		t.Errorf("after the peer was killed: %+v, want 3 down, 1 s interval, no detection time", down)
	}
}
