package bgp

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"

	"github.com/pylonlb/pylon/test/poll"
)

func TestNewRejectsBadRouterID(t *testing.T) {
	for _, id := range []string{"", "2001:db8::1"} {
		var a netip.Addr
		if id != "" {
			a = netip.MustParseAddr(id)
		}
		if _, err := New(context.Background(), Options{RouterID: a}); err == nil || !strings.Contains(err.Error(), "router ID") {
			t.Errorf("router ID %q: err = %v, want a router ID error", id, err)
		}
	}
}

func TestSetPathsRefusesBadInput(t *testing.T) {
	s := startSpeaker(t)
	tests := []struct {
		paths []Path
		want  []string // fragments of the error
	}{
		{[]Path{{Prefix: pfx("198.51.100.1/32"), Communities: []string{"65000:70000"}}}, []string{`community "65000:70000"`, "198.51.100.1/32"}},
		{[]Path{{Prefix: pfx("198.51.100.1/32"), Communities: []string{"large:1:2"}}}, []string{`community "large:1:2"`}},
		{[]Path{{Prefix: pfx("198.51.100.1/32"), Communities: []string{"65000:100", "bogus"}}}, []string{`community "bogus"`}},
		{[]Path{{Prefix: netip.PrefixFrom(netip.MustParseAddr("198.51.100.7"), 24)}}, []string{"host bits", "198.51.100.0/24"}},
		{[]Path{{}}, []string{"not an IPv4 or IPv6 prefix"}},
		{[]Path{{Prefix: pfx("198.51.100.1/32")}, {Prefix: pfx("198.51.100.1/32")}}, []string{"198.51.100.1/32 given twice"}},
		{[]Path{{Prefix: pfx("198.51.100.1/32"), Peers: []string{"a"}}, {Prefix: pfx("198.51.100.1/32")}}, []string{"198.51.100.1/32 given twice"}},
		{[]Path{{Prefix: pfx("198.51.100.1/32"), Peers: []string{"a", "b"}}, {Prefix: pfx("198.51.100.1/32"), Peers: []string{"b"}}}, []string{`198.51.100.1/32 given twice for peer "b"`}},
	}
	for _, tc := range tests {
		err := s.SetPaths(context.Background(), tc.paths)
		if !errors.Is(err, ErrInvalidPath) {
			t.Errorf("SetPaths(%v) = %v, want ErrInvalidPath", tc.paths, err)
			continue
		}
		for _, f := range tc.want {
			if !strings.Contains(err.Error(), f) {
				t.Errorf("error %q lacks %q", err, f)
			}
		}
	}
	// A refused list changes nothing.
	if err := s.SetPaths(context.Background(), []Path{{Prefix: pfx("198.51.100.2/32")}}); err != nil {
		t.Fatal(err)
	}
	_ = s.SetPaths(context.Background(), []Path{{Prefix: pfx("198.51.100.3/32"), Communities: []string{"x"}}})
	if got := rib(t, s); len(got) != 1 || got[0] != "198.51.100.2/32" {
		t.Errorf("after a refused SetPaths the table holds %v, want only 198.51.100.2/32", got)
	}
}

// TestTableHoldsNoPerPeerAttributes: communities and local-pref are not on
// the paths in GoBGP's table (each peer's export policy adds its own; the wire
// tests check what routers get), except LOCAL_PREF 0, which no policy can set.
func TestTableHoldsNoPerPeerAttributes(t *testing.T) {
	s := startSpeaker(t)
	lp, zero := uint32(120), uint32(0)
	err := s.SetPaths(context.Background(), []Path{
		{Prefix: pfx("198.51.100.9/32"), Communities: []string{"65000:100", "no-export", "large:4200000000:1:2"}, LocalPref: &lp},
		{Prefix: pfx("198.51.100.10/32"), LocalPref: &zero, Peers: []string{"r1"}},
		{Prefix: pfx("198.51.100.10/32"), Communities: []string{"65000:100"}, Peers: []string{"r2"}},
		{Prefix: pfx("2001:db8:51::9/128")},
	})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, fam := range []api.Family_Afi{api.Family_AFI_IP, api.Family_AFI_IP6} {
		err := s.srv.ListPath(context.Background(), &api.ListPathRequest{TableType: api.TableType_GLOBAL, Family: &api.Family{Afi: fam, Safi: api.Family_SAFI_UNICAST}}, func(d *api.Destination) {
			for _, p := range d.Paths {
				for _, a := range p.Pattrs {
					found = append(found, d.Prefix+" "+a.TypeUrl[strings.LastIndex(a.TypeUrl, ".")+1:]+" "+strings.Join(strings.Fields(a.String()), " "))
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	all := strings.Join(found, "\n")
	for _, want := range []string{"198.51.100.9/32 NextHopAttribute", "198.51.100.10/32 LocalPrefAttribute", "2001:db8:51::9/128 MpReachNLRIAttribute"} {
		if !strings.Contains(all, want) {
			t.Errorf("table lacks %q:\n%s", want, all)
		}
	}
	for _, not := range []string{"CommunitiesAttribute", "LargeCommunitiesAttribute", "198.51.100.9/32 LocalPrefAttribute"} {
		if strings.Contains(all, not) {
			t.Errorf("table holds %q, which belongs in per-peer policies:\n%s", not, all)
		}
	}
}

func TestSetPeersRefusesBadInput(t *testing.T) {
	good := Peer{Name: "r1", Address: netip.MustParseAddr("198.18.2.254"), MyASN: 64512, PeerASN: 64513}
	with := func(f func(*Peer)) Peer { p := good; f(&p); return p }
	tests := []struct {
		peers []Peer
		want  []string
	}{
		{[]Peer{with(func(p *Peer) { p.Name = "" })}, []string{"name is empty"}},
		{[]Peer{with(func(p *Peer) { p.Address = netip.Addr{} })}, []string{`peer "r1"`, "not a usable"}},
		{[]Peer{with(func(p *Peer) { p.PeerASN = 0 })}, []string{"peerASN"}},
		{[]Peer{with(func(p *Peer) { p.SourceAddress = netip.MustParseAddr("2001:db8::1") })}, []string{"not of the family"}},
		{[]Peer{with(func(p *Peer) { p.HoldTime = time.Second })}, []string{"hold time 1s"}},
		{[]Peer{with(func(p *Peer) { p.HoldTime = 9 * time.Second; p.KeepaliveTime = 9 * time.Second })}, []string{"keepalive"}},
		{[]Peer{with(func(p *Peer) { p.MyASN = 64513; p.EBGPMultiHop = true })}, []string{"ebgpMultiHop is for eBGP"}},
		{[]Peer{with(func(p *Peer) { p.Password = strings.Repeat("x", 81) })}, []string{"80 bytes"}},
		{[]Peer{good, good}, []string{`peer "r1"`, "given twice"}},
		{[]Peer{good, with(func(p *Peer) { p.Name = "r2" })}, []string{`peer "r2"`, `also peer "r1"`}},
	}
	s := startSpeaker(t)
	for _, tc := range tests {
		err := s.SetPeers(context.Background(), tc.peers)
		if !errors.Is(err, ErrInvalidPeer) {
			t.Errorf("SetPeers(%v) = %v, want ErrInvalidPeer", tc.peers, err)
			continue
		}
		for _, f := range tc.want {
			if !strings.Contains(err.Error(), f) {
				t.Errorf("error %q lacks %q", err, f)
			}
		}
	}
	t.Run("one bad peer never blocks the others", func(t *testing.T) {
		r2 := with(func(p *Peer) { p.Name, p.Address = "r2", netip.MustParseAddr("2001:db8:18::fe") })
		bad := with(func(p *Peer) { p.Name, p.Address = "r0", netip.IPv4Unspecified() })
		dup := with(func(p *Peer) { p.Name = "r3" }) // r1's address
		err := s.SetPeers(context.Background(), []Peer{bad, dup, r2, good})
		if !errors.Is(err, ErrInvalidPeer) || !strings.Contains(err.Error(), `peer "r0"`) || !strings.Contains(err.Error(), `peer "r3"`) {
			t.Fatalf("SetPeers = %v, want an error naming r0 and r3", err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.peers) != 2 || s.peers["r1"] == nil || s.peers["r2"] == nil {
			t.Fatalf("peers = %v, want r1 and r2 applied", s.peers)
		}
	})
	if strings.Contains(with(func(p *Peer) { p.Password = "hunter2" }).String(), "hunter2") {
		t.Error("Peer.String shows the password")
	}
}

func TestAPIPeer(t *testing.T) {
	s := &Speaker{connectRetry: 2 * time.Second}
	p := s.apiPeer(Peer{Name: "r6", Address: netip.MustParseAddr("2001:db8:2::fe"), Port: 1179, MyASN: 64512, PeerASN: 64513,
		SourceAddress: netip.MustParseAddr("2001:db8:2::1"), HoldTime: 9 * time.Second, EBGPMultiHop: true,
		Password: "pw", GracefulRestart: 30 * time.Second})
	checks := []struct {
		what      string
		got, want any
	}{
		{"neighbor", p.Conf.NeighborAddress, "2001:db8:2::fe"},
		{"local AS", p.Conf.LocalAsn, uint32(64512)},
		{"password", p.Conf.AuthPassword, "pw"},
		{"port", p.Transport.RemotePort, uint32(1179)},
		{"source", p.Transport.LocalAddress, "2001:db8:2::1"},
		{"hold", p.Timers.Config.HoldTime, uint64(9)},
		{"keepalive (hold/3)", p.Timers.Config.KeepaliveInterval, uint64(3)},
		{"connect retry", p.Timers.Config.ConnectRetry, uint64(2)},
		{"idle hold after a reset", p.Timers.Config.IdleHoldTimeAfterReset, uint64(2)},
		{"multihop", p.EbgpMultihop.GetMultihopTtl(), uint32(255)},
		{"graceful restart", p.GracefulRestart.GetRestartTime(), uint32(30)},
		{"notification GR", p.GracefulRestart.GetNotificationEnabled(), true},
		{"family", p.AfiSafis[0].Config.Family.Afi, api.Family_AFI_IP6},
		{"per-family GR", p.AfiSafis[0].GetMpGracefulRestart().GetConfig().GetEnabled(), true},
		{"one family", len(p.AfiSafis), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

// TestAPIPeerDualStack: a dual-stack peer negotiates its own family first,
// then the other one, each with graceful restart when on.
func TestAPIPeerDualStack(t *testing.T) {
	s := &Speaker{connectRetry: 2 * time.Second}
	for _, tc := range []struct {
		addr string
		want []api.Family_Afi
	}{
		{"198.18.2.254", []api.Family_Afi{api.Family_AFI_IP, api.Family_AFI_IP6}},
		{"2001:db8:2::fe", []api.Family_Afi{api.Family_AFI_IP6, api.Family_AFI_IP}},
	} {
		p := s.apiPeer(Peer{Name: "r", Address: netip.MustParseAddr(tc.addr), MyASN: 64512, PeerASN: 64513, GracefulRestart: time.Minute, DualStackAddressFamily: true})
		var got []api.Family_Afi
		for _, af := range p.AfiSafis {
			got = append(got, af.Config.Family.Afi)
			if af.Config.Family.Safi != api.Family_SAFI_UNICAST || !af.Config.Enabled || !af.GetMpGracefulRestart().GetConfig().GetEnabled() {
				t.Errorf("%s: family %v not enabled unicast with graceful restart", tc.addr, af)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: families %v, want %v", tc.addr, got, tc.want)
		}
	}
	if !NeedsReset(Peer{Name: "r"}, Peer{Name: "r", DualStackAddressFamily: true}) {
		t.Error("turning dualStackAddressFamily on must re-create the peer: families are negotiated in OPEN")
	}
}

// TestCloseStopsGoroutines: after Close only GoBGP's event loop is left,
// parked (GoBGP v3 gives it no way out; see doc.go).
func TestCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := New(context.Background(), Options{RouterID: netip.MustParseAddr("198.18.2.1")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// A peer nobody answers for (TEST-NET-1): its connect loop runs.
	if err := s.SetPeers(ctx, []Peer{{Name: "nowhere", Address: netip.MustParseAddr("192.0.2.1"), MyASN: 64512, PeerASN: 64513}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPaths(ctx, []Path{{Prefix: pfx("198.51.100.1/32")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	for _, call := range []error{s.SetPeers(ctx, nil), s.SetPaths(ctx, nil)} {
		if !errors.Is(call, ErrClosed) {
			t.Errorf("call after Close = %v, want ErrClosed", call)
		}
	}
	// Wait up to 3 s for them to end; the check below says what is left.
	_, _ = poll.Until(ctx, 20*time.Millisecond, 3*time.Second, "GoBGP's goroutines to end", func(context.Context) (bool, string, error) {
		return runtime.NumGoroutine() <= before+1, "", nil
	})
	t.Logf("goroutines: %d before New, %d after Close", before, runtime.NumGoroutine())
	if n := runtime.NumGoroutine(); n > before+1 {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, want at most %d (GoBGP's parked event loop):\n%s", n, before+1, buf[:runtime.Stack(buf, true)])
	}
}

func startSpeaker(t testing.TB) *Speaker {
	t.Helper()
	s, err := New(context.Background(), Options{RouterID: netip.MustParseAddr("198.18.2.1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// rib lists the prefixes in the speaker's IPv4 table.
func rib(t *testing.T, s *Speaker) []string {
	t.Helper()
	var out []string
	err := s.srv.ListPath(context.Background(), &api.ListPathRequest{TableType: api.TableType_GLOBAL, Family: &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}}, func(d *api.Destination) {
		out = append(out, d.Prefix)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNeedsReset(t *testing.T) {
	base := Peer{Name: "r1", Address: netip.MustParseAddr("198.18.2.254"), MyASN: 64512, PeerASN: 64513, HoldTime: 9 * time.Second}
	for name, tc := range map[string]struct {
		edit  func(*Peer)
		reset bool
	}{
		"hold time":        {func(p *Peer) { p.HoldTime = 30 * time.Second }, false},
		"keepalive":        {func(p *Peer) { p.KeepaliveTime = time.Second }, false},
		"ebgp multi-hop":   {func(p *Peer) { p.EBGPMultiHop = true }, false},
		"password":         {func(p *Peer) { p.Password = "x" }, true},
		"port":             {func(p *Peer) { p.Port = 1179 }, true},
		"peer ASN":         {func(p *Peer) { p.PeerASN = 64514 }, true},
		"source address":   {func(p *Peer) { p.SourceAddress = netip.MustParseAddr("198.18.2.1") }, true},
		"graceful restart": {func(p *Peer) { p.GracefulRestart = time.Minute }, true},
	} {
		next := base
		tc.edit(&next)
		if got := NeedsReset(base, next); got != tc.reset {
			t.Errorf("%s: NeedsReset = %v, want %v", name, got, tc.reset)
		}
	}
}
