package e2e

import (
	"context"
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
