package bfd

import (
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// adminDownCopies AdminDown packets are sent when a session stops,
// adminDownGap apart, so that one lost packet does not hide it.
const (
	adminDownCopies = 3
	adminDownGap    = 10 * time.Millisecond
)

// session runs one machine: its timers in its own goroutine, its packets
// sent from its own socket; received packets come from a listener.
type session struct {
	owner    *Sessions
	discr    uint32
	cfg      Config // written only under owner.mu and mu
	fixed    Config // the first cfg, for its key fields, which never change
	conn     *net.UDPConn
	dst      *net.UDPAddr
	listener *listener

	mu      sync.Mutex
	m       *machine
	dropped uint64

	wake chan struct{} // a packet or a configuration change arrived
	stop chan struct{} // closed to stop with AdminDown
	done chan struct{} // closed when run returned
}

func newSession(c Config, discr uint32, owner *Sessions, conn *net.UDPConn, l *listener) *session {
	port := PortSingleHop
	if c.Multihop {
		port = PortMultihop
	}
	zone := c.Remote.Zone()
	if zone == "" && c.Remote.Is6() && c.Remote.IsLinkLocalUnicast() {
		zone = c.Interface
	}
	return &session{
		owner: owner, discr: discr, cfg: c, fixed: c, conn: conn, listener: l,
		dst:  &net.UDPAddr{IP: c.Remote.AsSlice(), Zone: zone, Port: port},
		m:    newMachine(c, discr, owner.clock.Now(), rand.Float64),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
}

func (s *session) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// configure takes changed timers, multiplier or role (same key and
// interface). Called with owner.mu held.
func (s *session) configure(c Config) {
	s.mu.Lock()
	s.cfg = c
	s.m.configure(c, s.owner.clock.Now())
	s.mu.Unlock()
	s.poke()
}

// receive hands a packet that passed parse and the lookup to the machine.
func (s *session) receive(p packet) {
	s.mu.Lock()
	s.m.receive(p, s.owner.clock.Now())
	s.mu.Unlock()
	s.poke()
}

func (s *session) drop() {
	s.mu.Lock()
	s.dropped++
	s.mu.Unlock()
}

// run drives the machine's timers until stop is closed, then sends
// AdminDown and closes the socket.
func (s *session) run() {
	defer close(s.done)
	defer s.conn.Close()
	clk := s.owner.clock
	t := clk.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now := clk.Now()
		s.mu.Lock()
		out, next := s.m.advance(now)
		changes := s.m.takeChanges()
		s.mu.Unlock()
		s.send(out...)
		s.report(changes)
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(now), 0)
		}
		if !t.Stop() {
			select {
			case <-t.C():
			default:
			}
		}
		t.Reset(wait)
		select {
		case <-t.C():
		case <-s.wake:
		case <-s.stop:
			s.mu.Lock()
			p, ok := s.m.adminDown(clk.Now())
			changes := s.m.takeChanges()
			s.mu.Unlock()
			for i := 0; ok && i < adminDownCopies; i++ {
				if i > 0 {
					clk.Sleep(adminDownGap)
				}
				s.send(p)
			}
			s.report(changes)
			return
		}
	}
}

func (s *session) send(ps ...packet) {
	var buf [packetLen]byte
	for _, p := range ps {
		if _, err := s.conn.WriteToUDP(p.marshal(buf[:0]), s.dst); err != nil {
			s.owner.log.V(1).Info("bfd packet not sent", "remote", s.fixed.Remote, "error", err.Error())
		}
	}
}

func (s *session) report(ts []transition) {
	for _, t := range ts {
		c := Change{Remote: s.fixed.Remote, Local: s.fixed.Local, Multihop: s.fixed.Multihop,
			From: t.from, To: t.to, Diag: t.diag.String(), At: t.at, RemoteState: t.remoteState}
		s.owner.log.Info("bfd session state changed", "remote", c.Remote, "local", c.Local, "multihop", c.Multihop,
			"from", c.From.String(), "to", c.To.String(), "diag", c.Diag, "remoteState", c.RemoteState.String())
		s.owner.onChange(c)
	}
}

func (s *session) status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.m
	st := Status{
		Config: s.cfg, State: m.state, Since: m.since,
		LocalDiag: m.localDiag.String(), RemoteDiag: m.remoteDiag.String(), RemoteState: m.remoteState,
		LocalDiscriminator: m.localDiscr, RemoteDiscriminator: m.remoteDiscr,
		TxInterval: m.txInterval(), DetectTime: m.detectTime(),
		Sent: m.sent, Received: m.received, Dropped: s.dropped,
	}
	return st
}
