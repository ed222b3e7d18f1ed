package speaker

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker/bgp"
)

// BGPAnnouncer is what the reconciler needs of speaker/bgp's Speaker.
type BGPAnnouncer interface {
	SetPeers(context.Context, []bgp.Peer) error
	SetPaths(context.Context, []bgp.Path) error
	Sessions(context.Context) ([]bgp.Session, error)
	Peer(name string) (bgp.Peer, bool)
}

// bgpState is what the last pass announced over BGP.
type bgpState struct {
	// announced maps each advertised address to its Services.
	announced map[netip.Addr][]string
	sessions  []bgp.Session
	problems  []string
	err       error
	// changes say how a peer change is rolled out (resetGate), by peer;
	// again is when to look again at peer changes held back (0: none).
	changes map[string]string
	again   time.Duration
}

// applyBGP plans and applies the BGP side of a pass.
func (r *Reconciler) applyBGP(ctx context.Context, snap *snapshot, in Inputs) bgpState {
	var st bgpState
	if r.BGP == nil {
		return st
	}
	var offered map[netip.Addr][]string
	if snap.cfg != nil && len(snap.cfg.BGPAdvertisements) > 0 {
		// Without an advertisement nothing is offered: skip the work.
		offered = BGPIPs(in)
	}
	ips := make([]netip.Addr, 0, len(offered))
	for ip := range offered {
		ips = append(ips, ip)
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	var mine labels.Set
	for _, n := range in.Nodes {
		if n.Name == r.Node {
			mine = n.Labels
		}
	}
	plan := bgp.PlanFor(snap.cfg, mine, ips)
	st.problems = plan.Problems
	peers := r.staggerPeers(ctx, snap, plan.Peers, &st)
	if err := r.BGP.SetPeers(ctx, peers); err != nil {
		st.err = fmt.Errorf("BGP peers: %w", err)
	}
	if err := r.BGP.SetPaths(ctx, plan.Paths); err != nil && st.err == nil {
		st.err = fmt.Errorf("BGP paths: %w", err)
	}
	st.announced = map[netip.Addr][]string{}
	if len(plan.Paths) > 0 {
		for _, ip := range ips {
			if !slices.Contains(plan.Unadvertised, ip) {
				st.announced[ip] = offered[ip]
			}
		}
	}
	sessions, err := r.BGP.Sessions(ctx)
	if err != nil && st.err == nil {
		st.err = fmt.Errorf("BGP sessions: %w", err)
	}
	st.sessions = sessions
	return st
}

// staggerPeers passes the planned peers through the reset gate: a change
// that would restart an Established session waits for this node's turn.
func (r *Reconciler) staggerPeers(ctx context.Context, snap *snapshot, want []bgp.Peer, st *bgpState) []bgp.Peer {
	states := map[string]string{}
	sessions, err := r.BGP.Sessions(ctx)
	if err != nil {
		return want // no session known to lose: apply as planned
	}
	for _, s := range sessions {
		states[s.Peer] = s.State
	}
	var speakers []v1alpha1.SpeakerStatus
	for _, s := range snap.speakers {
		if snap.hasNode(s.Name) {
			speakers = append(speakers, s)
		}
	}
	res := r.gate.apply(gateInput{node: r.Node, want: want, have: r.BGP.Peer, states: states, speakers: speakers, now: time.Now()})
	st.problems = append(st.problems, res.notes...)
	st.changes, st.again = res.changes, res.again
	return res.peers
}

// tellBGPChanges sends a Service event where this node started or stopped
// announcing one of its addresses over BGP.
func (r *Reconciler) tellBGPChanges(snap *snapshot, now map[netip.Addr][]string) {
	for ip, keys := range now {
		for _, key := range keys {
			if slices.Contains(r.bgpAnnounced[ip], key) {
				continue
			}
			if svc := snap.byKey[key]; svc != nil {
				r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, ReasonAnnouncing, "Announce",
					"node %s announces %s over BGP", r.Node, ip)
			}
		}
	}
	for ip, keys := range r.bgpAnnounced {
		for _, key := range keys {
			if slices.Contains(now[ip], key) {
				continue
			}
			if svc := snap.byKey[key]; svc != nil && slices.Contains(ipsOf(svc), ip) {
				r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, ReasonStoppedAnnouncing, "Announce",
					"node %s stopped announcing %s over BGP: no ready endpoint here, or no advertisement selects it", r.Node, ip)
			}
		}
	}
}
