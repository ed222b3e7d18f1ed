package membership

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// traffic counts one member's memberlist bytes at its transport, both
// directions: UDP (probes, acks, indirect probes, gossip) and TCP
// (push/pull state exchanges, joins, the fallback probe).
type traffic struct {
	udpOut, udpIn, tcpOut, tcpIn atomic.Int64
}

// counted is what a traffic counted up to a moment.
type counted struct{ udpOut, udpIn, tcpOut, tcpIn int64 }

func (t *traffic) now() counted {
	return counted{t.udpOut.Load(), t.udpIn.Load(), t.tcpOut.Load(), t.tcpIn.Load()}
}

func (c counted) minus(o counted) counted {
	return counted{c.udpOut - o.udpOut, c.udpIn - o.udpIn, c.tcpOut - o.tcpOut, c.tcpIn - o.tcpIn}
}

func (c counted) total() int64 { return c.udpOut + c.udpIn + c.tcpOut + c.tcpIn }

// transport is startWith's transport: memberlist's own NetTransport, bound as
// memberlist would bind it, with every byte counted in t.
func (t *traffic) transport(mc *memberlist.Config) (memberlist.Transport, error) {
	nc := &memberlist.NetTransportConfig{BindAddrs: []string{mc.BindAddr}, BindPort: mc.BindPort, Logger: mc.Logger}
	nt, err := memberlist.NewNetTransport(nc)
	// Port 0 binds TCP first, then UDP on the same port, which another
	// member may have taken meanwhile: memberlist retries too.
	for try := 0; err != nil && mc.BindPort == 0 && try < 10; try++ {
		nt, err = memberlist.NewNetTransport(nc)
	}
	if err != nil {
		return nil, err
	}
	if mc.BindPort == 0 {
		mc.BindPort, mc.AdvertisePort = nt.GetAutoBindPort(), nt.GetAutoBindPort()
	}
	c := &countedTransport{NetTransport: nt, t: t,
		packets: make(chan *memberlist.Packet), streams: make(chan net.Conn), stop: make(chan struct{})}
	c.relays.Add(2)
	go c.relayPackets()
	go c.relayStreams()
	return c, nil
}

// countedTransport is a NetTransport whose bytes are counted: writes and
// dials on the way out, packets and accepted connections on the way in
// (relayed from the NetTransport's channels).
type countedTransport struct {
	*memberlist.NetTransport
	t       *traffic
	packets chan *memberlist.Packet
	streams chan net.Conn
	stop    chan struct{}
	relays  sync.WaitGroup
}

func (c *countedTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return c.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (c *countedTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	at, err := c.NetTransport.WriteToAddress(b, a)
	if err == nil {
		c.t.udpOut.Add(int64(len(b)))
	}
	return at, err
}

func (c *countedTransport) PacketCh() <-chan *memberlist.Packet { return c.packets }

func (c *countedTransport) StreamCh() <-chan net.Conn { return c.streams }

func (c *countedTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return c.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (c *countedTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	conn, err := c.NetTransport.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: conn, t: c.t}, nil
}

func (c *countedTransport) Shutdown() error {
	err := c.NetTransport.Shutdown()
	close(c.stop)
	c.relays.Wait()
	return err
}

func (c *countedTransport) relayPackets() {
	defer c.relays.Done()
	for {
		select {
		case p := <-c.NetTransport.PacketCh():
			c.t.udpIn.Add(int64(len(p.Buf)))
			select {
			case c.packets <- p:
			case <-c.stop:
				return
			}
		case <-c.stop:
			return
		}
	}
}

func (c *countedTransport) relayStreams() {
	defer c.relays.Done()
	for {
		select {
		case conn := <-c.NetTransport.StreamCh():
			select {
			case c.streams <- &countedConn{Conn: conn, t: c.t}:
			case <-c.stop:
				_ = conn.Close()
				return
			}
		case <-c.stop:
			return
		}
	}
}

// countedConn is one TCP connection of a member, dialed or accepted.
type countedConn struct {
	net.Conn
	t *traffic
}

func (c *countedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.t.tcpIn.Add(int64(n))
	return n, err
}

func (c *countedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.t.tcpOut.Add(int64(n))
	return n, err
}

// alarms reads every member's memberlist log (Config.LogOutput) and counts
// what tells of a member taken for failed: a prober suspecting a member
// after its direct and indirect probes went unanswered, a suspected member
// refuting it, a member declaring another dead when the suspicion ran
// out, and direct probes that went unanswered (near misses: the indirect
// probes may still have reached the member). Lines about the member the
// caller expects to fail (expect) are counted apart, and refutations only
// while none is expected (a member started again refutes its old death).
type alarms struct {
	mu sync.Mutex
	// tee, when not nil, gets every line too.
	tee io.Writer
	// expect is the member being killed; "" when none is.
	expect string
	// suspected and dead count suspicions and deaths of live members
	// (false alarms), expected of the expected one.
	suspected, dead, expected int
	refuted, missed           int
}

// Write takes one log line (a log.Logger writes each line in one call).
func (a *alarms) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	line := string(p)
	if a.tee != nil {
		_, _ = a.tee.Write(p)
	}
	// about returns the member named in line between before and after.
	about := func(before, after string) (string, bool) {
		_, rest, ok := strings.Cut(line, before)
		if !ok {
			return "", false
		}
		name, _, ok := strings.Cut(rest, after)
		return name, ok
	}
	if name, ok := about("memberlist: Suspect ", " has failed"); ok {
		a.count(name, &a.suspected)
	} else if name, ok := about("memberlist: Marking ", " as failed"); ok {
		a.count(name, &a.dead)
	} else if name, ok := about("memberlist: Failed UDP ping: ", " (timeout reached)"); ok && name != a.expect {
		a.missed++
	} else if a.expect == "" && (strings.Contains(line, "memberlist: Refuting a suspect message") || strings.Contains(line, "memberlist: Refuting a dead message")) {
		a.refuted++
	}
	return len(p), nil
}

// count counts a suspicion or death of name in n, unless it was expected.
func (a *alarms) count(name string, n *int) {
	if name == a.expect {
		a.expected++
		return
	}
	*n++
}

// expecting sets the member whose failure is expected ("" for none).
func (a *alarms) expecting(name string) {
	a.mu.Lock()
	a.expect = name
	a.mu.Unlock()
}

// tally is what alarms counted up to a moment.
type tally struct{ suspected, dead, refuted, missed int }

func (t tally) minus(o tally) tally {
	return tally{t.suspected - o.suspected, t.dead - o.dead, t.refuted - o.refuted, t.missed - o.missed}
}

func (t tally) String() string {
	return fmt.Sprintf("%d false suspicions, %d false deaths, %d refutations, %d missed probes", t.suspected, t.dead, t.refuted, t.missed)
}

// seen returns the false suspicions and deaths, refutations and near
// misses so far.
func (a *alarms) seen() tally {
	a.mu.Lock()
	defer a.mu.Unlock()
	return tally{a.suspected, a.dead, a.refuted, a.missed}
}
