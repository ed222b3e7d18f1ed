package main

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/bgp"
)

// bgpReport is how an address is announced over BGP.
type bgpReport struct {
	// Announcing are the nodes that announce it, recomputed.
	Announcing []string  `json:"announcing"`
	Nodes      []bgpNode `json:"nodes"`
}

// bgpNode is one node's part: whether it announces the address, to which
// peers over which sessions, or why not.
type bgpNode struct {
	Node      string        `json:"node"`
	Announces bool          `json:"announces"`
	Why       string        `json:"why,omitempty"`
	Peers     []peerSession `json:"peers,omitempty"`
	Check     *check        `json:"check,omitempty"`
	// NotSelecting name the BGPAdvertisements that would send the address
	// from this node but whose serviceSelectors select none of its
	// Services.
	NotSelecting []string `json:"notSelecting,omitempty"`
}

// peerSession is one session as the node's SpeakerStatus reports it.
type peerSession struct {
	Peer         string    `json:"peer"`
	Address      string    `json:"address,omitempty"`
	State        string    `json:"state"`
	Since        time.Time `json:"since,omitzero"`
	PrefixesSent int32     `json:"prefixesSent,omitempty"`
	LastError    string    `json:"lastError,omitempty"`
}

// bgpCovers reports whether a BGPAdvertisement covers a pool holding ip.
func bgpCovers(cfg *config.Config, ip netip.Addr) bool {
	for _, ad := range cfg.BGPAdvertisements {
		for _, name := range ad.Pools {
			if p := cfg.Pool(name); p != nil && p.Contains(ip) {
				return true
			}
		}
	}
	return false
}

// explainBGP fills ar.BGP when a BGPAdvertisement covers ip's pool: per
// node, what the speaker there offers (speaker.BGPOffer), which peers its
// BGP plan sends the address to (bgp.PlanFor), and whether a session
// carrying it is Established (speaker.BGPAnnounced), from the sessions its
// SpeakerStatus reports.
func (w *world) explainBGP(ctx context.Context, ip netip.Addr, ar *addressReport, r *whyReport) {
	if !bgpCovers(w.cfg, ip) {
		return
	}
	rep := &bgpReport{}
	ar.BGP = rep
	for _, n := range w.nodes {
		row := bgpNode{Node: n.Name}
		in := w.observed.Inputs(n.Name, w.class, nil)
		keys, why := speaker.BGPOffer(in, ip)
		if why != "" {
			row.Why = why
			rep.Nodes = append(rep.Nodes, row)
			continue
		}
		offer := map[netip.Addr][]string{ip: keys}
		plan := bgp.PlanFor(w.cfg, labels.Set(n.Labels), []netip.Addr{ip}, speaker.BGPServiceLabels(in, offer))
		var peers []string
		for _, p := range plan.Paths {
			if p.Prefix.Contains(ip) {
				peers = append(peers, p.Peers...)
			}
		}
		if len(peers) == 0 {
			row.Why = "no BGPAdvertisement sends it from this node: none selects the node, or the peers it names are not selected here"
			if ns := plan.NotSelecting[ip]; len(ns) > 0 {
				row.Why += "; the serviceSelectors of " + strings.Join(ns, ", ") + " select none of its Services"
			}
			rep.Nodes = append(rep.Nodes, row)
			continue
		}
		row.NotSelecting = plan.NotSelecting[ip]
		st := w.statusOf(n.Name)
		row.Peers = peerSessions(st, peers)
		announced := speaker.BGPAnnounced(offer, plan.Paths, sessionsOf(st))
		row.Announces = len(announced[ip]) > 0
		switch {
		case row.Announces:
			c := w.verify(ctx, n.Name, ip, speaker.ProtocolBGP)
			row.Check = &c
			if c.Result == contradicted {
				r.Problems = append(r.Problems, fmt.Sprintf("%s: BGP from %s: %s", ip, n.Name, c.Detail))
			}
			rep.Announcing = append(rep.Announcing, n.Name)
		default:
			row.Why = "no session carrying it is Established"
			if st == nil {
				row.Why = "no speaker has reported from this node"
			}
		}
		if !row.Announces && st != nil {
			if ann, _ := speaker.Listed(st.Status).Announces(ip, speaker.ProtocolBGP); ann {
				row.Check = &check{Result: contradicted, By: bySpeakerStatus, Detail: "SpeakerStatus " + n.Name + " lists it over BGP, which the recompute does not"}
				r.Problems = append(r.Problems, fmt.Sprintf("%s: BGP from %s: %s", ip, n.Name, row.Check.Detail))
			}
		}
		rep.Nodes = append(rep.Nodes, row)
	}
	slices.SortFunc(rep.Nodes, func(a, b bgpNode) int { return strings.Compare(a.Node, b.Node) })
	slices.Sort(rep.Announcing)
	if len(rep.Announcing) == 0 {
		r.Problems = append(r.Problems, ip.String()+": no node announces it over BGP")
	}
}

// peerSessions reports the node's sessions with peers, as its
// SpeakerStatus lists them ("NoSession" for a peer it lists none with).
func peerSessions(st *v1alpha1.SpeakerStatus, peers []string) []peerSession {
	slices.Sort(peers)
	peers = slices.Compact(peers)
	out := make([]peerSession, 0, len(peers))
	for _, p := range peers {
		ps := peerSession{Peer: p, State: "NoSession"}
		if st != nil {
			for _, s := range st.Status.BGPSessions {
				if s.Peer != p {
					continue
				}
				ps = peerSession{Peer: p, Address: s.PeerAddress, State: s.State, PrefixesSent: s.PrefixesSent, LastError: s.LastError}
				if s.Since != nil {
					ps.Since = s.Since.Time
				}
			}
		}
		out = append(out, ps)
	}
	return out
}

// sessionsOf turns a SpeakerStatus's sessions into the form
// speaker.BGPAnnounced reads.
func sessionsOf(st *v1alpha1.SpeakerStatus) []bgp.Session {
	if st == nil {
		return nil
	}
	out := make([]bgp.Session, 0, len(st.Status.BGPSessions))
	for _, s := range st.Status.BGPSessions {
		out = append(out, bgp.Session{Peer: s.Peer, State: s.State})
	}
	return out
}
