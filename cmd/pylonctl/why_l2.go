package main

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/election"
)

// l2Report is how an address is announced over layer 2.
type l2Report struct {
	Pool           string   `json:"pool"`
	Advertisements []string `json:"advertisements"`
	// NotSelecting name the L2Advertisements covering the pool whose
	// serviceSelectors select none of the address's Services.
	NotSelecting []string `json:"notSelecting,omitempty"`
	// Local: the election follows externalTrafficPolicy Local.
	Local bool `json:"local,omitempty"`
	// Owner is the node that answers ARP/NDP for the address, recomputed
	// as the speakers compute it; "" when no node is eligible.
	Owner string `json:"owner,omitempty"`
	// Ranked are the eligible nodes in order: the second takes over if
	// the owner goes, and so on.
	Ranked []string `json:"ranked,omitempty"`
	// Nodes gives every node's standing in the election.
	Nodes []standing `json:"nodes"`
	// Views, when the speakers' memberlist views elect different owners,
	// gives the owner each group of speakers elects.
	Views []ownerView `json:"views,omitempty"`
	// Check compares the owner with what the speakers report.
	Check *check `json:"check,omitempty"`
	// AlsoAnnouncing are other nodes whose SpeakerStatus lists the
	// address over layer 2: two nodes answering.
	AlsoAnnouncing []string `json:"alsoAnnouncing,omitempty"`
}

type standing struct {
	Node     string `json:"node"`
	Standing string `json:"standing"`
}

type ownerView struct {
	Owner    string   `json:"owner"`
	Speakers []string `json:"speakers"`
}

// view is the memberlist view some speakers share: who they count alive.
type view struct {
	speakers []string
	live     map[string]bool
}

// views groups the speakers by the members they count alive (each
// speaker elects with its own view), the largest group first. Only
// speakers on existing nodes count, and only those with a Ready pod when
// pods could be read: another's view is stale or not in use.
func (w *world) views() []view {
	byKey := map[string]*view{}
	var keys []string
	for _, st := range w.speakers {
		if !w.hasNode(st.Name) {
			continue
		}
		if w.speakerPods != nil {
			if p := w.speakerPods[st.Name]; p == nil || !podReady(p) {
				continue
			}
		}
		live := liveOf(&st)
		names := make([]string, 0, len(live))
		for n := range live {
			names = append(names, n)
		}
		slices.Sort(names)
		key := strings.Join(names, ",")
		if byKey[key] == nil {
			byKey[key] = &view{live: live}
			keys = append(keys, key)
		}
		byKey[key].speakers = append(byKey[key].speakers, st.Name)
	}
	out := make([]view, 0, len(keys))
	for _, k := range keys {
		out = append(out, *byKey[k])
	}
	slices.SortStableFunc(out, func(a, b view) int { return len(b.speakers) - len(a.speakers) })
	return out
}

// liveOf is the members a speaker counts alive, as its memberlist does.
func liveOf(st *v1alpha1.SpeakerStatus) map[string]bool {
	live := map[string]bool{}
	if st == nil {
		return live
	}
	for _, m := range st.Status.Members {
		if m.State == "Alive" {
			live[m.Name] = true
		}
	}
	return live
}

func (w *world) hasNode(name string) bool {
	return slices.ContainsFunc(w.nodes, func(n *corev1.Node) bool { return n.Name == name })
}

func (w *world) statusOf(node string) *v1alpha1.SpeakerStatus {
	for i := range w.speakers {
		if w.speakers[i].Name == node {
			return &w.speakers[i]
		}
	}
	return nil
}

// explainL2 fills ar.Layer2 when ip is announced over layer 2, and returns
// why not otherwise.
func (w *world) explainL2(ctx context.Context, ip netip.Addr, ar *addressReport, r *whyReport) string {
	// Whether layer 2 applies does not depend on the view.
	base := speaker.ExplainL2(w.observed.Inputs("", w.class, nil), ip)
	if base.Skipped != "" {
		return base.Skipped
	}
	rep := &l2Report{}
	ar.Layer2 = rep
	views := w.views()
	if len(views) == 0 {
		rep.Pool, rep.Advertisements, rep.Local, rep.NotSelecting = base.Pool, base.Advertisements, base.Local, base.NotSelecting
		rep.Nodes = standings(base)
		r.Problems = append(r.Problems, ip.String()+": no Ready speaker has reported its memberlist view: nobody answers ARP/NDP")
		return ""
	}
	var main speaker.L2Explanation
	for i, v := range views {
		e := speaker.ExplainL2(w.observed.Inputs("", w.class, v.live), ip)
		if i == 0 {
			main = e
		}
		if j := slices.IndexFunc(rep.Views, func(o ownerView) bool { return o.Owner == e.Owner() }); j >= 0 {
			rep.Views[j].Speakers = append(rep.Views[j].Speakers, v.speakers...)
		} else {
			rep.Views = append(rep.Views, ownerView{Owner: e.Owner(), Speakers: slices.Clone(v.speakers)})
		}
	}
	rep.Pool, rep.Advertisements, rep.Local, rep.NotSelecting = main.Pool, main.Advertisements, main.Local, main.NotSelecting
	rep.Owner, rep.Ranked, rep.Nodes = main.Owner(), main.Ranked, standings(main)
	if len(rep.Views) > 1 {
		var parts []string
		for _, v := range rep.Views {
			slices.Sort(v.Speakers)
			parts = append(parts, fmt.Sprintf("%s by %s", orDash(v.Owner), strings.Join(v.Speakers, ",")))
		}
		r.Problems = append(r.Problems, fmt.Sprintf("%s: the speakers' memberlist views differ and elect different owners: %s", ip, strings.Join(parts, "; ")))
	} else {
		rep.Views = nil
	}
	if rep.Owner == "" {
		r.Problems = append(r.Problems, fmt.Sprintf("%s: no node is eligible to answer ARP/NDP for it (see the nodes' standing)", ip))
	} else {
		c := w.verify(ctx, rep.Owner, ip, speaker.ProtocolLayer2)
		rep.Check = &c
		if c.Result == contradicted {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: owner %s: %s", ip, rep.Owner, c.Detail))
		}
	}
	for _, st := range w.speakers {
		if st.Name == rep.Owner {
			continue
		}
		if ann, _ := speaker.Listed(st.Status).Announces(ip, speaker.ProtocolLayer2); ann {
			rep.AlsoAnnouncing = append(rep.AlsoAnnouncing, st.Name)
		}
	}
	if len(rep.AlsoAnnouncing) > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%s: also answered for by %s, whose SpeakerStatus lists it: more than one node answers ARP/NDP", ip, strings.Join(rep.AlsoAnnouncing, ", ")))
	}
	return ""
}

// standings lists every node's standing, by name: the eligible ones with
// their rank.
func standings(e speaker.L2Explanation) []standing {
	names := make([]string, 0, len(e.Nodes))
	for n := range e.Nodes {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]standing, 0, len(names))
	for _, n := range names {
		s := string(e.Nodes[n])
		if e.Nodes[n] == election.ReasonEligible {
			switch rank := slices.Index(e.Ranked, n); rank {
			case 0:
				s += " (owner)"
			default:
				s += fmt.Sprintf(" (rank %d)", rank+1)
			}
		}
		out = append(out, standing{Node: n, Standing: s})
	}
	return out
}
