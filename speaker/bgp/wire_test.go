package bgp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/osrg/gobgp/v3/pkg/server"
	"github.com/pylonlb/pylon/test/poll"
)

// Wire tests: the Speaker against a second, real GoBGP server playing the
// router, over loopback TCP. What the router receives is what the Speaker's
// translation (PlanFor's Paths, the per-peer export policies, the next hops)
// puts on the wire, without a lab.

// wireRouter is a GoBGP server listening on addr, with the speaker (at from)
// as its one, passive neighbour.
type wireRouter struct {
	srv  *server.BgpServer
	port uint16
}

func newWireRouter(t testing.TB, addr, from string, asn, speakerASN uint32) *wireRouter {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Skipf("SKIPPED: no loopback address %s here: %v", addr, err)
	}
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close()
	srv := server.NewBgpServer()
	go srv.Serve()
	ctx := context.Background()
	id := "192.0.2." + strconv.Itoa(int(port%250)+1)
	if err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{Asn: asn, RouterId: id, ListenPort: int32(port), ListenAddresses: []string{addr}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.StopBgp(context.Background(), &api.StopBgpRequest{}) })
	var families []*api.AfiSafi
	for _, afi := range []api.Family_Afi{api.Family_AFI_IP, api.Family_AFI_IP6} {
		families = append(families, &api.AfiSafi{Config: &api.AfiSafiConfig{Family: &api.Family{Afi: afi, Safi: api.Family_SAFI_UNICAST}, Enabled: true}})
	}
	if err := srv.AddPeer(ctx, &api.AddPeerRequest{Peer: &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: from, PeerAsn: speakerASN},
		Transport: &api.Transport{PassiveMode: true, LocalAddress: addr},
		AfiSafis:  families,
	}}); err != nil {
		t.Fatal(err)
	}
	return &wireRouter{srv: srv, port: port}
}

// received is one path as the router got it.
type received struct {
	nextHop     string
	communities []string // standard as "a:b", large as "large:a:b:c", sorted
	localPref   string   // "" when absent
}

func (r received) String() string {
	return fmt.Sprintf("nh=%s communities=%v localPref=%q", r.nextHop, r.communities, r.localPref)
}

// table returns what the router holds, by prefix.
func (w *wireRouter) table(t *testing.T) map[string]received {
	t.Helper()
	out := map[string]received{}
	for _, afi := range []api.Family_Afi{api.Family_AFI_IP, api.Family_AFI_IP6} {
		err := w.srv.ListPath(context.Background(), &api.ListPathRequest{TableType: api.TableType_GLOBAL, Family: &api.Family{Afi: afi, Safi: api.Family_SAFI_UNICAST}}, func(d *api.Destination) {
			for _, p := range d.Paths {
				attrs, err := apiutil.GetNativePathAttributes(p)
				if err != nil {
					t.Errorf("%s: %v", d.Prefix, err)
					continue
				}
				var r received
				for _, a := range attrs {
					switch a := a.(type) {
					case *bgp.PathAttributeNextHop:
						r.nextHop = a.Value.String()
					case *bgp.PathAttributeMpReachNLRI:
						r.nextHop = a.Nexthop.String()
					case *bgp.PathAttributeCommunities:
						for _, c := range a.Value {
							r.communities = append(r.communities, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
						}
					case *bgp.PathAttributeLargeCommunities:
						for _, c := range a.Values {
							r.communities = append(r.communities, fmt.Sprintf("large:%d:%d:%d", c.ASN, c.LocalData1, c.LocalData2))
						}
					case *bgp.PathAttributeLocalPref:
						r.localPref = strconv.FormatUint(uint64(a.Value), 10)
					}
				}
				slices.Sort(r.communities)
				out[d.Prefix] = r
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// wantTable waits until the router holds exactly want.
func (w *wireRouter) wantTable(t *testing.T, name string, want map[string]received) {
	t.Helper()
	poll.Eventually(t, 20*time.Millisecond, 10*time.Second, "router "+name+" table", func() error {
		got := w.table(t)
		if len(got) != len(want) {
			return fmt.Errorf("holds %v, want %v", got, want)
		}
		for prefix, r := range want {
			g, ok := got[prefix]
			if !ok || g.String() != r.String() {
				return fmt.Errorf("holds %v, want %v", got, want)
			}
		}
		return nil
	})
}

func wirePeer(name, addr string, port uint16, from string, myASN, peerASN uint32) Peer {
	return Peer{Name: name, Address: netip.MustParseAddr(addr), Port: port, SourceAddress: netip.MustParseAddr(from),
		MyASN: myASN, PeerASN: peerASN, HoldTime: 9 * time.Second}
}

// TestPerPeerAttributesOnTheWire: two advertisements of one prefix for two
// routers (PlanFor) give each router exactly its own communities and
// local-pref: router A's no-export and local-pref never reach router B.
// Changes of one router's attributes reach that router and leave the other
// alone.
func TestPerPeerAttributesOnTheWire(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: opens BGP sessions over loopback")
	}
	t.Parallel()
	ctx := context.Background()
	const asn = 64512
	a := newWireRouter(t, "127.0.0.2", "127.0.0.1", asn, asn)
	b := newWireRouter(t, "127.0.0.3", "127.0.0.1", asn, asn)
	s := startSpeaker(t)
	peers := []Peer{wirePeer("a", "127.0.0.2", a.port, "127.0.0.1", asn, asn), wirePeer("b", "127.0.0.3", b.port, "127.0.0.1", asn, asn)}
	if err := s.SetPeers(ctx, peers); err != nil {
		t.Fatal(err)
	}
	lp := func(v uint32) *uint32 { return &v }
	paths := []Path{
		// As PlanFor gives them: one Path per attribute set.
		{Prefix: pfx("198.51.100.1/32"), Communities: []string{"65000:1", "no-export", "65000:1"}, LocalPref: lp(300), Peers: []string{"a"}},
		{Prefix: pfx("198.51.100.1/32"), Communities: []string{"65000:1"}, Peers: []string{"b"}},
		{Prefix: pfx("198.51.100.2/32"), Communities: []string{"65000:1", "no-export"}, LocalPref: lp(300), Peers: []string{"a"}},
		{Prefix: pfx("198.51.100.2/32"), Communities: []string{"65000:1"}, Peers: []string{"b"}},
		{Prefix: pfx("198.51.100.3/32"), Communities: []string{"large:64512:1:2"}, LocalPref: lp(0)}, // every peer
	}
	if err := s.SetPaths(ctx, paths); err != nil {
		t.Fatal(err)
	}
	forA := received{nextHop: "127.0.0.1", communities: []string{"65000:1", "65535:65281"}, localPref: "300"}
	forB := received{nextHop: "127.0.0.1", communities: []string{"65000:1"}, localPref: "100"}
	both := received{nextHop: "127.0.0.1", communities: []string{"large:64512:1:2"}, localPref: "0"}
	a.wantTable(t, "a", map[string]received{"198.51.100.1/32": forA, "198.51.100.2/32": forA, "198.51.100.3/32": both})
	b.wantTable(t, "b", map[string]received{"198.51.100.1/32": forB, "198.51.100.2/32": forB, "198.51.100.3/32": both})

	// B's attributes change for one prefix: B gets them, A keeps its own.
	paths[3].Communities = []string{"65000:2"}
	if err := s.SetPaths(ctx, paths); err != nil {
		t.Fatal(err)
	}
	b.wantTable(t, "b", map[string]received{"198.51.100.1/32": forB, "198.51.100.2/32": {nextHop: "127.0.0.1", communities: []string{"65000:2"}, localPref: "100"}, "198.51.100.3/32": both})
	a.wantTable(t, "a", map[string]received{"198.51.100.1/32": forA, "198.51.100.2/32": forA, "198.51.100.3/32": both})

	// A's advertisement goes: both get B's attribute set from one Path.
	if err := s.SetPaths(ctx, []Path{{Prefix: pfx("198.51.100.1/32"), Communities: []string{"65000:1"}}}); err != nil {
		t.Fatal(err)
	}
	a.wantTable(t, "a", map[string]received{"198.51.100.1/32": forB})
	b.wantTable(t, "b", map[string]received{"198.51.100.1/32": forB})
	// No attribute policy is left over once no path needs one.
	s.mu.Lock()
	defer s.mu.Unlock()
	for addr, f := range s.filters {
		if len(f.attrs) != 1 {
			t.Errorf("peer %s has %d attribute policies, want 1 (65000:1)", addr, len(f.attrs))
		}
	}
}

// TestDualStackNextHopsOnTheWire: a dual-stack peer negotiates both
// families; the other family's paths go out with the node's address of that
// family (from the NextHop finder), never the session's own address; when
// the finder has none, they are not sent and LastError says why; a new or
// moved address reaches the router (soft reset out). (The loss of an
// address, which re-creates the peer, is TestFRR/DualStackOverIPv4's: GoBGP
// as the router refuses a re-created peer for its fixed 5 s idle hold.)
func TestDualStackNextHopsOnTheWire(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: opens BGP sessions over loopback")
	}
	t.Parallel()
	ctx := context.Background()
	r4 := newWireRouter(t, "127.0.0.2", "127.0.0.1", 64513, 64512)
	r6 := newWireRouter(t, "::1", "::1", 64513, 64512)
	v6For4, v4For6 := netip.MustParseAddr("2001:db8:2::1"), netip.Addr{}
	finder := func(p Peer) (netip.Addr, error) {
		a := v6For4
		if p.Address.Is6() {
			a = v4For6
		}
		if !a.IsValid() {
			return a, fmt.Errorf("no global %s address on interface lo", p.otherFamily())
		}
		return a, nil
	}
	s, err := New(ctx, Options{RouterID: netip.MustParseAddr("198.18.2.1"), NextHop: finder})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	p4 := wirePeer("r4", "127.0.0.2", r4.port, "127.0.0.1", 64512, 64513)
	p6 := wirePeer("r6", "::1", r6.port, "::1", 64512, 64513)
	p4.DualStackAddressFamily, p6.DualStackAddressFamily = true, true
	if err := s.SetPeers(ctx, []Peer{p4, p6}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPaths(ctx, []Path{{Prefix: pfx("198.51.100.1/32")}, {Prefix: pfx("2001:db8:51::1/128"), Communities: []string{"65000:6"}}}); err != nil {
		t.Fatal(err)
	}
	v6 := func(nh string) received { return received{nextHop: nh, communities: []string{"65000:6"}} }
	r4.wantTable(t, "r4", map[string]received{"198.51.100.1/32": {nextHop: "127.0.0.1"}, "2001:db8:51::1/128": v6("2001:db8:2::1")})
	r6.wantTable(t, "r6", map[string]received{"2001:db8:51::1/128": v6("::1")})
	if e := session(t, s, "r6").LastError; !strings.Contains(e, "IPv4 paths not sent over this session: no global IPv4 address on interface lo") {
		t.Errorf("r6's LastError = %q, want the reason IPv4 paths are not sent", e)
	}
	if e := session(t, s, "r4").LastError; strings.Contains(e, "not sent") {
		t.Errorf("r4's LastError = %q, want no family problem", e)
	}

	// r4's next hop moves, r6's appears: both routers get them.
	v6For4, v4For6 = netip.MustParseAddr("2001:db8:2::2"), netip.MustParseAddr("192.0.2.1")
	if err := s.SetPeers(ctx, []Peer{p4, p6}); err != nil {
		t.Fatal(err)
	}
	r4.wantTable(t, "r4", map[string]received{"198.51.100.1/32": {nextHop: "127.0.0.1"}, "2001:db8:51::1/128": v6("2001:db8:2::2")})
	r6.wantTable(t, "r6", map[string]received{"198.51.100.1/32": {nextHop: "192.0.2.1"}, "2001:db8:51::1/128": v6("::1")})
	if e := session(t, s, "r6").LastError; strings.Contains(e, "not sent") {
		t.Errorf("r6's LastError = %q after the address came", e)
	}
}

// TestInterfaceNextHop: the default finder looks on the interface holding
// the session's local address; loopback has no global IPv6 address, and the
// error names the interface.
func TestInterfaceNextHop(t *testing.T) {
	p := Peer{Name: "r", Address: netip.MustParseAddr("127.0.0.2"), SourceAddress: netip.MustParseAddr("127.0.0.1"), DualStackAddressFamily: true}
	_, err := InterfaceNextHop(p)
	if err == nil || !strings.Contains(err.Error(), "no global IPv6 address on interface lo") {
		t.Errorf("InterfaceNextHop(%v) = %v, want no global IPv6 address on lo", p, err)
	}
	p.SourceAddress = netip.MustParseAddr("192.0.2.77")
	if _, err := InterfaceNextHop(p); err == nil || !strings.Contains(err.Error(), "on no interface") {
		t.Errorf("a source address nobody holds: %v", err)
	}
	p.SourceAddress = netip.Addr{}
	if _, err := InterfaceNextHop(p); err == nil || !strings.Contains(err.Error(), "interface lo") {
		t.Errorf("without a source address the kernel's choice towards 127.0.0.2 is on lo: %v", err)
	}
}

// TestSessionsCountsOnlyWhenChanged: the prefixes sent to each peer are
// GoBGP's own count, taken again after a change of the paths and only
// then: reading the sessions with nothing changed asks GoBGP for nothing
// costly (BenchmarkSessions).
func TestSessionsCountsOnlyWhenChanged(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: opens BGP sessions over loopback")
	}
	t.Parallel()
	ctx := context.Background()
	const asn = 64512
	a := newWireRouter(t, "127.0.0.2", "127.0.0.1", 64513, asn)
	b := newWireRouter(t, "127.0.0.3", "127.0.0.1", 64513, asn)
	s := startSpeaker(t)
	if err := s.SetPeers(ctx, []Peer{wirePeer("a", "127.0.0.2", a.port, "127.0.0.1", asn, 64513), wirePeer("b", "127.0.0.3", b.port, "127.0.0.1", asn, 64513)}); err != nil {
		t.Fatal(err)
	}
	paths := []Path{{Prefix: pfx("198.51.100.1/32")}, {Prefix: pfx("198.51.100.2/32")}, {Prefix: pfx("198.51.100.3/32"), Peers: []string{"a"}}}
	if err := s.SetPaths(ctx, paths); err != nil {
		t.Fatal(err)
	}
	sent := func() string {
		ss, err := s.Sessions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range ss {
			out = append(out, fmt.Sprintf("%s:%s:%d", x.Peer, x.State, x.PrefixesSent))
		}
		return strings.Join(out, " ")
	}
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "both sessions up, 3 and 2 prefixes sent", func() (bool, string) {
		got := sent()
		return got == "a:Established:3 b:Established:2", got
	})
	times := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.advertised.times
	}
	before := times()
	if err := s.SetPaths(ctx, paths); err != nil { // the same: nothing changes
		t.Fatal(err)
	}
	for range 3 {
		if got := sent(); got != "a:Established:3 b:Established:2" {
			t.Fatalf("sessions %s with nothing changed", got)
		}
	}
	if n := times() - before; n != 0 {
		t.Errorf("GoBGP counted the advertised prefixes %d times with nothing changed; want 0", n)
	}
	if err := s.SetPaths(ctx, paths[:2]); err != nil {
		t.Fatal(err)
	}
	if got := sent(); got != "a:Established:2 b:Established:2" {
		t.Errorf("after withdrawing a's own path: %s, want a:Established:2 b:Established:2", got)
	}
	if n := times() - before; n != 1 {
		t.Errorf("GoBGP counted %d times after one change; want 1", n)
	}
}
