package speaker

import (
	"context"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pylonlb/pylon/speaker/layer2"
)

// Timing of the split-brain policy.
const (
	// conflictMemory is how long a conflict counts after its last packet.
	conflictMemory = 10 * time.Second
	// reclaimEvery limits the gratuitous bursts a majority speaker sends to
	// win an address back.
	reclaimEvery = 2 * time.Second
)

// conflict is another MAC answering for an address this node owns.
type conflict struct {
	seen      layer2.Conflict
	last      time.Time
	reclaimed time.Time
	told      bool
}

// splitBrain is what the split-brain policy remembers: the conflicts heard
// (until conflictMemory after their last packet) and the addresses this
// node yields. Its methods are the policy, as functions of their inputs;
// the reconciler holds its lock around them.
type splitBrain struct {
	conflicts map[netip.Addr]*conflict
	yield     map[netip.Addr]bool
}

// record notes a conflicting packet heard at now.
func (s *splitBrain) record(c layer2.Conflict, now time.Time) {
	if s.conflicts == nil {
		s.conflicts = map[netip.Addr]*conflict{}
	}
	k := s.conflicts[c.IP]
	if k == nil {
		k = &conflict{}
		s.conflicts[c.IP] = k
	}
	k.seen, k.last = c, now
}

// conflictActions is what the policy decided for one pass, in address
// order.
type conflictActions struct {
	// reclaim are the addresses to send a gratuitous burst for.
	reclaim []netip.Addr
	// tell are the conflicts that start an episode: an event, a metric
	// and a log line each.
	tell []layer2.Conflict
}

// decide is the split-brain policy at now. Another MAC answering for an
// address this node owns (ours) means two owners. A speaker that sees a
// majority of the speakers alive is on the side the others agree with: it
// sends a gratuitous burst (at most every reclaimEvery) so clients come
// back to it. A speaker in the minority yields: it stops answering for
// that address until it sees a majority again. A conflict is told once per
// episode, which ends conflictMemory after its last packet.
func (s *splitBrain) decide(now time.Time, majority bool, ours func(netip.Addr) bool) conflictActions {
	var out conflictActions
	if majority {
		clear(s.yield)
	}
	for ip, c := range s.conflicts {
		if now.Sub(c.last) > conflictMemory {
			delete(s.conflicts, ip)
			continue
		}
		if !ours(ip) && !s.yield[ip] {
			continue
		}
		if !c.told {
			c.told = true
			out.tell = append(out.tell, c.seen)
		}
		if !majority {
			if s.yield == nil {
				s.yield = map[netip.Addr]bool{}
			}
			s.yield[ip] = true
			continue
		}
		if now.Sub(c.reclaimed) >= reclaimEvery {
			c.reclaimed = now
			out.reclaim = append(out.reclaim, ip)
		}
	}
	slices.SortFunc(out.reclaim, netip.Addr.Compare)
	slices.SortFunc(out.tell, func(a, b layer2.Conflict) int { return a.IP.Compare(b.IP) })
	return out
}

// applyConflictPolicy runs the split-brain policy (splitBrain.decide) and
// carries out what it decided: the Layer2Conflict events, metric and log
// line of a new episode, and the reclaiming bursts. r.mu is held.
func (r *Reconciler) applyConflictPolicy(ctx context.Context, snap *snapshot, majority bool) {
	act := r.split.decide(r.Clock.Now(), majority, func(ip netip.Addr) bool { _, ok := r.announced[ip]; return ok })
	for _, c := range act.tell {
		action := "reclaiming it with gratuitous announcements"
		if !majority {
			action = "yielding it: this node sees a minority of the speakers"
		}
		if r.Metrics != nil {
			r.Metrics.conflicts.Inc()
		}
		log.FromContext(ctx).Info("layer-2 conflict", "ip", c.IP, "mac", c.MAC.String(), "interface", c.Interface, "majority", majority)
		for _, key := range r.announced[c.IP].Services {
			if svc := snap.service(key); svc != nil {
				r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, ReasonL2Conflict, "Announce",
					"node %s: %s answers for %s on %s too; %s", r.Node, c.MAC, c.IP, c.Interface, action)
			}
		}
	}
	for _, ip := range act.reclaim {
		r.Announcer.Reannounce(ip)
	}
}
