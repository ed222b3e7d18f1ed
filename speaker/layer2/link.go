package layer2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ndp"
)

// link is one interface's responder: its sockets, its owned addresses, the
// gratuitous rounds still due and the probe cursor. Readers take mu for
// reading; SetOwned and the writer take it for writing.
type link struct {
	a    *Announcer
	name string
	ifi  *net.Interface
	mac  net.HardwareAddr

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{}

	mu     sync.RWMutex
	owned  map[netip.Addr]bool
	arp    *arp.Client
	ndp    *ndpConn
	groups map[netip.Addr]int // solicited-node groups joined, by users
	// pending are the gratuitous rounds still to send; order lists the
	// owned addresses sorted, for probing in turn.
	pending   []round
	order     []netip.Addr
	cursor    int
	nextProbe time.Time
	failed    error
	sends     sendLog
}

// round is the next gratuitous round for ip, how many are left, and how
// often the current one met a full send buffer.
type round struct {
	ip    netip.Addr
	left  int
	due   time.Time
	tries int
}

// When a send buffer is full (ENOBUFS: a takeover of thousands of
// addresses at once), the rest of the rounds wait sendBackoff, and a round
// is given up after maxTries attempts.
const (
	sendBackoff = 2 * time.Millisecond
	maxTries    = 100
	// perPass caps the rounds sent under one hold of the lock the readers
	// need.
	perPass = 256
)

func newLink(a *Announcer, ifi *net.Interface) *link {
	l := &link{
		a: a, name: ifi.Name, ifi: ifi, mac: ifi.HardwareAddr,
		kick:   make(chan struct{}, 1),
		owned:  map[netip.Addr]bool{},
		groups: map[netip.Addr]int{},
	}
	l.ctx, l.cancel = context.WithCancel(a.ctx)
	l.wg.Add(1)
	go l.writer()
	return l
}

// set makes the link's owned addresses exactly ips.
func (l *link) set(ips []netip.Addr) error {
	want := make(map[netip.Addr]bool, len(ips))
	for _, ip := range ips {
		want[ip] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for ip := range l.owned {
		if !want[ip] {
			l.release(ip)
		}
	}
	var errs []error
	for _, ip := range sortedAddrs(want) {
		if l.owned[ip] {
			continue
		}
		if err := l.take(ip); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ip, err))
		}
	}
	l.order = sortedAddrs(l.owned)
	l.wake()
	return errors.Join(errs...)
}

// take starts answering for ip and queues its gratuitous burst; mu is held.
func (l *link) take(ip netip.Addr) error {
	if ip.Is4() {
		if l.arp == nil {
			c, err := arp.Dial(l.ifi)
			if err != nil {
				return fmt.Errorf("open ARP socket: %w", err)
			}
			l.arp = c
			l.wg.Add(1)
			go l.readARP(c)
		}
	} else {
		if l.ndp == nil {
			c, err := listenNDP(l.ifi)
			if err != nil {
				return fmt.Errorf("open NDP socket: %w", err)
			}
			l.ndp = c
			l.wg.Add(1)
			go l.readNDP(c)
		}
		group, err := ndp.SolicitedNodeMulticast(ip)
		if err != nil {
			return err
		}
		if l.groups[group] == 0 {
			if err := l.ndp.joinGroup(group); err != nil {
				return fmt.Errorf("join %s: %w", group, err)
			}
		}
		l.groups[group]++
	}
	l.owned[ip] = true
	l.queue(ip)
	return nil
}

// release stops answering for ip; mu is held.
func (l *link) release(ip netip.Addr) {
	delete(l.owned, ip)
	if ip.Is4() || l.ndp == nil {
		return
	}
	group, err := ndp.SolicitedNodeMulticast(ip)
	if err != nil {
		return
	}
	if l.groups[group]--; l.groups[group] <= 0 {
		delete(l.groups, group)
		if err := l.ndp.leaveGroup(group); err != nil {
			// Expected when the interface is going away; not an error then.
			l.a.log.V(1).Info("leaving a multicast group failed", "interface", l.name, "group", group, "reason", err.Error())
		}
	}
}

// queue schedules a gratuitous burst for ip now; mu is held.
func (l *link) queue(ip netip.Addr) {
	if n := l.a.opts.GratuitousCount; n > 0 {
		l.pending = append(l.pending, round{ip: ip, left: n, due: time.Now()})
	}
}

func (l *link) reannounce(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.owned[ip] || l.failed != nil {
		return false
	}
	l.queue(ip)
	l.wake()
	return true
}

func (l *link) addresses() []netip.Addr {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Collect(maps.Keys(l.owned))
}

func (l *link) owns(ip netip.Addr) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.owned[ip]
}

// wake tells the writer that pending or order changed.
func (l *link) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// fail records a broken socket; the next SetOwned reopens the link.
func (l *link) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed == nil {
		l.failed = err
		l.a.log.Error(err, "interface stopped answering", "interface", l.name)
	}
}

// stale says why the link must be reopened, "" when it need not: its
// socket broke, or the interface is gone, was made again or changed MAC.
func (l *link) stale() string {
	if err := l.failure(); err != nil {
		return err.Error()
	}
	ifi, err := net.InterfaceByName(l.name)
	switch {
	case err != nil:
		return err.Error()
	case ifi.Index != l.ifi.Index:
		return fmt.Sprintf("index changed from %d to %d", l.ifi.Index, ifi.Index)
	case !bytes.Equal(ifi.HardwareAddr, l.mac):
		return fmt.Sprintf("MAC changed from %s to %s", l.mac, ifi.HardwareAddr)
	}
	return ""
}

func (l *link) failure() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.failed
}

// close stops the goroutines and closes the sockets.
func (l *link) close() {
	l.cancel()
	l.mu.Lock()
	if l.arp != nil {
		_ = l.arp.Close()
	}
	if l.ndp != nil {
		_ = l.ndp.close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// writer sends the gratuitous rounds when due and probes the owned
// addresses in turn, until the link closes.
func (l *link) writer() {
	defer l.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := l.send(time.Now())
		var fire <-chan time.Time
		if !next.IsZero() {
			timer.Reset(time.Until(next))
			fire = timer.C
		}
		select {
		case <-l.ctx.Done():
			return
		case <-l.kick:
		case <-fire:
		}
	}
}

// send sends what is due at now and returns when to look again (zero:
// nothing scheduled).
func (l *link) send(now time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var next time.Time
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	keep := l.pending[:0]
	full, sent := false, 0
	for _, r := range l.pending {
		switch {
		case !l.owned[r.ip]:
			continue
		case r.due.After(now):
			keep = append(keep, r)
			later(r.due)
			continue
		case full:
			r.due = now.Add(sendBackoff)
			keep = append(keep, r)
			later(r.due)
			continue
		case sent == perPass:
			// Let the readers in; the writer comes straight back.
			keep = append(keep, r)
			later(now)
			continue
		}
		sent++
		err := l.gratuitous(r.ip)
		if errors.Is(err, syscall.ENOBUFS) && r.tries < maxTries {
			full, r.due = true, now.Add(sendBackoff)
			r.tries++
			keep = append(keep, r)
			later(r.due)
			continue
		}
		l.sends.result(l, l.statsFor(r.ip), "gratuitous announcement", r.ip, err)
		r.tries = 0
		if r.left--; r.left > 0 {
			r.due = now.Add(l.a.opts.GratuitousInterval)
			keep = append(keep, r)
			later(r.due)
		}
	}
	clear(l.pending[len(keep):])
	l.pending = keep

	if l.a.opts.ProbeInterval < 0 || len(l.order) == 0 {
		return next
	}
	gap := max(l.a.opts.ProbeInterval/time.Duration(len(l.order)), time.Second/time.Duration(l.a.opts.MaxProbeRate))
	if l.nextProbe.IsZero() {
		l.nextProbe = now.Add(gap)
	}
	if !now.Before(l.nextProbe) {
		l.cursor %= len(l.order)
		l.probe(l.order[l.cursor])
		l.cursor++
		l.nextProbe = now.Add(gap)
	}
	later(l.nextProbe)
	return next
}

func sortedAddrs(m map[netip.Addr]bool) []netip.Addr {
	return slices.SortedFunc(maps.Keys(m), netip.Addr.Compare)
}
