package speaker

import (
	"net/netip"
	"slices"
	"time"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// publishAfter is how long this node must have had no usable interface
// for an address it would own before it publishes the address in its
// SpeakerStatus (status.noInterface) and the next node takes it: about
// memberlist's time to declare a node dead (0.7–0.9 s), so that a node
// that cannot answer is replaced about as fast as one that died, while an
// interface that is only made again (a few hundred milliseconds) moves
// nothing.
const publishAfter = time.Second

// noInterfaceGrace remembers since when each address this node would own
// has had no usable interface. Only pass, under the lock, uses it.
type noInterfaceGrace struct {
	since map[netip.Addr]time.Time
}

// publish returns, sorted, the addresses of missing (those this node
// would own but has no usable interface for) to publish at now: those
// missing for publishAfter or longer, and those published already (a
// restarted speaker must not take back what it still cannot answer for);
// and how long until the next one is due, 0 when none is waiting.
func (g *noInterfaceGrace) publish(now time.Time, missing []netip.Addr, published map[netip.Addr]bool) ([]netip.Addr, time.Duration) {
	since := make(map[netip.Addr]time.Time, len(missing))
	var out []netip.Addr
	var due time.Duration
	for _, ip := range missing {
		t, ok := g.since[ip]
		if !ok {
			t = now
		}
		since[ip] = t
		wait := publishAfter - now.Sub(t)
		switch {
		case published[ip] || wait <= 0:
			out = append(out, ip)
		case due == 0 || wait < due:
			due = wait
		}
	}
	g.since = since
	slices.SortFunc(out, netip.Addr.Compare)
	return out, due
}

// publishNoInterface sets what status publishes as status.noInterface: the
// first maxAnnouncements of publish.
func publishNoInterface(status *v1alpha1.SpeakerStatusStatus, publish []netip.Addr) {
	status.NoInterface = nil
	for _, ip := range publish[:min(len(publish), maxAnnouncements)] {
		status.NoInterface = append(status.NoInterface, ip.String())
	}
}
