package bfd

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
)

// Options configure Sessions.
type Options struct {
	Log logr.Logger
	// Clock drives the timers; nil is the real clock.
	Clock clock.Clock
	// OnChange is called on every state change of a session, without
	// locks held, from that session's goroutine: in order for one session,
	// possibly concurrently for different ones. A change to AdminDown comes
	// only from Set (the session was removed) or Close. A change to Down
	// with diag DiagNeighborDown and RemoteState AdminDown means the remote
	// shut the session down on purpose: RFC 5882 §3.2 says a client should
	// not take that as a forwarding failure. OnChange may call Status but
	// not Set or Close (they wait for the session's goroutine).
	OnChange func(Change)
}

// Change is one state change of a session.
type Change struct {
	Remote   netip.Addr
	From, To State
	Diag     string // the local diagnostic of the change (Diag* constants)
	At       time.Time
	// Additions to the interface first agreed: the rest of the session's
	// key, and the remote's state as last received.
	Local       netip.Addr
	Multihop    bool
	RemoteState State
}

// Status is the state of one session.
type Status struct {
	Config                Config
	State                 State
	Since                 time.Time // of the last state change (or creation)
	LocalDiag, RemoteDiag string
	RemoteState           State
	// Discriminators: ours, and the remote's (0 until it has sent).
	LocalDiscriminator, RemoteDiscriminator uint32
	// TxInterval is the transmit interval in force, before jitter;
	// DetectTime how long without a packet takes the session Down (0 until
	// the remote's first packet).
	TxInterval, DetectTime time.Duration
	// Packets sent, accepted, and dropped by the reception checks (TTL,
	// RFC 5880 §6.8.6) that came from this session's remote.
	Sent, Received, Dropped uint64
}

// Sessions runs a set of BFD sessions.
type Sessions struct {
	log      logr.Logger
	clock    clock.Clock
	onChange func(Change)

	setMu sync.Mutex // serialises Set and Close

	mu        sync.RWMutex // guards the maps and closed; taken before a session's mu
	sessions  map[key]*session
	byDiscr   map[uint32]*session
	listeners map[listenKey]*listener
	closed    bool

	readers sync.WaitGroup // the listeners' goroutines
}

// New returns an empty set of sessions.
func New(o Options) *Sessions {
	c := o.Clock
	if c == nil {
		c = clock.RealClock{}
	}
	if o.OnChange == nil {
		o.OnChange = func(Change) {}
	}
	return &Sessions{
		log: o.Log, clock: c, onChange: o.OnChange,
		sessions: map[key]*session{}, byDiscr: map[uint32]*session{}, listeners: map[listenKey]*listener{},
	}
}

// ErrClosed is returned by Set after Close.
var ErrClosed = errors.New("bfd: sessions closed")

// Set makes the running sessions exactly cfgs, keyed by (Remote, Local,
// Multihop): an unchanged session keeps running, changed timers, multiplier
// or role are taken in place (with a Poll Sequence when Up, so without a
// flap), a changed Interface re-creates the session, and a session no longer
// wanted sends AdminDown and stops. An invalid Config, a duplicate key or a
// socket that cannot be opened is an error naming the session; the others
// are applied all the same. Errors are joined.
func (s *Sessions) Set(cfgs []Config) error {
	s.setMu.Lock()
	defer s.setMu.Unlock()
	var errs []error
	want := map[key]Config{}
	for _, c := range cfgs {
		if err := c.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		k := c.key()
		if _, dup := want[k]; dup {
			errs = append(errs, fmt.Errorf("bfd session %s: given twice", c))
			continue
		}
		want[k] = c
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	var gone []*session
	for k, sess := range s.sessions {
		if c, ok := want[k]; !ok || c.Interface != sess.cfg.Interface {
			gone = append(gone, s.removeLocked(sess))
		}
	}
	s.mu.Unlock()
	// Stopped outside the lock: a session's last OnChange may call Status.
	stopAll(gone)

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range slices.SortedFunc(maps.Keys(want), compareKeys) {
		c := want[k]
		if sess, ok := s.sessions[k]; ok {
			if sess.cfg != c {
				sess.configure(c)
			}
			continue
		}
		if err := s.addLocked(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func compareKeys(a, b key) int {
	if c := a.remote.Compare(b.remote); c != 0 {
		return c
	}
	if c := a.local.Compare(b.local); c != 0 {
		return c
	}
	switch {
	case a.multihop == b.multihop:
		return 0
	case a.multihop:
		return 1
	}
	return -1
}

// addLocked opens the session's sockets and starts it.
func (s *Sessions) addLocked(c Config) error {
	var discr uint32
	for discr == 0 || s.byDiscr[discr] != nil {
		discr = rand.Uint32()
	}
	l, err := s.listenerLocked(c)
	if err != nil {
		return fmt.Errorf("bfd session %s: %w", c, err)
	}
	conn, err := dialSession(c)
	if err != nil {
		s.releaseLocked(l)
		return fmt.Errorf("bfd session %s: %w", c, err)
	}
	sess := newSession(c, discr, s, conn, l)
	s.sessions[c.key()] = sess
	s.byDiscr[discr] = sess
	go sess.run()
	return nil
}

// removeLocked takes the session out of the maps; the caller stops it.
func (s *Sessions) removeLocked(sess *session) *session {
	delete(s.sessions, sess.cfg.key())
	delete(s.byDiscr, sess.discr)
	s.releaseLocked(sess.listener)
	return sess
}

// stopAll stops sessions in parallel (each sends its AdminDown packets)
// and waits for them.
func stopAll(ss []*session) {
	for _, sess := range ss {
		close(sess.stop)
	}
	for _, sess := range ss {
		<-sess.done
	}
}

// lookup finds the session of a received packet (RFC 5880 §6.8.6): by Your
// Discriminator when it is set, else by the addresses; either way the
// packet's source must be the session's remote and the socket's address
// its local address.
func (s *Sessions) lookup(yourDiscr uint32, src, local netip.Addr, multihop bool) *session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k := key{remote: src.WithZone(""), local: local.WithZone(""), multihop: multihop}
	if yourDiscr == 0 {
		return s.sessions[k]
	}
	sess := s.byDiscr[yourDiscr]
	if sess == nil || sess.cfg.key() != k {
		return nil
	}
	return sess
}

// byAddress finds the session of a dropped packet, to count it.
func (s *Sessions) byAddress(src, local netip.Addr, multihop bool) *session {
	return s.lookup(0, src, local, multihop)
}

// Status returns every session's state, sorted by Remote (then Local,
// single hop first).
func (s *Sessions) Status() []Status {
	s.mu.RLock()
	out := make([]Status, 0, len(s.sessions))
	for _, sess := range s.sessions {
		out = append(out, sess.status())
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Status) int {
		return compareKeys(a.Config.key(), b.Config.key())
	})
	return out
}

// Close sends AdminDown to every remote, closes the sockets and ends the
// goroutines. Set returns ErrClosed afterwards.
func (s *Sessions) Close() error {
	s.setMu.Lock()
	defer s.setMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var gone []*session
	for _, sess := range s.sessions {
		gone = append(gone, s.removeLocked(sess))
	}
	s.mu.Unlock()
	stopAll(gone)
	s.readers.Wait()
	return nil
}
