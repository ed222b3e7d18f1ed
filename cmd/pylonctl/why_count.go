package main

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/bgp"
)

// announcement is one address over one protocol.
type announcement struct {
	ip       netip.Addr
	protocol string
}

// countCheck recomputes everything node announces, over layer 2 (PlanL2
// from the node's own memberlist view) and BGP (BGPIPs, bgp.PlanFor,
// BGPAnnounced with its sessions), from every Service and EndpointSlice of
// the cluster, and compares it with the node's SpeakerStatus: the number
// of addresses it counts (status.announced, all of them) and the entries it
// lists (the first 256). Both agreeing confirms that the node announces
// what the recompute says, the addresses beyond its list included: a
// difference among those would have to be an exact swap to keep the count.
// want must be among the recomputed announcements. The first call reads
// every Service and EndpointSlice; later calls reuse them.
func (w *world) countCheck(ctx context.Context, node string, want announcement) (check, error) {
	if w.everything == nil {
		services, err := w.allServices(ctx)
		if err != nil {
			return check{}, err
		}
		var eps []*discoveryv1.EndpointSlice
		err = listPages(ctx, w.c, func() *discoveryv1.EndpointSliceList { return &discoveryv1.EndpointSliceList{} }, func(l *discoveryv1.EndpointSliceList) {
			for i := range l.Items {
				eps = append(eps, &l.Items[i])
			}
		})
		if err != nil {
			return check{}, fmt.Errorf("list EndpointSlices: %w", err)
		}
		w.everything = &speaker.Observed{Nodes: w.nodes, Services: services, EndpointSlices: eps, Speakers: w.speakers, Config: w.cfg}
	}
	st := w.statusOf(node)
	in := w.everything.Inputs(node, w.class, liveOf(st))
	predicted := map[announcement]bool{}
	distinct := map[netip.Addr]bool{}
	for ip, owner := range speaker.PlanL2(in).Owners {
		if owner == node && !slices.Contains(st.Status.NoInterface, ip.String()) {
			predicted[announcement{ip, speaker.ProtocolLayer2}] = true
			distinct[ip] = true
		}
	}
	offered := speaker.BGPIPs(in)
	ips := make([]netip.Addr, 0, len(offered))
	for ip := range offered {
		ips = append(ips, ip)
	}
	var nodeLabels labels.Set
	for _, n := range w.nodes {
		if n.Name == node {
			nodeLabels = n.Labels
		}
	}
	plan := bgp.PlanFor(w.cfg, nodeLabels, ips, speaker.BGPServiceLabels(in, offered))
	for ip := range speaker.BGPAnnounced(offered, plan.Paths, sessionsOf(st)) {
		predicted[announcement{ip, speaker.ProtocolBGP}] = true
		distinct[ip] = true
	}

	services := len(w.everything.Services)
	if !predicted[want] {
		return check{Result: unverified, Detail: fmt.Sprintf("recomputing all %d Services with node %s's own memberlist view does not give it %s over %s", services, node, want.ip, want.protocol)}, nil
	}
	if len(distinct) != int(st.Status.Announced) {
		return check{Result: unverified, Detail: fmt.Sprintf("recomputing all %d Services gives node %s %d addresses, its SpeakerStatus counts %d: something differs (a speaker settling or yielding, or a status up to a second old)",
			services, node, len(distinct), st.Status.Announced)}, nil
	}
	listing := speaker.Listed(st.Status)
	var differ []string
	for a := range predicted {
		if ann, known := listing.Announces(a.ip, a.protocol); known && !ann {
			differ = append(differ, fmt.Sprintf("%s over %s not listed", a.ip, a.protocol))
		}
	}
	for _, e := range st.Status.Announcements {
		ip, err := netip.ParseAddr(e.IP)
		if err == nil && !predicted[announcement{ip, e.Protocol}] {
			differ = append(differ, fmt.Sprintf("%s over %s listed, not recomputed", ip, e.Protocol))
		}
	}
	if len(differ) > 0 {
		slices.Sort(differ)
		differ = slices.Compact(differ)
		return check{Result: unverified, Detail: fmt.Sprintf("recomputing all %d Services gives node %s as many addresses as it counts (%d) but its list differs: %s",
			services, node, len(distinct), strings.Join(differ[:min(len(differ), 5)], "; "))}, nil
	}
	return check{Result: confirmed, By: byCount, Detail: fmt.Sprintf("recomputing all %d Services gives node %s the %d addresses its SpeakerStatus counts, and the same first ones it lists",
		services, node, len(distinct))}, nil
}
