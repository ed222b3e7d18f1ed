package speaker

import (
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
// Nodes take turns in name order among those that peer with the router;
// each waits staggerStep per node before it and until every other node's
// session to that router is Established again. A session that is not
// Established has nothing to lose and takes the change at once: after a
// password changed on the router first, every node recovers as soon as it
// can. Only Reconcile, never concurrent with itself, uses it.
type resetGate struct {
	// since is when this node first held back a change of each peer.
	since map[string]time.Time
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

// apply returns the peers to give the speaker now (a held-back peer as it
// runs), the names of those held back, and when to look again (0: nothing
// held).
func (g *resetGate) apply(in gateInput) (peers []bgp.Peer, held []string, again time.Duration) {
	if g.since == nil {
		g.since = map[string]time.Time{}
	}
	wanted := map[string]bool{}
	for _, p := range in.want {
		wanted[p.Name] = true
		cur, ok := in.have(p.Name)
		if !ok || !bgp.NeedsReset(cur, p) || in.states[p.Name] != bgp.StateEstablished {
			delete(g.since, p.Name)
			peers = append(peers, p)
			continue
		}
		first, ok := g.since[p.Name]
		if !ok {
			first = in.now
			g.since[p.Name] = first
		}
		rank, othersUp := turn(in.node, p.Name, in.speakers)
		due := first.Add(time.Duration(rank) * staggerStep)
		if !in.now.Before(first.Add(staggerMax)) || (!in.now.Before(due) && othersUp) {
			delete(g.since, p.Name)
			peers = append(peers, p)
			continue
		}
		peers = append(peers, cur)
		held = append(held, p.Name)
		again = time.Second
	}
	for name := range g.since {
		if !wanted[name] {
			delete(g.since, name)
		}
	}
	return peers, held, again
}

// turn returns node's place in name order among the nodes with a session
// to peer, and whether every other one's session is Established.
func turn(node, peer string, speakers []v1alpha1.SpeakerStatus) (rank int, othersUp bool) {
	names := []string{node}
	othersUp = true
	for _, s := range speakers {
		if s.Name == node {
			continue
		}
		for _, sess := range s.Status.BGPSessions {
			if sess.Peer != peer {
				continue
			}
			names = append(names, s.Name)
			if sess.State != bgp.StateEstablished {
				othersUp = false
			}
		}
	}
	slices.Sort(names)
	return slices.Index(names, node), othersUp
}
