package speaker

import (
	"fmt"
	"slices"
	"time"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker/bgp"
)

// Staggering of BGPPeer changes that restart sessions.
const (
	// staggerStep is how long each node waits after the one before it in
	// name order: long enough for that node's SpeakerStatus to show its
	// restarted session (written at most once a second).
	staggerStep = 3 * time.Second
	// staggerMax bounds the wait: a node whose turn never comes (another
	// node's session stays down for another reason) applies the change
	// after this long.
	staggerMax = 2 * time.Minute
)

// resetGate holds back a BGPPeer change that would restart an Established
// session (a new password, port, ASN or source address: bgp.NeedsReset)
// until this node's turn, so that the nodes do not all drop their sessions
// to a router at the same instant and the router always keeps next hops.
//
// Nodes take turns in name order among those that peer with the router. A
// node goes when every other node's session to that router is Established
// and none is trying a change (SpeakerStatus bgpSessions[].change), and
// then only staggerStep per node before it after the last moment it saw
// one busy: the next node sees the previous one's Trying before its own
// turn comes. A session that is not Established has nothing to lose and
// takes the change at once: after a password changed on the router first,
// every node recovers as soon as it can.
//
// The node whose turn it is tries the change. If its session does not come
// back within trialTimeout (the router does not have the new password yet,
// say), it goes back to the settings that worked (Reverted) and keeps them
// while they work, and the other nodes hold the change too: when the
// router changes, every session drops and takes the new settings at once.
// Only Reconcile, never concurrent with itself, uses it.
type resetGate struct {
	// since is when this node first held back a change of each peer, and
	// quiet the last moment it saw another node busy with it.
	since, quiet map[string]time.Time
	// trials are changes this node is trying, by peer name.
	trials map[string]*trial
}

// How a change is rolled out on a node (BGPSessionStatus.Change).
const (
	ChangeHeld     = "Held"
	ChangeTrying   = "Trying"
	ChangeReverted = "Reverted"
)

// trialTimeout is how long a node gives new settings to bring its session
// up before it goes back to the ones that worked.
const trialTimeout = 15 * time.Second

// trial is a change a node applied on its turn.
type trial struct {
	old, next bgp.Peer
	began     time.Time
	// failedAt is when the new settings were given up (zero: not yet);
	// oldUp says the old settings' session came back after that.
	failedAt time.Time
	oldUp    bool
}

// gateInput is what the gate decides on.
type gateInput struct {
	node string
	// want are the peers as the configuration has them.
	want []bgp.Peer
	// have returns a peer as the speaker runs it.
	have func(string) (bgp.Peer, bool)
	// states are this node's session states by peer name.
	states map[string]string
	// speakers are the other nodes' SpeakerStatuses, of existing nodes.
	speakers []v1alpha1.SpeakerStatus
	now      time.Time
}

// gateResult is what the gate decided.
type gateResult struct {
	// peers to give the speaker now (a held-back peer as it runs).
	peers []bgp.Peer
	// changes are the Change of each peer not simply applied, and notes
	// say why, for the status.
	changes map[string]string
	notes   []string
	// again is when to look again (0: nothing pending).
	again time.Duration
}

// apply decides, for every wanted peer, which settings run now.
func (g *resetGate) apply(in gateInput) gateResult {
	if g.since == nil {
		g.since, g.quiet, g.trials = map[string]time.Time{}, map[string]time.Time{}, map[string]*trial{}
	}
	res := gateResult{changes: map[string]string{}}
	wanted := map[string]bool{}
	for _, p := range in.want {
		wanted[p.Name] = true
		use, change, note := g.decide(in, p)
		res.peers = append(res.peers, use)
		if change != "" {
			res.changes[p.Name] = change
			res.notes = append(res.notes, fmt.Sprintf("BGPPeer %s: %s", p.Name, note))
			res.again = time.Second
		}
	}
	for _, m := range []map[string]time.Time{g.since, g.quiet} {
		for name := range m {
			if !wanted[name] {
				delete(m, name)
			}
		}
	}
	for name := range g.trials {
		if !wanted[name] {
			delete(g.trials, name)
		}
	}
	return res
}

// decide returns the settings to run peer p with now, and the Change and a
// note when they are not simply p.
func (g *resetGate) decide(in gateInput, p bgp.Peer) (bgp.Peer, string, string) {
	up := in.states[p.Name] == bgp.StateEstablished
	if tr := g.trials[p.Name]; tr != nil && tr.next == p {
		return g.follow(tr, in.now, up)
	}
	delete(g.trials, p.Name)
	cur, ok := in.have(p.Name)
	if !ok || !bgp.NeedsReset(cur, p) || !up {
		delete(g.since, p.Name)
		delete(g.quiet, p.Name)
		return p, "", ""
	}
	first, ok := g.since[p.Name]
	if !ok {
		first = in.now
		g.since[p.Name], g.quiet[p.Name] = first, first
	}
	rank, quiet, reverted := turn(in.node, p.Name, in.speakers)
	if reverted {
		return cur, ChangeHeld, "another node found that the changed settings bring no session up; held until this session drops (the router changed)"
	}
	if !quiet {
		g.quiet[p.Name] = in.now
	}
	due := g.quiet[p.Name].Add(time.Duration(rank) * staggerStep)
	if in.now.Before(first.Add(staggerMax)) && (!quiet || in.now.Before(due)) {
		return cur, ChangeHeld, "the change restarts the session; held back until this node's turn, so that the router keeps next hops"
	}
	delete(g.since, p.Name)
	delete(g.quiet, p.Name)
	g.trials[p.Name] = &trial{old: cur, next: p, began: in.now}
	return p, ChangeTrying, "trying the changed settings on this node first"
}

// follow runs a trial: keep the new settings once their session is up; go
// back to the old ones if it does not come up in time, and keep those while
// they work; take the new ones when the old session drops.
func (g *resetGate) follow(tr *trial, now time.Time, up bool) (bgp.Peer, string, string) {
	name := tr.next.Name
	switch {
	case tr.failedAt.IsZero() && up:
		delete(g.trials, name)
		return tr.next, "", ""
	case tr.failedAt.IsZero() && now.Before(tr.began.Add(trialTimeout)):
		return tr.next, ChangeTrying, "trying the changed settings on this node first"
	case tr.failedAt.IsZero():
		tr.failedAt = now
	case up:
		tr.oldUp = true
	case tr.oldUp || !now.Before(tr.failedAt.Add(trialTimeout)):
		// The session on the old settings went down (the router changed),
		// or never came back: the new settings are the better bet.
		delete(g.trials, name)
		return tr.next, "", ""
	}
	return tr.old, ChangeReverted, fmt.Sprintf("the changed settings brought no session up within %v (has the router been changed too?); "+
		"back on the previous ones until their session drops", trialTimeout)
}

// turn returns node's place in name order among the nodes with a session
// to peer; whether every other one's session is Established with no change
// being tried; and whether one went back from a change that failed.
func turn(node, peer string, speakers []v1alpha1.SpeakerStatus) (rank int, quiet, reverted bool) {
	names := []string{node}
	quiet = true
	for _, s := range speakers {
		if s.Name == node {
			continue
		}
		for _, sess := range s.Status.BGPSessions {
			if sess.Peer != peer {
				continue
			}
			names = append(names, s.Name)
			if sess.State != bgp.StateEstablished || sess.Change == ChangeTrying || sess.Change == ChangeReverted {
				quiet = false
			}
			reverted = reverted || sess.Change == ChangeReverted
		}
	}
	slices.Sort(names)
	return slices.Index(names, node), quiet, reverted
}
