package netlab

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The fixtures are FRR 8.4.4's (Debian 12) own output, captured in a lab
// with two FRR peers as nodes: n1 (AS 64512, 198.18.0.11, also over
// IPv6) and n2 (AS 64514, 198.18.0.12; iBGP AS 64513 for the ibgp
// capture), each announcing 198.51.100.77/32 and one address of its own
// with communities 64512:<n> 64512:100, large community 64512:1:<n> and
// local-pref 150.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseSummary(t *testing.T) {
	sessions, err := parseSummary(fixture(t, "frr8.4/summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Session{
		{Peer: netip.MustParseAddr("198.18.0.11"), Hostname: "n1", RemoteAS: 64512, State: "Established", Dynamic: true, PrefixesReceived: map[string]int{"ipv4": 2, "ipv6": 0}},
		{Peer: netip.MustParseAddr("198.18.0.12"), Hostname: "n2", RemoteAS: 64514, State: "Established", Dynamic: true, PrefixesReceived: map[string]int{"ipv4": 2, "ipv6": 0}},
		{Peer: netip.MustParseAddr("2001:db8:18::11"), Hostname: "n1", RemoteAS: 64512, State: "Established", Dynamic: true, PrefixesReceived: map[string]int{"ipv6": 1}},
	}
	if len(sessions) != len(want) {
		t.Fatalf("got %d sessions %+v, want %d", len(sessions), sessions, len(want))
	}
	for i, w := range want {
		g := sessions[i]
		if g.Peer != w.Peer || g.Hostname != w.Hostname || g.RemoteAS != w.RemoteAS || g.State != w.State || g.Dynamic != w.Dynamic || !g.Established() {
			t.Errorf("session %d: got %+v, want %+v", i, g, w)
		}
		for fam, n := range w.PrefixesReceived {
			if g.PrefixesReceived[fam] != n {
				t.Errorf("session %s: %s prefixes %d, want %d", g.Peer, fam, g.PrefixesReceived[fam], n)
			}
		}
	}
	// What the router sends: every prefix it has, to each eBGP node.
	if n1 := sessions[0]; n1.PrefixesSent["ipv4"] != 3 || n1.PrefixesSent["ipv6"] != 0 {
		t.Errorf("n1: prefixes sent %v, want ipv4 3 and ipv6 0", n1.PrefixesSent)
	}
	v := RouterView{Sessions: sessions}
	if _, ok := v.Session(netip.MustParseAddr("198.18.0.13")); ok {
		t.Error("Session found a peer that is not there")
	}
}

func TestParseRoutesECMP(t *testing.T) {
	routes, err := parseRoutes(fixture(t, "frr8.4/ipv4-ecmp-detail.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 3 {
		t.Fatalf("got %d prefixes, want 3: %v", len(routes), routes)
	}
	shared := netip.MustParsePrefix("198.51.100.77/32")
	paths := routes[shared]
	if len(paths) != 2 {
		t.Fatalf("%s: %d paths, want 2 (one per node): %+v", shared, len(paths), paths)
	}
	bests := 0
	for _, p := range paths {
		if !p.Valid || !p.Multipath {
			t.Errorf("path from %s: valid %v multipath %v, want both", p.Peer, p.Valid, p.Multipath)
		}
		if p.Best {
			bests++
		}
		if p.LocalPref != nil {
			t.Errorf("eBGP path from %s has local-pref %d; FRR shows none for eBGP", p.Peer, *p.LocalPref)
		}
		n := map[string]string{"198.18.0.11": "1", "198.18.0.12": "2"}[p.Peer.String()]
		if want := []string{"64512:" + n, "64512:100"}; !slices.Equal(p.Communities, want) {
			t.Errorf("path from %s: communities %v, want %v", p.Peer, p.Communities, want)
		}
		if want := []string{"64512:1:" + n}; !slices.Equal(p.LargeCommunities, want) {
			t.Errorf("path from %s: large communities %v, want %v", p.Peer, p.LargeCommunities, want)
		}
		if len(p.NextHops) != 1 || p.NextHops[0] != p.Peer {
			t.Errorf("path from %s: next hops %v, want the peer", p.Peer, p.NextHops)
		}
	}
	if bests != 1 {
		t.Errorf("%d best paths, want 1", bests)
	}
	v := RouterView{Routes: routes}
	want := []netip.Addr{netip.MustParseAddr("198.18.0.11"), netip.MustParseAddr("198.18.0.12")}
	if got := v.NextHops(shared); !slices.Equal(got, want) {
		t.Errorf("NextHops(%s) = %v, want %v", shared, got, want)
	}
	if got := v.NextHops(netip.MustParsePrefix("198.51.100.71/32")); !slices.Equal(got, want[:1]) {
		t.Errorf("NextHops(.71) = %v, want %v", got, want[:1])
	}
}

// TestParseRoutesReflected reads what an upstream FRR (r2 of the cluster
// lab's route reflector topology: AS 64513, router ID 198.18.0.3, an iBGP
// non-client of the BIRD reflector 198.18.0.2) learns of a Service's two
// addresses, reflected from node n1 (198.18.0.11), captured by
// TestRouteReflectorBIRD.
func TestParseRoutesReflected(t *testing.T) {
	n1, rr := netip.MustParseAddr("198.18.0.11"), netip.MustParseAddr("198.18.0.2")
	for file, want := range map[string][2]string{
		"frr8.4/ipv4-reflected-detail.json": {"198.51.100.1/32", "198.18.0.11"},
		"frr8.4/ipv6-reflected-detail.json": {"2001:db8:51::1/128", "2001:db8:18::11"},
	} {
		routes, err := parseRoutes(fixture(t, file))
		if err != nil {
			t.Fatal(err)
		}
		paths := routes[netip.MustParsePrefix(want[0])]
		if len(paths) != 1 {
			t.Fatalf("%s: %d paths, want 1", want[0], len(paths))
		}
		p := paths[0]
		if p.Peer != rr || p.PeerType != "internal" || !p.Best || len(p.ASPath) != 0 || !slices.Contains(p.NextHops, netip.MustParseAddr(want[1])) {
			t.Errorf("%s: %+v, want the best path from %s over iBGP with next hop %s", want[0], p, rr, want[1])
		}
		if p.OriginatorID != n1 || !slices.Equal(p.ClusterList, []netip.Addr{rr}) {
			t.Errorf("%s: originator %v, cluster list %v, want %v and [%v]", want[0], p.OriginatorID, p.ClusterList, n1, rr)
		}
	}
	// A path no reflector passed on has neither.
	routes, err := parseRoutes(fixture(t, "frr8.4/ipv4-ibgp-detail.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, paths := range routes {
		for _, p := range paths {
			if p.OriginatorID.IsValid() || p.ClusterList != nil {
				t.Errorf("%+v: an originator or cluster list on an unreflected path", p)
			}
		}
	}
}

func TestParseRoutesIBGPLocalPref(t *testing.T) {
	routes, err := parseRoutes(fixture(t, "frr8.4/ipv4-ibgp-detail.json"))
	if err != nil {
		t.Fatal(err)
	}
	paths := routes[netip.MustParsePrefix("198.51.100.72/32")]
	if len(paths) != 1 {
		t.Fatalf("got %d paths, want 1", len(paths))
	}
	p := paths[0]
	if p.LocalPref == nil || *p.LocalPref != 150 {
		t.Errorf("local-pref %v, want 150", p.LocalPref)
	}
	if len(p.ASPath) != 0 || !p.Best || p.Multipath || p.PeerType != "internal" {
		t.Errorf("iBGP path: AS path %v best %v multipath %v peer type %q, want empty, true, false, internal", p.ASPath, p.Best, p.Multipath, p.PeerType)
	}
}

// TestParsePaths reads one prefix's paths (`show bgp ipv4 unicast <prefix>
// json`: the paths under "paths"), a well-known community by its name.
func TestParsePaths(t *testing.T) {
	data := []byte(`{"prefix":"198.51.100.80/32","paths":[{"aspath":{"string":"64512","segments":[{"type":"as-sequence","list":[64512]}],"length":1},
"community":{"string":"65000:10 no-export","list":["65000:10","noExport"]},"valid":true,"bestpath":{"overall":true,"selectionReason":"First path received"},
"nexthops":[{"ip":"198.18.2.1","afi":"ipv4","scope":"global","used":true}],"peer":{"peerId":"198.18.2.1","routerId":"198.18.2.1","type":"external"}}]}`)
	prefix := netip.MustParsePrefix("198.51.100.80/32")
	got, err := parsePaths(prefix, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d paths, want 1: %+v", len(got), got)
	}
	p := got[0]
	if p.Prefix != prefix || p.Peer != netip.MustParseAddr("198.18.2.1") || p.PeerType != "external" || !p.Best || !p.Valid ||
		!slices.Equal(p.ASPath, []uint32{64512}) || !slices.Equal(p.Communities, []string{"65000:10", "no-export"}) ||
		!slices.Equal(p.NextHops, []netip.Addr{netip.MustParseAddr("198.18.2.1")}) {
		t.Errorf("got %+v", p)
	}
	if none, err := parsePaths(prefix, []byte(`{}`)); err != nil || len(none) != 0 {
		t.Errorf("no route: %v, %v; want no paths", none, err)
	}
}

func TestParseRoutesIPv6(t *testing.T) {
	routes, err := parseRoutes(fixture(t, "frr8.4/ipv6-detail.json"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := netip.MustParsePrefix("2001:db8:51::77/128")
	paths := routes[prefix]
	if len(paths) != 1 {
		t.Fatalf("got %d paths, want 1: %v", len(paths), routes)
	}
	if len(paths[0].NextHops) != 2 || !paths[0].NextHops[1].IsLinkLocalUnicast() {
		t.Errorf("next hops %v, want the global one and its link-local twin", paths[0].NextHops)
	}
	if !slices.Equal(paths[0].ASPath, []uint32{64512}) {
		t.Errorf("AS path %v, want [64512]", paths[0].ASPath)
	}
	v := RouterView{Routes: routes}
	if got := v.NextHops(prefix); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("2001:db8:18::11")}) {
		t.Errorf("NextHops = %v, want the global next hop only", got)
	}
}

func TestParseRoutesNestedPaths(t *testing.T) {
	// Newer FRR nests a prefix's paths under "paths".
	data := []byte(`{"routes":{"198.51.100.9/32":{"prefix":"198.51.100.9/32","paths":[{"valid":true,"bestpath":{"overall":true},"nexthops":[{"ip":"198.18.0.13"}],"peer":{"peerId":"198.18.0.13"}}]}}}`)
	routes, err := parseRoutes(data)
	if err != nil {
		t.Fatal(err)
	}
	paths := routes[netip.MustParsePrefix("198.51.100.9/32")]
	if len(paths) != 1 || !paths[0].Best || paths[0].Peer != netip.MustParseAddr("198.18.0.13") {
		t.Errorf("got %+v, want one best path from 198.18.0.13", paths)
	}
}

func TestParseKernelRoutes(t *testing.T) {
	routes, err := parseKernelRoutes(fixture(t, "ip-route-bgp.json"))
	if err != nil {
		t.Fatal(err)
	}
	n1, n2 := netip.MustParseAddr("198.18.0.11"), netip.MustParseAddr("198.18.0.12")
	want := map[string][]netip.Addr{"198.51.100.71/32": {n1}, "198.51.100.72/32": {n2}, "198.51.100.77/32": {n1, n2}}
	if len(routes) != len(want) {
		t.Fatalf("got %v, want %v", routes, want)
	}
	for p, gws := range want {
		if got := routes[netip.MustParsePrefix(p)]; !slices.Equal(got, gws) {
			t.Errorf("%s: gateways %v, want %v", p, got, gws)
		}
	}
}
