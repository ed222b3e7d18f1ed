package speaker

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/speaker/bgp"
)

// ReasonRestarted is the event on this node's SpeakerStatus when a
// restarted speaker cannot know all it announced before (its previous
// status listed only the first maxAnnouncements).
const ReasonRestarted = "Restarted"

// bgpHoldMin is the least time a restarted speaker waits for its BGP
// sessions before it tells Services it stopped announcing them over BGP
// (see told).
const bgpHoldMin = 30 * time.Second

// told is what this node's Service events last said it announces: the
// next events are the difference against it. A speaker that restarts
// starts from what its previous process announced, as its SpeakerStatus
// lists it (seed), so that announcing the same again says nothing.
type told struct {
	l2  map[netip.Addr]L2
	bgp map[netip.Addr][]string
	// l2Unlisted and bgpUnlisted are, after a restart, the addresses the
	// previous status did not list (it lists at most maxAnnouncements):
	// they may have been announced, so the first telling pass announces
	// them silently.
	l2Unlisted, bgpUnlisted unlisted
	// bgpHeld: after a restart, StoppedAnnouncing over BGP is held back
	// until every BGP session is Established or the hold time ran out
	// (bgpHoldTime): a restarted speaker's sessions are down for a moment.
	bgpHeld bool
}

// unlisted is a range of addresses in address order: all of them, or
// from one on.
type unlisted struct {
	all  bool
	from netip.Addr
}

func (u unlisted) has(ip netip.Addr) bool {
	return u.all || u.from.IsValid() && ip.Compare(u.from) >= 0
}

func (u unlisted) String() string {
	switch {
	case u.all:
		return "all"
	case u.from.IsValid():
		return "from " + u.from.String() + " on"
	}
	return "none"
}

// seed is what a restarted speaker starts telling from: the announcements
// in its previous status (st). buildStatus lists the layer-2 ones, then the
// BGP ones, each in address order, and cuts the list after
// maxAnnouncements; Announced counts every address. So when the list was
// cut, the addresses of the protocol it was cut in from its last listed
// one on (that one's other Services may be missing), and all of the
// protocol after it, are unknown.
func seed(st v1alpha1.SpeakerStatusStatus) told {
	t := told{l2: map[netip.Addr]L2{}, bgp: map[netip.Addr][]string{}}
	distinct := map[netip.Addr]bool{}
	var last v1alpha1.Announcement
	var lastIP netip.Addr
	for _, a := range st.Announcements {
		ip, err := netip.ParseAddr(a.IP)
		if err != nil {
			continue
		}
		distinct[ip] = true
		last, lastIP = a, ip
		switch a.Protocol {
		case ProtocolLayer2:
			l := t.l2[ip]
			if !slices.Contains(l.Services, a.Service) {
				l.Services = append(l.Services, a.Service)
			}
			if a.Interface != "" && !slices.Contains(l.Interfaces, a.Interface) {
				l.Interfaces = append(l.Interfaces, a.Interface)
			}
			t.l2[ip] = l
		case ProtocolBGP:
			if !slices.Contains(t.bgp[ip], a.Service) {
				t.bgp[ip] = append(t.bgp[ip], a.Service)
			}
		}
	}
	for ip := range t.l2 {
		slices.Sort(t.l2[ip].Services)
	}
	for ip := range t.bgp {
		slices.Sort(t.bgp[ip])
	}
	if int(st.Announced) > len(distinct) {
		if last.Protocol == ProtocolBGP {
			t.bgpUnlisted = unlisted{from: lastIP}
		} else {
			t.l2Unlisted = unlisted{all: !lastIP.IsValid(), from: lastIP}
			t.bgpUnlisted = unlisted{all: true}
		}
	}
	t.bgpHeld = len(t.bgp) > 0 || t.bgpUnlisted != unlisted{}
	return t
}

// bgpHoldTime is how long a restarted speaker holds back StoppedAnnouncing
// over BGP while its sessions are not all Established: bgpHoldMin, or
// longer when a peer's hold time is (a router that still holds the old
// session refuses a new one until it expires).
func bgpHoldTime(peers []bgp.Peer) time.Duration {
	d := bgpHoldMin
	for _, p := range peers {
		d = max(d, p.ProposedHoldTime())
	}
	return d
}

// serviceEvent is one Service event a pass sends.
type serviceEvent struct {
	key    string
	ip     netip.Addr
	reason string
	action string
	note   string
}

func sortEvents(evs []serviceEvent) {
	slices.SortFunc(evs, func(a, b serviceEvent) int {
		return cmp.Or(a.ip.Compare(b.ip), cmp.Compare(a.key, b.key), cmp.Compare(a.reason, b.reason))
	})
}

// l2Events are the Service events of node going from announcing before
// (over layer 2) to plan: Announcing where it started answering for an
// address of a Service (or on other interfaces), StoppedAnnouncing where
// it stopped. Addresses in unknown announce silently.
func l2Events(node string, before map[netip.Addr]L2, unknown unlisted, plan Plan) []serviceEvent {
	var out []serviceEvent
	for ip, now := range plan.L2 {
		was, had := before[ip]
		for _, key := range now.Services {
			if unknown.has(ip) || had && slices.Contains(was.Services, key) && slices.Equal(was.Interfaces, now.Interfaces) {
				continue
			}
			out = append(out, serviceEvent{key: key, ip: ip, reason: ReasonAnnouncing, action: "Announce",
				note: fmt.Sprintf("node %s announces %s over Layer2 on %v", node, ip, now.Interfaces)})
		}
	}
	for ip, was := range before {
		now := plan.L2[ip]
		for _, key := range was.Services {
			if slices.Contains(now.Services, key) {
				continue
			}
			var why string
			if o := plan.Owners[ip]; o == "" {
				why = "no node is eligible"
			} else if o == node {
				why = "this node yields it or has no interface for it"
			} else {
				why = "node " + o + " owns it"
			}
			out = append(out, serviceEvent{key: key, ip: ip, reason: ReasonStoppedAnnouncing, action: "Announce",
				note: fmt.Sprintf("node %s stopped announcing %s: %s", node, ip, why)})
		}
	}
	sortEvents(out)
	return out
}

// actionBGP is the action of BGP's Service events. The events API folds
// events with one reason, action and object from one process into a series
// that keeps the first note: with layer 2's action, "announces ... over
// BGP" on a Service this node also answers for over layer 2 would only
// count up the layer-2 event.
const actionBGP = "AnnounceBGP"

// bgpEvents are the Service events of node going from announcing before
// over BGP to now, and what is told after them. Addresses in unknown
// announce silently. While held, nothing is told stopped: what was told
// stays told until the hold ends.
func bgpEvents(node string, before map[netip.Addr][]string, unknown unlisted, now map[netip.Addr][]string, held bool) ([]serviceEvent, map[netip.Addr][]string) {
	var out []serviceEvent
	next := make(map[netip.Addr][]string, len(now))
	for ip, keys := range now {
		next[ip] = slices.Clone(keys)
		for _, key := range keys {
			if unknown.has(ip) || slices.Contains(before[ip], key) {
				continue
			}
			out = append(out, serviceEvent{key: key, ip: ip, reason: ReasonAnnouncing, action: actionBGP,
				note: fmt.Sprintf("node %s announces %s over BGP", node, ip)})
		}
	}
	for ip, keys := range before {
		for _, key := range keys {
			if slices.Contains(now[ip], key) {
				continue
			}
			if held {
				next[ip] = append(next[ip], key)
				continue
			}
			out = append(out, serviceEvent{key: key, ip: ip, reason: ReasonStoppedAnnouncing, action: actionBGP,
				note: fmt.Sprintf("node %s stopped announcing %s over BGP: no ready endpoint here, no advertisement selects it, or none of its BGP sessions is Established", node, ip)})
		}
	}
	for ip := range next {
		slices.Sort(next[ip])
	}
	sortEvents(out)
	return out, next
}

// allEstablished reports whether there are sessions and all are up.
func allEstablished(sessions []bgp.Session) bool {
	for _, s := range sessions {
		if s.State != bgp.StateEstablished {
			return false
		}
	}
	return len(sessions) > 0
}

// seedTold starts telling from this node's SpeakerStatus as the previous
// process left it (none: from nothing), on a speaker's first pass. When
// that status could not list everything, one event on it says so.
// r.mu is held.
func (r *Reconciler) seedTold(snap *snapshot) {
	r.seeded = true
	var own *v1alpha1.SpeakerStatus
	for i := range snap.speakers {
		if snap.speakers[i].Name == r.Node {
			own = &snap.speakers[i]
		}
	}
	if own == nil {
		return
	}
	r.told = seed(own.Status)
	if r.told.l2Unlisted != (unlisted{}) || r.told.bgpUnlisted != (unlisted{}) {
		r.Recorder.Eventf(own, nil, corev1.EventTypeNormal, ReasonRestarted, "Announce",
			"speaker restarted; its previous status listed %d entries for %d addresses: no Announcing events at this restart for the unlisted addresses "+
				"(Layer2: %s, BGP: %s), and no StoppedAnnouncing events for unlisted ones it no longer announces",
			len(own.Status.Announcements), own.Status.Announced, r.told.l2Unlisted, r.told.bgpUnlisted)
	}
}

// tellChanges sends the Service events of this pass's layer-2 plan. While
// the speaker is settling it answers for nothing on purpose, and tells
// nothing: what it announced before its restart stays told.
func (r *Reconciler) tellChanges(snap *snapshot, plan Plan, settling bool) {
	if settling {
		return
	}
	r.send(snap, l2Events(r.Node, r.told.l2, r.told.l2Unlisted, plan))
	r.told.l2, r.told.l2Unlisted = plan.L2, unlisted{}
}

// tellBGPChanges sends the Service events of this pass's BGP
// announcements (BGPAnnounced). While it holds StoppedAnnouncing back after
// a restart it returns how long until the hold ends (0: none), so that a
// pass comes then.
func (r *Reconciler) tellBGPChanges(snap *snapshot, bs bgpState) time.Duration {
	left := max(bs.holdTime, bgpHoldMin) - r.Clock.Since(r.startedAt)
	held := r.told.bgpHeld && !allEstablished(bs.sessions) && left > 0
	evs, next := bgpEvents(r.Node, r.told.bgp, r.told.bgpUnlisted, bs.announced, held)
	r.send(snap, evs)
	r.told.bgp = next
	if !held {
		r.told.bgpHeld, r.told.bgpUnlisted = false, unlisted{}
		return 0
	}
	return left
}

// send records evs on their Services; a StoppedAnnouncing only while the
// Service still has the address (a Service that dropped it or is gone
// says so itself).
func (r *Reconciler) send(snap *snapshot, evs []serviceEvent) {
	for _, e := range evs {
		svc := snap.service(e.key)
		if svc == nil || e.reason == ReasonStoppedAnnouncing && !slices.Contains(config.IngressIPs(svc), e.ip) {
			continue
		}
		r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, e.reason, e.action, "%s", e.note)
	}
}
