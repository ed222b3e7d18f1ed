package e2e

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pylonlb/pylon/test/lab"
)

// arpWatchEvery is the pause between two ARP probes of one of an
// arpWatcher's loops.
const arpWatchEvery = 50 * time.Millisecond

// arpProbe is one ARP request from the local client: when it went out and
// came back, which nodes answered (or why it could not ask), and, when the
// watcher has one, its context just before and just after.
type arpProbe struct {
	start, end    time.Time
	who           []string
	err           error
	before, after map[string]bool
}

// arpWatcher asks who answers ARP for one address from the local client,
// in loops of one probe after the other, until stopped.
type arpWatcher struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	probes []arpProbe
}

// watchARP starts an arpWatcher for ip with loops probing at once (a probe
// takes about 300 ms: more loops watch more closely), staggered. around,
// when not nil, is read just before and just after every probe (the nodes
// with a ready endpoint, say) so that a probe's answer can be judged
// against what held while it ran.
func watchARP(ctx context.Context, l *lab.Lab, ip netip.Addr, loops int, around func(context.Context) map[string]bool) *arpWatcher {
	ctx, cancel := context.WithCancel(ctx)
	w := &arpWatcher{cancel: cancel}
	for i := range loops {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(i) * 100 * time.Millisecond):
			}
			for ctx.Err() == nil {
				var p arpProbe
				if around != nil {
					p.before = around(ctx)
				}
				p.start = time.Now()
				macs, err := l.LocalClient.WhoHas(ctx, ip, 300*time.Millisecond)
				p.end, p.err = time.Now(), err
				for _, m := range macs {
					p.who = append(p.who, nodeName(l, m))
				}
				if around != nil {
					p.after = around(ctx)
				}
				if ctx.Err() != nil {
					return
				}
				w.mu.Lock()
				w.probes = append(w.probes, p)
				w.mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(arpWatchEvery):
				}
			}
		}()
	}
	return w
}

// stop ends the watch and returns its probes, in the order they started.
func (w *arpWatcher) stop() []arpProbe {
	w.cancel()
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	slices.SortFunc(w.probes, func(a, b arpProbe) int { return a.start.Compare(b.start) })
	return slices.Clone(w.probes)
}

// neighWatchEvery is how often a neighWatcher reads the client's table.
const neighWatchEvery = 20 * time.Millisecond

// neighWatcher reads the local client's neighbour table every
// neighWatchEvery until stopped and counts, per address, the reads that
// show each node's MAC for it: where the client sends its traffic, moved
// by the ARP answers and the gratuitous ARP it takes in.
type neighWatcher struct {
	cancel context.CancelFunc
	done   chan struct{}
	reads  int
	errs   int
	seen   map[netip.Addr]map[string]int
}

// watchNeighbours starts a neighWatcher for ips.
func watchNeighbours(ctx context.Context, l *lab.Lab, ips ...netip.Addr) *neighWatcher {
	ctx, cancel := context.WithCancel(ctx)
	w := &neighWatcher{cancel: cancel, done: make(chan struct{}), seen: map[netip.Addr]map[string]int{}}
	for _, ip := range ips {
		w.seen[ip] = map[string]int{}
	}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(neighWatchEvery)
		defer tick.Stop()
		for {
			out, err := l.LocalClient.Run(ctx, "ip", "-j", "neigh", "show")
			var entries []struct {
				Dst    string `json:"dst"`
				LLAddr string `json:"lladdr"`
			}
			if err == nil {
				err = json.Unmarshal(out, &entries)
			}
			if ctx.Err() != nil {
				return
			}
			w.reads++
			if err != nil {
				w.errs++
			}
			for _, e := range entries {
				ip, err1 := netip.ParseAddr(e.Dst)
				mac, err2 := net.ParseMAC(e.LLAddr)
				if err1 != nil || err2 != nil || w.seen[ip] == nil {
					continue
				}
				w.seen[ip][nodeName(l, mac)]++
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// stop ends the watch and returns, per address, how many reads showed
// each node's MAC, and how many reads there were and failed.
func (w *neighWatcher) stop() (seen map[netip.Addr]map[string]int, reads, errs int) {
	w.cancel()
	<-w.done
	return w.seen, w.reads, w.errs
}
