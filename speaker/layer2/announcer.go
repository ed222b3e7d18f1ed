package layer2

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
)

// Defaults for Options' zero values.
const (
	DefaultGratuitousCount    = 3
	DefaultGratuitousInterval = 250 * time.Millisecond
	DefaultProbeInterval      = 10 * time.Second
	DefaultMaxProbeRate       = 50
	// ConflictBuffer is how many conflict reports wait for OnConflict.
	ConflictBuffer = 256
)

// Options tune an Announcer. The zero value gives the defaults.
type Options struct {
	// GratuitousCount is how many rounds of gratuitous ARP (a request and a
	// reply) or unsolicited neighbour advertisements go out when the node
	// takes an address on an interface: 0 means DefaultGratuitousCount,
	// negative means none.
	GratuitousCount int
	// GratuitousInterval separates the rounds: 0 means
	// DefaultGratuitousInterval.
	GratuitousInterval time.Duration
	// ProbeInterval is how long one round of conflict probes over an
	// interface's owned addresses takes: each address in turn is asked for
	// (an ARP request from 0.0.0.0, a neighbour solicitation), and an
	// answer from another MAC is a conflict. 0 means DefaultProbeInterval,
	// negative turns probing off.
	ProbeInterval time.Duration
	// MaxProbeRate caps probes per second per interface, stretching the
	// round when many addresses are owned: 0 means DefaultMaxProbeRate.
	MaxProbeRate int
	// OnConflict, when set, is called for every packet in which another
	// MAC claims an owned address; debouncing is the caller's job. Calls
	// come one at a time from a goroutine of the Announcer's own, never
	// from inside SetOwned, so the callback may take the caller's locks
	// and call the Announcer, Close excepted (Close waits for it). Up to
	// ConflictBuffer reports wait for it;
	// more are dropped (the Conflicts counters still count them).
	OnConflict func(Conflict)
}

func (o Options) withDefaults() Options {
	if o.GratuitousCount == 0 {
		o.GratuitousCount = DefaultGratuitousCount
	}
	if o.GratuitousInterval <= 0 {
		o.GratuitousInterval = DefaultGratuitousInterval
	}
	if o.ProbeInterval == 0 {
		o.ProbeInterval = DefaultProbeInterval
	}
	if o.MaxProbeRate <= 0 {
		o.MaxProbeRate = DefaultMaxProbeRate
	}
	return o
}

// ErrClosed is returned by SetOwned after Close.
var ErrClosed = errors.New("layer2: announcer closed")

// InterfaceError is a failure on one interface; SetOwned joins them.
type InterfaceError struct {
	Interface string
	Err       error
}

func (e *InterfaceError) Error() string { return fmt.Sprintf("interface %q: %v", e.Interface, e.Err) }

func (e *InterfaceError) Unwrap() error { return e.Err }

// Announcer answers ARP and NDP for the addresses this node owns, on the
// interfaces it is told, with each interface's own MAC. It is safe for
// concurrent use.
type Announcer struct {
	opts   Options
	log    logr.Logger
	ctx    context.Context
	cancel context.CancelFunc
	stop   func() bool
	stats  struct{ arp, ndp counters }
	// macs holds the hardware addresses of every open link, as strings:
	// packets from them are this node's own, never conflicts.
	macs atomic.Pointer[map[string]bool]
	// reports carry conflicts to OnConflict's goroutine, which closes
	// dispatched when it returns.
	reports    chan Conflict
	dispatched chan struct{}

	mu     sync.Mutex
	links  map[string]*link
	closed bool
}

// New returns an Announcer that owns nothing yet. It stops, as Close does,
// when ctx is done; its logger comes from ctx.
func New(ctx context.Context, opts Options) *Announcer {
	a := &Announcer{
		opts:  opts.withDefaults(),
		log:   logr.FromContextOrDiscard(ctx).WithName("layer2"),
		links: map[string]*link{},
	}
	a.ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	a.macs.Store(&map[string]bool{})
	a.reports, a.dispatched = make(chan Conflict, ConflictBuffer), make(chan struct{})
	go a.dispatch()
	a.stop = context.AfterFunc(ctx, func() { _ = a.Close() })
	return a
}

// dispatch hands conflict reports to OnConflict until the Announcer closes.
func (a *Announcer) dispatch() {
	defer close(a.dispatched)
	for {
		select {
		case <-a.ctx.Done():
			return
		case c := <-a.reports:
			if a.opts.OnConflict != nil {
				a.opts.OnConflict(c)
			}
		}
	}
}

// SetOwned makes the announced addresses exactly owned: each address maps
// to the interfaces it is answered on. Pairs new since the last call are
// announced with a gratuitous burst; pairs already announced are left
// alone, so calling SetOwned again with the same map (a resync) sends
// nothing. An interface's ARP or NDP socket opens with its first address
// of that family and closes when the interface has no address left.
//
// Failures name their interface (InterfaceError, joined); the pairs that
// failed are not announced, and the next call tries them again. An
// interface whose socket broke, or that was made again (new index) or
// changed its MAC since the last call, is reopened, and its addresses are
// announced afresh.
func (a *Announcer) SetOwned(owned map[netip.Addr][]string) error {
	want := map[string][]netip.Addr{}
	var errs []error
	for ip, ifaces := range owned {
		if !ip.IsValid() {
			errs = append(errs, errors.New("invalid address"))
			continue
		}
		ip = ip.Unmap().WithZone("")
		for _, name := range ifaces {
			want[name] = append(want[name], ip)
		}
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return ErrClosed
	}
	for name, l := range a.links {
		if _, wanted := want[name]; wanted {
			why := l.stale()
			if why == "" {
				continue
			}
			a.log.Info("reopening interface", "interface", name, "reason", why)
		}
		l.close()
		delete(a.links, name)
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		l := a.links[name]
		if l == nil {
			var err error
			if l, err = a.open(name); err != nil {
				errs = append(errs, &InterfaceError{Interface: name, Err: err})
				continue
			}
			a.links[name] = l
		}
		if err := l.set(want[name]); err != nil {
			errs = append(errs, &InterfaceError{Interface: name, Err: err})
		}
	}
	a.refreshMACs()
	return errors.Join(errs...)
}

// Reannounce sends a fresh gratuitous burst for ip on every interface it is
// announced on, for instance to win clients back after a conflict. It
// reports whether ip is announced anywhere.
func (a *Announcer) Reannounce(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	a.mu.Lock()
	defer a.mu.Unlock()
	found := false
	for _, l := range a.links {
		if l.reannounce(ip) {
			found = true
		}
	}
	return found
}

// Announced returns what is being answered for now: each address and its
// interfaces, sorted. Interfaces whose socket broke are left out.
func (a *Announcer) Announced() map[netip.Addr][]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[netip.Addr][]string{}
	for name, l := range a.links {
		if l.failure() != nil {
			continue
		}
		for _, ip := range l.addresses() {
			out[ip] = append(out[ip], name)
		}
	}
	for _, ifaces := range out {
		slices.Sort(ifaces)
	}
	return out
}

// Stats returns the counters since New.
func (a *Announcer) Stats() Stats {
	return Stats{ARP: a.stats.arp.snapshot(), NDP: a.stats.ndp.snapshot()}
}

// Close stops answering on every interface, closes the sockets and waits for
// every goroutine to return, OnConflict's last call included. It is safe to
// call more than once.
func (a *Announcer) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		<-a.dispatched
		return nil
	}
	a.closed = true
	a.stop()
	a.cancel()
	for name, l := range a.links {
		l.close()
		delete(a.links, name)
	}
	a.refreshMACs()
	// Unlocked first: a running OnConflict may be calling SetOwned.
	a.mu.Unlock()
	<-a.dispatched
	return nil
}

// open looks the interface up and starts its writer; sockets open later,
// with the first address of each family.
func (a *Announcer) open(name string) (*link, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, err
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("no Ethernet address (hardware address %q)", ifi.HardwareAddr)
	}
	return newLink(a, ifi), nil
}

// refreshMACs records the MACs of the open links; a.mu must be held.
func (a *Announcer) refreshMACs() {
	macs := make(map[string]bool, len(a.links))
	for _, l := range a.links {
		macs[string(l.mac)] = true
	}
	a.macs.Store(&macs)
}

// ownMAC reports whether mac belongs to one of this node's open links.
func (a *Announcer) ownMAC(mac net.HardwareAddr) bool {
	return (*a.macs.Load())[string(mac)]
}

// conflict counts and reports a conflicting packet.
func (a *Announcer) conflict(c Conflict) {
	if c.Protocol == ARP {
		a.stats.arp.conflicts.Add(1)
	} else {
		a.stats.ndp.conflicts.Add(1)
	}
	a.log.V(1).Info("another MAC claims an owned address", "ip", c.IP, "interface", c.Interface, "mac", c.MAC.String(), "kind", c.Kind)
	if a.opts.OnConflict == nil {
		return
	}
	select {
	case a.reports <- c:
	default:
		a.log.V(1).Info("conflict report dropped, OnConflict is behind", "ip", c.IP, "interface", c.Interface)
	}
}
