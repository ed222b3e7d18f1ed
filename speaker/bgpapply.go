package speaker

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker/bfd"
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
	// announced maps each address announced over at least one
	// Established session to its Services (BGPAnnounced).
	announced map[netip.Addr][]string
	sessions  []bgp.Session
	problems  []string
	err       error
	// changes say how a peer change is rolled out (resetGate), by peer;
	// again is when to look again at peer changes held back (0: none).
	changes map[string]string
	again   time.Duration
	// cond is ConditionBGP; its Type is empty when BGP is off.
	cond metav1.Condition
	// holdTime is how long a restarted speaker waits for these peers'
	// sessions (bgpHoldTime).
	holdTime time.Duration
	// bfd is the state of the BFD sessions (applyBFD).
	bfd []bfd.Status
}

// applyBGP applies the BGP side of a pass: bp is the pass's BGP plan
// (planBGP, through the pass's planMemo).
func (r *Reconciler) applyBGP(ctx context.Context, snap *snapshot, bp bgpPlan) bgpState {
	var st bgpState
	if r.StartBGP == nil || r.bgpClosed {
		return st
	}
	offered, plan := bp.offered, bp.plan
	sp, cond := r.ensureBGP(ctx, snap, passiveListen(plan.Peers, snap.node(r.Node)))
	st.cond = cond
	if sp == nil {
		r.applyBFD(nil, nil, &st)
		return st
	}
	st.problems = plan.Problems
	st.holdTime = bgpHoldTime(plan.Peers)
	peers := r.staggerPeers(ctx, sp, snap, plan.Peers, &st)
	if err := sp.SetPeers(ctx, peers); err != nil {
		st.err = fmt.Errorf("BGP peers: %w", err)
	}
	r.applyBFD(snap.cfg, peers, &st)
	if err := sp.SetPaths(ctx, plan.Paths); err != nil && st.err == nil {
		st.err = fmt.Errorf("BGP paths: %w", err)
	}
	sessions, err := sp.Sessions(ctx)
	if err != nil && st.err == nil {
		st.err = fmt.Errorf("BGP sessions: %w", err)
	}
	st.sessions = sessions
	st.announced = BGPAnnounced(offered, plan.Paths, sessions)
	return st
}

// staggerPeers passes the planned peers through the reset gate: a change
// that would restart an Established session waits for this node's turn.
func (r *Reconciler) staggerPeers(ctx context.Context, sp BGPSpeaker, snap *snapshot, want []bgp.Peer, st *bgpState) []bgp.Peer {
	states := map[string]string{}
	sessions, err := sp.Sessions(ctx)
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
	res := r.gate.apply(gateInput{node: r.Node, want: want, have: sp.Peer, states: states, speakers: speakers, now: r.Clock.Now()})
	st.problems = append(st.problems, res.notes...)
	st.changes, st.again = res.changes, res.again
	return res.peers
}

// BGPAnnounced returns the offered addresses (with their Services) that are
// announced for real: a path holding the address goes to at least one peer
// whose session is Established. A path to peers whose sessions never came
// up announces nothing; when a session comes up, the speaker's session
// change starts a pass and the address counts from then on.
func BGPAnnounced(offered map[netip.Addr][]string, paths []bgp.Path, sessions []bgp.Session) map[netip.Addr][]string {
	up := map[string]bool{}
	for _, s := range sessions {
		if s.State == bgp.StateEstablished {
			up[s.Peer] = true
		}
	}
	// The paths that go to an Established peer: host routes by address,
	// aggregates apart (few: one per advertisement and aggregation
	// length). Matching every address against every path was quadratic:
	// half of a pass at 5,000 addresses.
	hosts := map[netip.Addr]bool{}
	var aggregates []netip.Prefix
	for _, p := range paths {
		if !slices.ContainsFunc(p.Peers, func(name string) bool { return up[name] }) {
			continue
		}
		if p.Prefix.IsSingleIP() {
			hosts[p.Prefix.Addr()] = true
		} else if !slices.Contains(aggregates, p.Prefix) {
			aggregates = append(aggregates, p.Prefix)
		}
	}
	out := map[netip.Addr][]string{}
	for ip, keys := range offered {
		if hosts[ip] || slices.ContainsFunc(aggregates, func(p netip.Prefix) bool { return p.Contains(ip) }) {
			out[ip] = keys
		}
	}
	return out
}
