package speaker

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker/membership"
)

// Condition types on SpeakerStatus.
const (
	// ConditionLayer2Conflict: another MAC answers for an address this
	// node owns.
	ConditionLayer2Conflict = "Layer2Conflict"
	// ConditionAnnouncing: the last plan was applied without error.
	ConditionAnnouncing = "Announcing"
)

// lastWritten is the status as last written, to write only on change.
type lastWritten struct {
	status  *v1alpha1.SpeakerStatusStatus
	address string
	at      time.Time
	// version is the SpeakerStatus's resourceVersion after the write.
	version string
}

// Limits that keep a SpeakerStatus cheap with thousands of addresses.
const (
	// maxAnnouncements is how many announcements status lists; Announced
	// counts them all.
	maxAnnouncements = 256
	// statusEvery is the least time between two status writes: a burst of
	// Service changes costs one write a second, not one per pass.
	statusEvery = time.Second
)

// writeStatus creates this node's SpeakerStatus if it is missing, keeps its
// memberlist address current, and writes its status when it changed, at
// most once per statusEvery unless NoInterface changed: when it holds a
// change back it returns how long to wait before trying again.
// Only the status writer (runStatusWriter), never concurrent with itself,
// calls it, outside the reconciler's lock.
func (r *Reconciler) writeStatus(ctx context.Context, snap *snapshot, want v1alpha1.SpeakerStatusStatus) (time.Duration, error) {
	var cur *v1alpha1.SpeakerStatus
	for i := range snap.speakers {
		if snap.speakers[i].Name == r.Node {
			cur = snap.speakers[i].DeepCopy()
		}
	}
	addr := r.Members.Address()
	owner := snap.nodeOwner(r.Node)
	if cur == nil {
		cur = &v1alpha1.SpeakerStatus{Spec: v1alpha1.SpeakerStatusSpec{MemberlistAddress: addr}}
		cur.Name = r.Node
		r.labelVersion(cur)
		if owner != nil {
			cur.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		if err := r.Client.Create(ctx, cur); err != nil && !apierrors.IsAlreadyExists(err) {
			return 0, fmt.Errorf("create SpeakerStatus %s: %w", r.Node, err)
		}
	} else if cur.Spec.MemberlistAddress != addr || (owner != nil && !slices.Contains(cur.OwnerReferences, *owner)) ||
		(r.Version != "" && cur.Labels[v1alpha1.LabelVersion] != r.Version) {
		patch := client.MergeFrom(cur.DeepCopy())
		cur.Spec.MemberlistAddress = addr
		r.labelVersion(cur)
		if owner != nil && !slices.Contains(cur.OwnerReferences, *owner) {
			cur.OwnerReferences = append(slices.DeleteFunc(cur.OwnerReferences, func(o metav1.OwnerReference) bool { return o.Kind == "Node" }), *owner)
		}
		if err := r.Client.Patch(ctx, cur, patch); err != nil {
			return 0, fmt.Errorf("update SpeakerStatus %s: %w", r.Node, err)
		}
	}
	// The cache tells what the API server holds only once it has seen this
	// speaker's last write: after an API outage it can lag for a minute
	// (its watch backs off), still showing what was written before. Until
	// then the last write is the base: neither the conditions' times nor
	// "nothing to write" nor the patch may come from the stale copy.
	base := cur.DeepCopy()
	if r.last.status != nil && r.last.version != cur.ResourceVersion {
		base.Status = *r.last.status.DeepCopy()
	}
	// Conditions keep their transition times when unchanged; merged on a
	// copy, so that the patch below sees them as changes.
	conds := slices.Clone(base.Status.Conditions)
	for _, c := range want.Conditions {
		old := meta.FindStatusCondition(conds, c.Type)
		if old != nil && old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message {
			continue
		}
		meta.SetStatusCondition(&conds, c)
	}
	want.Conditions = conds
	if r.last.status != nil && equality.Semantic.DeepEqual(*r.last.status, want) && r.last.address == addr {
		return 0, nil
	}
	// A change of NoInterface moves addresses (the other speakers read
	// it): never held back.
	if wait := statusEvery - r.Clock.Since(r.last.at); r.last.status != nil && wait > 0 && slices.Equal(r.last.status.NoInterface, want.NoInterface) {
		return wait, nil
	}
	if equality.Semantic.DeepEqual(base.Status, want) {
		return 0, nil
	}
	patch := client.MergeFrom(base)
	cur.Status = want
	if err := r.Client.Status().Patch(ctx, cur, patch); err != nil {
		return 0, fmt.Errorf("write SpeakerStatus %s status: %w", r.Node, err)
	}
	r.last.status, r.last.address, r.last.at, r.last.version = &want, addr, r.Clock.Now(), cur.ResourceVersion
	return 0, nil
}

// labelVersion sets the label saying which build this speaker runs
// (v1alpha1.LabelVersion), when it knows.
func (r *Reconciler) labelVersion(st *v1alpha1.SpeakerStatus) {
	if r.Version == "" {
		return
	}
	if st.Labels == nil {
		st.Labels = map[string]string{}
	}
	st.Labels[v1alpha1.LabelVersion] = r.Version
}

// nodeOwner is the owner reference a node's SpeakerStatus carries: the
// Node, so that deleting the Node deletes its SpeakerStatus (Kubernetes'
// garbage collector) and a gone node never counts as a known speaker. nil
// while the Node is not in the cache.
func (s *snapshot) nodeOwner(name string) *metav1.OwnerReference {
	for _, n := range s.nodes {
		if n.Name == name && n.UID != "" {
			return &metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: n.Name, UID: n.UID}
		}
	}
	return nil
}

// buildStatus is this node's SpeakerStatus status from what a pass saw and
// did: the memberlist members, the layer-2 plan and whether it applied, the
// BGP state, and the split-brain policy's conflicts and yields.
// Announcements list the layer-2 ones, then the BGP ones, each in address
// order, cut after maxAnnouncements (seed relies on that order); Announced
// counts every address.
func buildStatus(members []membership.Member, plan Plan, applyErr error, bs bgpState, split *splitBrain) v1alpha1.SpeakerStatusStatus {
	var st v1alpha1.SpeakerStatusStatus
	for _, m := range members {
		st.Members = append(st.Members, v1alpha1.MemberState{Name: m.Name, Address: m.Address, State: string(m.State)})
		if m.State == membership.Alive {
			st.MembersAlive++
		}
	}
	// Only the first maxAnnouncements entries are listed: the addresses
	// listed are the lowest, found without sorting every address.
	for _, ip := range lowest(maps.Keys(plan.L2), maxAnnouncements) {
		a := plan.L2[ip]
		for _, key := range a.Services {
			for _, ifc := range a.Interfaces {
				st.Announcements = append(st.Announcements, v1alpha1.Announcement{IP: ip.String(), Service: key, Protocol: ProtocolLayer2, Interface: ifc})
			}
		}
	}
	if len(st.Announcements) < maxAnnouncements {
		for _, ip := range lowest(maps.Keys(bs.announced), maxAnnouncements-len(st.Announcements)) {
			for _, key := range bs.announced[ip] {
				st.Announcements = append(st.Announcements, v1alpha1.Announcement{IP: ip.String(), Service: key, Protocol: ProtocolBGP})
			}
		}
	}
	bgpOnly := 0
	for ip := range bs.announced {
		if _, ok := plan.L2[ip]; !ok {
			bgpOnly++
		}
	}
	st.Announced = int32(len(plan.L2) + bgpOnly)
	if len(st.Announcements) > maxAnnouncements {
		st.Announcements = st.Announcements[:maxAnnouncements]
	}
	for _, s := range bs.sessions {
		ss := v1alpha1.BGPSessionStatus{Peer: s.Peer, PeerAddress: s.Address.String(), State: s.State, PrefixesSent: int32(min(s.PrefixesSent, 1<<31-1)), LastError: s.LastError}
		ss.Change = bs.changes[s.Peer]
		ss.PeerASN = int64(s.PeerASN)
		if !s.Since.IsZero() {
			since := metav1.NewTime(s.Since.Truncate(time.Second))
			ss.Since = &since
		}
		ss.BFD = bfdStatus(bs.bfd, s.Address)
		if s.State == "Established" {
			st.SessionsEstablished++
		}
		st.BGPSessions = append(st.BGPSessions, ss)
	}

	conflict := metav1.Condition{Type: ConditionLayer2Conflict, Status: metav1.ConditionFalse, Reason: "NoConflict", Message: "no other MAC answers for this node's addresses"}
	var seen []string
	for ip, c := range split.conflicts {
		seen = append(seen, fmt.Sprintf("%s by %s on %s", ip, c.seen.MAC, c.seen.Interface))
	}
	if len(seen) > 0 {
		slices.Sort(seen)
		conflict = metav1.Condition{Type: ConditionLayer2Conflict, Status: metav1.ConditionTrue, Reason: "OtherMACAnswers", Message: "also answered: " + strings.Join(seen, "; ")}
		if len(split.yield) > 0 {
			conflict.Message += " (this node sees a minority of the speakers and yields)"
		}
	}
	ok := metav1.Condition{Type: ConditionAnnouncing, Status: metav1.ConditionTrue, Reason: "Applied",
		Message: fmt.Sprintf("%d addresses over Layer2, %d over BGP", len(plan.L2), len(bs.announced))}
	if len(bs.problems) > 0 {
		ok.Message += "; " + strings.Join(bs.problems, "; ")
	}
	switch {
	case applyErr != nil:
		ok = metav1.Condition{Type: ConditionAnnouncing, Status: metav1.ConditionFalse, Reason: "InterfaceError", Message: applyErr.Error()}
	case bs.err != nil:
		ok = metav1.Condition{Type: ConditionAnnouncing, Status: metav1.ConditionFalse, Reason: "BGPError", Message: bs.err.Error()}
	case len(plan.NoInterface) > 0:
		ok = metav1.Condition{Type: ConditionAnnouncing, Status: metav1.ConditionFalse, Reason: ReasonNoInterface,
			Message: fmt.Sprintf("no usable interface to answer on (missing or down, or the L2Advertisement's interfaces name none of this node's); handed to the next node, retrying: %v", plan.NoInterface)}
	}
	st.Conditions = []metav1.Condition{conflict, ok}
	if bs.cond.Type != "" {
		st.Conditions = append(st.Conditions, bs.cond)
	}
	return st
}

// lowest returns the n lowest of ips, in order: a sorted window kept while
// reading them, so that listing the first few of 50,000 addresses does not
// sort them all.
func lowest(ips iter.Seq[netip.Addr], n int) []netip.Addr {
	if n <= 0 {
		return nil
	}
	out := make([]netip.Addr, 0, n)
	for ip := range ips {
		if len(out) == n && ip.Compare(out[n-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(out, ip, netip.Addr.Compare)
		if len(out) == n {
			out = out[:n-1]
		}
		out = slices.Insert(out, i, ip)
	}
	return out
}
