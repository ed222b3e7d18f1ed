package e2e

import (
	"context"
	"net/netip"
	"time"

	"github.com/pylonlb/pylon/test/lab"
)

// arpWatchEvery is the pause between two ARP probes of an arpWatcher.
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
// one probe after the other, until stopped.
type arpWatcher struct {
	cancel context.CancelFunc
	done   chan struct{}
	probes []arpProbe
}

// watchARP starts an arpWatcher for ip. around, when not nil, is read just
// before and just after every probe (the nodes with a ready endpoint, say)
// so that a probe's answer can be judged against what held while it ran.
func watchARP(ctx context.Context, l *lab.Lab, ip netip.Addr, around func(context.Context) map[string]bool) *arpWatcher {
	ctx, cancel := context.WithCancel(ctx)
	w := &arpWatcher{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
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
			w.probes = append(w.probes, p)
			select {
			case <-ctx.Done():
			case <-time.After(arpWatchEvery):
			}
		}
	}()
	return w
}

// stop ends the watch and returns its probes, in order.
func (w *arpWatcher) stop() []arpProbe {
	w.cancel()
	<-w.done
	return w.probes
}
