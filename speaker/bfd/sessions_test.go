package bfd

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"golang.org/x/net/ipv4"

	"github.com/pylonlb/pylon/test/poll"
)

// Real sockets on the loopback: each test takes its own 127.x.y.0/24
// addresses, so that tests of other packages binding port 3784 on
// 127.0.0.1 do not collide with it.

func loopback(t testing.TB) (a, b, c netip.Addr) {
	t.Helper()
	x, y := byte(1+rand.IntN(250)), byte(1+rand.IntN(250))
	return netip.AddrFrom4([4]byte{127, x, y, 1}), netip.AddrFrom4([4]byte{127, x, y, 2}), netip.AddrFrom4([4]byte{127, x, y, 3})
}

type recorder struct {
	mu      sync.Mutex
	changes []Change
}

func (r *recorder) on(c Change) {
	r.mu.Lock()
	r.changes = append(r.changes, c)
	r.mu.Unlock()
}

func (r *recorder) all() []Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Change(nil), r.changes...)
}

// waitChange waits for a change matching to and diag ("" for any) and
// returns it.
func (r *recorder) waitChange(t *testing.T, within time.Duration, to State, diag string) Change {
	t.Helper()
	var found Change
	poll.Eventually(t, 5*time.Millisecond, within, fmt.Sprintf("a change to %s (%s)", to, diag), func() error {
		for _, c := range r.all() {
			if c.To == to && (diag == "" || c.Diag == diag) {
				found = c
				return nil
			}
		}
		return fmt.Errorf("changes %+v", r.all())
	})
	return found
}

func newSessions(t *testing.T, r *recorder) *Sessions {
	t.Helper()
	s := New(Options{Log: testr.New(t), OnChange: r.on})
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func sessionCfg(local, remote netip.Addr, tx time.Duration) Config {
	return Config{Local: local, Remote: remote, MinTx: tx, MinRx: tx, Multiplier: 3}
}

func only(t *testing.T, s *Sessions) Status {
	t.Helper()
	st := s.Status()
	if len(st) != 1 {
		t.Fatalf("%d sessions: %+v", len(st), st)
	}
	return st[0]
}

func waitState(t *testing.T, s *Sessions, within time.Duration, want State) {
	t.Helper()
	poll.Eventually(t, 5*time.Millisecond, within, "state "+want.String(), func() error {
		if st := only(t, s); st.State != want {
			return fmt.Errorf("%s (remote %s, received %d, dropped %d)", st.State, st.RemoteState, st.Received, st.Dropped)
		}
		return nil
	})
}

// upPair starts two Sessions talking to each other and waits until both
// are Up.
func upPair(t *testing.T, tx time.Duration) (a, b *Sessions, ra, rb *recorder, addrA, addrB netip.Addr) {
	t.Helper()
	addrA, addrB, _ = loopback(t)
	ra, rb = &recorder{}, &recorder{}
	a, b = newSessions(t, ra), newSessions(t, rb)
	if err := a.Set([]Config{sessionCfg(addrA, addrB, tx)}); err != nil {
		t.Fatal(err)
	}
	if err := b.Set([]Config{sessionCfg(addrB, addrA, tx)}); err != nil {
		t.Fatal(err)
	}
	waitState(t, a, 5*time.Second, Up)
	waitState(t, b, 5*time.Second, Up)
	return a, b, ra, rb, addrA, addrB
}

// TestLoopback: two Sessions over real UDP sockets come Up, take a timer
// change without a flap, and one detects the other's silence.
func TestLoopback(t *testing.T) {
	a, b, ra, rb, _, addrB := upPair(t, 100*time.Millisecond)
	poll.Eventually(t, 5*time.Millisecond, 2*time.Second, "negotiated timers", func() error {
		st := only(t, a)
		if st.TxInterval != 100*time.Millisecond || st.DetectTime != 300*time.Millisecond || st.RemoteDiscriminator == 0 {
			return fmt.Errorf("%+v", st)
		}
		return nil
	})

	// Timer change: A slows down to 200ms; B's Detection Time follows
	// (3 x 200ms) once the Poll Sequence is through, without a flap.
	slow := sessionCfg(only(t, a).Config.Local, addrB, 200*time.Millisecond)
	na, nb := len(ra.all()), len(rb.all())
	if err := a.Set([]Config{slow}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 5*time.Millisecond, 2*time.Second, "new timers", func() error {
		sa, sb := only(t, a), only(t, b)
		if sa.TxInterval != 200*time.Millisecond || sb.DetectTime != 600*time.Millisecond {
			return fmt.Errorf("A sends every %v, B detects in %v", sa.TxInterval, sb.DetectTime)
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	if ca, cb := ra.all(), rb.all(); len(ca) != na || len(cb) != nb {
		t.Errorf("the timer change changed states: A %+v, B %+v", ca[na:], cb[nb:])
	}
	if st := only(t, a); st.Config != slow || st.State != Up {
		t.Errorf("A runs %+v", st)
	}

	// B loses its network (its sending socket closed, nothing said): A
	// detects it after 3 x 200 ms (B's TX is 100 ms, A's RX 200 ms).
	b.mu.RLock()
	for _, sess := range b.sessions {
		_ = sess.conn.Close()
	}
	b.mu.RUnlock()
	stopped := time.Now()
	c := ra.waitChange(t, 5*time.Second, Down, DiagDetectionExpired)
	took := c.At.Sub(stopped)
	t.Logf("detection of a silent peer with 200ms x 3: %v", took)
	if took < 400*time.Millisecond {
		t.Errorf("detected after %v, before the Detection Time of 600ms could pass", took)
	}
	if c.From != Up || c.Remote != addrB {
		t.Errorf("change %+v", c)
	}
}

// TestLoopbackAdminDown: removing a session or closing tells the remote
// (AdminDown: Down with diag 3 there, not a detection timeout), and the
// goroutines end.
func TestLoopbackAdminDown(t *testing.T) {
	base := runtime.NumGoroutine()
	a, b, ra, rb, addrA, addrB := upPair(t, 200*time.Millisecond)

	start := time.Now()
	if err := b.Set(nil); err != nil {
		t.Fatal(err)
	}
	c := ra.waitChange(t, 5*time.Second, Down, "")
	if c.Diag != DiagNeighborDown || c.RemoteState != AdminDown {
		t.Errorf("A's change %+v, want Down with diag %q after the remote's AdminDown", c, DiagNeighborDown)
	}
	if took := c.At.Sub(start); took > 500*time.Millisecond {
		t.Errorf("AdminDown took %v to arrive; the Detection Time is 600ms, so it was not what brought A down", took)
	}
	if got := rb.waitChange(t, time.Second, AdminDown, DiagAdminDown); got.From != Up {
		t.Errorf("B's own change %+v, want Up->AdminDown", got)
	}
	if len(b.Status()) != 0 {
		t.Errorf("B still has %+v", b.Status())
	}

	// Back again, then Close.
	if err := b.Set([]Config{sessionCfg(addrB, addrA, 200*time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	waitState(t, a, 5*time.Second, Up)
	n := len(ra.all())
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 5*time.Millisecond, time.Second, "AdminDown on Close", func() error {
		cs := ra.all()
		if len(cs) > n && cs[n].To == Down && cs[n].RemoteState == AdminDown {
			return nil
		}
		return fmt.Errorf("A's changes since: %+v", cs[n:])
	})
	if err := b.Set(nil); err != ErrClosed {
		t.Errorf("Set after Close: %v, want ErrClosed", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 5*time.Millisecond, 2*time.Second, "goroutines ended", func() error {
		if n := runtime.NumGoroutine(); n > base {
			return fmt.Errorf("%d goroutines, %d before", n, base)
		}
		return nil
	})
}

// TestGTSM: a single-hop session drops a packet received with a TTL below
// 255 (RFC 5881 §5) and takes the same packet with 255; a multihop
// session takes it with any TTL; a packet from another address is for no
// session.
func TestGTSM(t *testing.T) {
	local, remote, stranger := loopback(t)
	s := newSessions(t, &recorder{})
	single := Config{Local: local, Remote: remote, MinTx: time.Second, MinRx: time.Second, Multiplier: 3, Passive: true}
	multi := single
	multi.Multihop = true
	if err := s.Set([]Config{single, multi}); err != nil {
		t.Fatal(err)
	}
	down := packet{State: Down, DetectMult: 3, MyDiscr: 77, DesiredMinTx: 1e6, RequiredMinRx: 1e6}
	// The remote's end: what do the sessions send, to which port, from
	// which port, with which TTL?
	listen := func(port int) *ipv4.PacketConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: remote.AsSlice(), Port: port})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		p := ipv4.NewPacketConn(c)
		if err := p.SetControlMessage(ipv4.FlagTTL, true); err != nil {
			t.Fatal(err)
		}
		return p
	}
	remoteSingle, remoteMulti := listen(PortSingleHop), listen(PortMultihop)
	expect := func(c *ipv4.PacketConn, want State) {
		t.Helper()
		buf := make([]byte, 100)
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, cm, src, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("nothing received on %v: %v", c.LocalAddr(), err)
		}
		p, err := parse(buf[:n])
		ua := src.(*net.UDPAddr)
		if err != nil || p.State != want || p.YourDiscr != 77 || cm == nil || cm.TTL != 255 || ua.Port < 49152 || !ua.IP.Equal(local.AsSlice()) {
			t.Errorf("on %v: %+v (%v) from %v with %+v; want %s to discriminator 77, TTL 255, from %s port 49152-65535",
				c.LocalAddr(), p, err, src, cm, want, local)
		}
	}
	send := func(from netip.Addr, port, ttl int, p packet) {
		t.Helper()
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: from.AsSlice()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := ipv4.NewConn(c).SetTTL(ttl); err != nil {
			t.Fatal(err)
		}
		if _, err := c.WriteToUDP(p.marshal(nil), &net.UDPAddr{IP: local.AsSlice(), Port: port}); err != nil {
			t.Fatal(err)
		}
	}
	status := func(multihop bool) Status {
		for _, st := range s.Status() {
			if st.Config.Multihop == multihop {
				return st
			}
		}
		t.Fatalf("no session with multihop %v", multihop)
		return Status{}
	}
	counters := func(multihop bool, state State, received, dropped uint64) func() error {
		return func() error {
			st := status(multihop)
			if st.State != state || st.Received != received || st.Dropped != dropped {
				return fmt.Errorf("%s, received %d, dropped %d", st.State, st.Received, st.Dropped)
			}
			return nil
		}
	}

	send(remote, PortSingleHop, 64, down)
	poll.Eventually(t, 5*time.Millisecond, 2*time.Second, "single hop, TTL 64 dropped", counters(false, Down, 0, 1))
	send(stranger, PortSingleHop, 255, down)
	send(remote, PortSingleHop, 255, down)
	poll.Eventually(t, 5*time.Millisecond, 2*time.Second, "single hop, TTL 255 taken", counters(false, Init, 1, 1))
	expect(remoteSingle, Init)
	send(remote, PortMultihop, 64, down)
	poll.Eventually(t, 5*time.Millisecond, 2*time.Second, "multihop, TTL 64 taken", counters(true, Init, 1, 0))
	expect(remoteMulti, Init)
	// A stranger knowing the discriminator: still not the session's
	// remote. (The TTL-64 packet after it is dropped and counted: once it
	// is, the stranger's packet before it on the same socket was handled.)
	init := down
	init.State, init.YourDiscr = Init, status(false).LocalDiscriminator
	send(stranger, PortSingleHop, 255, init)
	send(remote, PortSingleHop, 64, down)
	poll.Eventually(t, 5*time.Millisecond, 2*time.Second, "the stranger's packets ignored", counters(false, Init, 1, 2))
}

// TestSetErrors: each bad Config is an error naming its field; the good
// ones run all the same.
func TestSetErrors(t *testing.T) {
	local, remote, other := loopback(t)
	good := sessionCfg(local, remote, time.Second)
	bad := func(f func(*Config)) Config {
		c := sessionCfg(local, other, time.Second)
		f(&c)
		return c
	}
	for _, c := range []struct {
		cfg   Config
		field string
	}{
		{bad(func(c *Config) { c.Remote = netip.Addr{} }), "Remote: not an address"},
		{bad(func(c *Config) { c.Local = netip.Addr{} }), "Local: not an address"},
		{bad(func(c *Config) { c.Remote = netip.MustParseAddr("224.0.0.5") }), "Remote: 224.0.0.5 is not a unicast"},
		{bad(func(c *Config) { c.Local = netip.MustParseAddr("0.0.0.0") }), "Local: 0.0.0.0 is not a unicast"},
		{bad(func(c *Config) { c.Remote = netip.MustParseAddr("::ffff:127.0.0.9") }), "Remote: ::ffff:127.0.0.9 is an IPv4-mapped"},
		{bad(func(c *Config) { c.Remote = netip.MustParseAddr("2001:db8::1") }), "Local: " + local.String() + " is not of the address family"},
		{bad(func(c *Config) { c.MinTx = 5 * time.Millisecond }), "MinTx: 5ms is out of range"},
		{bad(func(c *Config) { c.MinRx = 2 * time.Minute }), "MinRx: 2m0s is out of range"},
		{bad(func(c *Config) { c.Multiplier = 0 }), "Multiplier: 0"},
		{bad(func(c *Config) {
			c.Local, c.Remote = netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2")
		}), "Interface: needed for a link-local address"},
		{bad(func(c *Config) { c.Local = netip.MustParseAddr("198.51.100.77") }), "listen"},
		{good, "given twice"},
	} {
		s := newSessions(t, &recorder{})
		err := s.Set([]Config{good, c.cfg})
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%+v: error %v, want one naming %q", c.cfg, err, c.field)
		}
		if st := s.Status(); len(st) != 1 || st[0].Config != good {
			t.Errorf("%+v: the good session did not start beside it: %+v", c.cfg, st)
		}
		_ = s.Close() // frees the port for the next row
	}
}

// TestIPv6Loopback: a session with ::1 at both ends talks to itself over
// IPv6 sockets (Hop Limit 255 sent and checked) and comes Up.
func TestIPv6Loopback(t *testing.T) {
	s := newSessions(t, &recorder{})
	lo := netip.IPv6Loopback()
	if err := s.Set([]Config{sessionCfg(lo, lo, 50*time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, 5*time.Second, Up)
	if st := only(t, s); st.RemoteDiscriminator != st.LocalDiscriminator || st.Dropped != 0 {
		t.Errorf("%+v", st)
	}
}

// TestInterfaceChange: unchanged sessions keep running (same
// discriminator); a changed Interface re-creates the session, bound to the
// interface, and it comes Up again.
func TestInterfaceChange(t *testing.T) {
	a, _, _, rb, addrA, addrB := upPair(t, 100*time.Millisecond)
	before := only(t, a)
	if err := a.Set([]Config{sessionCfg(addrA, addrB, 100*time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if st := only(t, a); st.LocalDiscriminator != before.LocalDiscriminator || st.State != Up {
		t.Fatalf("an unchanged Set touched the session: %+v, was %+v", st, before)
	}
	bound := sessionCfg(addrA, addrB, 100*time.Millisecond)
	bound.Interface = "lo"
	if err := a.Set([]Config{bound}); err != nil {
		t.Fatal(err)
	}
	if st := only(t, a); st.LocalDiscriminator == before.LocalDiscriminator || st.Config != bound {
		t.Fatalf("after an interface change: %+v; want a new session", st)
	}
	waitState(t, a, 5*time.Second, Up)
	if c := rb.waitChange(t, time.Second, Down, DiagNeighborDown); c.RemoteState != AdminDown {
		t.Errorf("B saw %+v, want the old session's AdminDown", c)
	}
}
