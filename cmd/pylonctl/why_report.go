package main

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/speaker"
)

// whyReport is what why prints.
type whyReport struct {
	Service               string `json:"service"`
	Type                  string `json:"type"`
	LoadBalancerClass     string `json:"loadBalancerClass,omitempty"`
	ExternalTrafficPolicy string `json:"externalTrafficPolicy,omitempty"`
	// Served says whether pylon (of the class asked for) handles the
	// Service at all, and if not, why not.
	Served    bool   `json:"served"`
	NotServed string `json:"notServed,omitempty"`
	// Families are the IP families the Service asks for.
	Families []string `json:"families,omitempty"`
	// Controller is the controller's latest word on the Service.
	Controller *controllerWord `json:"controller,omitempty"`
	// Pending, when set, is why the Service lacks an address.
	Pending   string          `json:"pending,omitempty"`
	Addresses []addressReport `json:"addresses,omitempty"`
	// Problems make the exit status 1.
	Problems []string `json:"problems,omitempty"`
}

// controllerWord is what the controller last said about the Service: its
// condition on the Service when it writes one, else its latest event.
type controllerWord struct {
	Source  string    `json:"source"`
	Type    string    `json:"type,omitempty"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Time    time.Time `json:"time,omitzero"`
}

type addressReport struct {
	IP string `json:"ip"`
	// Pool is the IPPool the address comes from, and PoolSource where
	// that was read (the controller's annotation, or the configuration:
	// the pool holding the address).
	Pool       string     `json:"pool,omitempty"`
	PoolSource string     `json:"poolSource,omitempty"`
	Layer2     *l2Report  `json:"layer2,omitempty"`
	BGP        *bgpReport `json:"bgp,omitempty"`
	// NotAnnounced says why neither protocol announces the address.
	NotAnnounced string `json:"notAnnounced,omitempty"`
}

// check is how an announcement recomputed by pylonctl compares with what
// the speakers report.
type check struct {
	// Result is Confirmed, Contradicted or Unverified.
	Result string `json:"result"`
	// By is what confirmed or contradicted it: SpeakerStatus, Event or
	// Count; empty when Unverified.
	By     string `json:"by,omitempty"`
	Detail string `json:"detail"`
}

// Results and sources of a check.
const (
	confirmed    = "Confirmed"
	contradicted = "Contradicted"
	unverified   = "Unverified"

	bySpeakerStatus = "SpeakerStatus"
	byEvent         = "Event"
	byCount         = "Count"
)

// why answers for the Service ns/name.
func (w *world) why(ctx context.Context, ns, name string) (*whyReport, error) {
	if err := w.read(ctx, ns, name); err != nil {
		return nil, err
	}
	svc := w.svc
	r := &whyReport{
		Service: ns + "/" + name, Type: string(svc.Spec.Type),
		ExternalTrafficPolicy: string(svc.Spec.ExternalTrafficPolicy),
	}
	if svc.Spec.LoadBalancerClass != nil {
		r.LoadBalancerClass = *svc.Spec.LoadBalancerClass
	}
	for _, f := range svc.Spec.IPFamilies {
		r.Families = append(r.Families, string(f))
	}
	switch {
	case svc.Spec.Type != corev1.ServiceTypeLoadBalancer:
		r.NotServed = "not a LoadBalancer Service (type " + string(svc.Spec.Type) + ")"
	case r.LoadBalancerClass != w.class:
		r.NotServed = fmt.Sprintf("its loadBalancerClass is %q; pylon serves %q here (--load-balancer-class)", r.LoadBalancerClass, w.class)
	case !svc.DeletionTimestamp.IsZero():
		r.NotServed = "being deleted"
	default:
		r.Served = true
	}
	if !r.Served {
		r.Problems = append(r.Problems, "pylon does not serve this Service: "+r.NotServed)
		return r, nil
	}
	r.Controller = w.controllerWord()
	ips := config.IngressIPs(svc)
	if len(ips) == 0 {
		r.Pending = "no address"
		if cw := r.Controller; cw != nil {
			r.Pending += ": " + cw.Reason + ": " + cw.Message
		} else {
			r.Pending += ": the controller has said nothing about it (its events expire after an hour; is it running? see pylonctl status)"
		}
		r.Problems = append(r.Problems, "pending: "+r.Pending)
	}
	pool := servicePools(svc)
	for _, ip := range ips {
		ar := addressReport{IP: ip.String()}
		if p := pool[ip]; p != "" {
			ar.Pool, ar.PoolSource = p, "annotation"
		} else if p := speaker.PoolOf(w.cfg, ip); p != nil {
			ar.Pool, ar.PoolSource = p.Name, "configuration"
		}
		skip := w.explainL2(ctx, ip, &ar, r)
		w.explainBGP(ctx, ip, &ar, r)
		if ar.Layer2 == nil && ar.BGP == nil {
			ar.NotAnnounced = skip
			if ar.Pool != "" {
				ar.NotAnnounced += "; no BGPAdvertisement covers IPPool " + ar.Pool + " either"
			}
			r.Problems = append(r.Problems, ip.String()+": not announced: "+ar.NotAnnounced)
		}
		r.Addresses = append(r.Addresses, ar)
	}
	return r, nil
}

// controllerWord is the controller's condition on the Service when it
// writes one, else its latest event on it; nil when neither is there.
func (w *world) controllerWord() *controllerWord {
	if c := serviceCondition(w.svc); c != nil {
		return &controllerWord{Source: "condition " + c.Type, Type: string(c.Status), Reason: c.Reason, Message: c.Message, Time: c.LastTransitionTime.Time}
	}
	for i := len(w.events) - 1; i >= 0; i-- {
		e := &w.events[i]
		if e.ReportingController == controllerReporter || e.Source.Component == controllerReporter {
			return &controllerWord{Source: "event", Type: e.Type, Reason: e.Reason, Message: e.Message, Time: eventTime(e)}
		}
	}
	return nil
}

// eventTime is when an event last happened, however it was recorded
// (events.k8s.io series, eventTime, or core/v1's lastTimestamp).
func eventTime(e *corev1.Event) time.Time {
	t := e.LastTimestamp.Time
	if e.EventTime.After(t) {
		t = e.EventTime.Time
	}
	if e.Series != nil && e.Series.LastObservedTime.After(t) {
		t = e.Series.LastObservedTime.Time
	}
	return t
}

// speakerEvent is the latest Announcing or StoppedAnnouncing event on the
// Service from node's speaker about ip over protocol, newer than the
// speaker pod on the node when it is known (an older one may predate a
// restart, after which a speaker announces silently); nil when none.
func (w *world) speakerEvent(node string, ip netip.Addr, protocol string) *corev1.Event {
	action := "Announce"
	if protocol == speaker.ProtocolBGP {
		action = "AnnounceBGP"
	}
	var since time.Time
	if p := w.speakerPods[node]; p != nil {
		since = p.CreationTimestamp.Time
	}
	for i := len(w.events) - 1; i >= 0; i-- {
		e := &w.events[i]
		if e.ReportingController != speakerReporter || e.Action != action ||
			(e.Reason != speaker.ReasonAnnouncing && e.Reason != speaker.ReasonStoppedAnnouncing) {
			continue
		}
		if n, eip, ok := speaker.NoteSubject(e.Message); !ok || n != node || eip != ip {
			continue
		}
		if eventTime(e).Before(since) {
			return nil
		}
		return e
	}
	return nil
}

// verify checks that node announces ip over protocol, as recomputed: by
// its SpeakerStatus where its list covers ip, else by its latest event on
// the Service, else by recomputing everything it announces (count).
func (w *world) verify(ctx context.Context, node string, ip netip.Addr, protocol string) check {
	st := w.statusOf(node)
	if st == nil {
		return check{Result: contradicted, By: bySpeakerStatus, Detail: "node " + node + " has no SpeakerStatus: no speaker has run there"}
	}
	ann, known := speaker.Listed(st.Status).Announces(ip, protocol)
	switch {
	case known && ann:
		return check{Result: confirmed, By: bySpeakerStatus, Detail: fmt.Sprintf("SpeakerStatus %s lists it over %s", node, protocol)}
	case known:
		return check{Result: contradicted, By: bySpeakerStatus, Detail: fmt.Sprintf("SpeakerStatus %s does not list it over %s%s", node, protocol, w.hints(st.Name, ip))}
	}
	if e := w.speakerEvent(node, ip, protocol); e != nil {
		at := eventTime(e).UTC().Format(time.RFC3339)
		if e.Reason == speaker.ReasonAnnouncing {
			return check{Result: confirmed, By: byEvent, Detail: fmt.Sprintf("%s event at %s: %s", e.Reason, at, e.Message)}
		}
		return check{Result: contradicted, By: byEvent, Detail: fmt.Sprintf("%s event at %s: %s", e.Reason, at, e.Message)}
	}
	beyond := fmt.Sprintf("SpeakerStatus %s lists %d entries for %d addresses and %s is beyond them; no %s event from it on the Service since its speaker started",
		node, len(st.Status.Announcements), st.Status.Announced, ip, speaker.ReasonAnnouncing)
	c, err := w.countCheck(ctx, node, announcement{ip, protocol})
	if err != nil {
		return check{Result: unverified, Detail: beyond + "; the count check failed: " + err.Error()}
	}
	if c.Result == confirmed {
		c.Detail = beyond + "; " + c.Detail
		return c
	}
	return check{Result: unverified, Detail: beyond + "; " + c.Detail}
}

// hints says what may keep a node from announcing an address it owns: its
// speaker pod, its conditions, its NoInterface list.
func (w *world) hints(node string, ip netip.Addr) string {
	var out []string
	if w.speakerPods != nil {
		switch p := w.speakerPods[node]; {
		case p == nil:
			out = append(out, "no speaker pod runs on the node")
		case !podReady(p):
			out = append(out, "its speaker pod "+p.Name+" is not Ready (a starting speaker answers for nothing until it has heard from the others)")
		}
	}
	if st := w.statusOf(node); st != nil {
		for _, c := range st.Status.Conditions {
			if c.Type == speaker.ConditionLayer2Conflict && c.Status == metav1.ConditionTrue ||
				c.Type == speaker.ConditionAnnouncing && c.Status == metav1.ConditionFalse {
				out = append(out, c.Type+"="+string(c.Status)+": "+c.Message)
			}
		}
		if slices.Contains(st.Status.NoInterface, ip.String()) {
			out = append(out, "the node has no usable interface for it (status.noInterface)")
		}
	}
	if len(out) == 0 {
		return ""
	}
	return " (" + strings.Join(out, "; ") + ")"
}
