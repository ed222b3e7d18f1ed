package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/memberlistkey"
	"github.com/pylonlb/pylon/speaker/membership"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// TestRejectedEditsKeepTraffic: with real speakers, FRR and a client on the
// segment, an IPPool edit that pylon rejects and a deleted BGP password
// Secret take nothing away: the owner keeps answering ARP, the router keeps
// every next hop and every session, also after every speaker restarted
// while the edit is still rejected (they find the version in force in the
// pool's status).
func TestRejectedEditsKeepTraffic(t *testing.T) {
	// pylon as processes: every speaker is sent SIGTERM and started again
	// at once while the edit is rejected, and their logs are read as they
	// write them (a pod would wait for the kubelet's restart).
	l, p, secret, _, vip, all := passwordBGP(t, false)
	owner := waitOwner(t, l, vip, 20*time.Second)

	// steady checks, for a while, that the owner answers every probe and the
	// router keeps all three sessions and next hops.
	steady := func(t *testing.T, d time.Duration) {
		t.Helper()
		s := l.LocalClient.StartSampler(t.Context(), vip, 80)
		if n := fewestHops(t, l, vip, d); n != len(all) {
			t.Fatalf("the router's next hops for %s fell to %d, want all %d nodes throughout", vip, n, len(all))
		}
		rep, _ := s.Stop()
		t.Logf("%s over %v: %+v", vip, d, rep.Answers)
		if rep.Failures > 0 || rep.Answers[owner] != rep.Samples {
			t.Fatalf("want every probe answered by %s: %d of %d failed, answers %v", owner, rep.Failures, rep.Samples, rep.Answers)
		}
	}

	t.Run("a rejected IPPool edit keeps answers and routes", func(t *testing.T) {
		var pool v1alpha1.IPPool
		if err := l.Client.Get(t.Context(), client.ObjectKey{Name: "lab"}, &pool); err != nil {
			t.Fatal(err)
		}
		// A second IPv6 range overlapping the first: the API server cannot
		// tell, pylon's validation rejects the pool's new generation.
		first := pool.Spec.Addresses[len(pool.Spec.Addresses)-1]
		from := lab.PoolV6.Addr().Next().Next()
		patch := client.MergeFrom(pool.DeepCopy()) // no resourceVersion check: status writes race with it
		pool.Spec.Addresses = append(pool.Spec.Addresses, v1alpha1.AddressRange(from.String()+"-"+from.Next().Next().Next().Next().String()))
		if err := l.Client.Patch(t.Context(), &pool, patch); err != nil {
			t.Fatal(err)
		}
		t.Logf("IPPool lab generation %d adds a range overlapping %s", pool.Generation, first)
		waitReadyFalse(t, l, &pool, func() []metav1.Condition { return pool.Status.Conditions }, "stays in force")
		steady(t, 3*time.Second)
	})

	t.Run("speakers restarted while it is rejected still announce", func(t *testing.T) {
		for _, n := range l.Nodes {
			if err := p.speakers[n.Name].Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			restart(t, p, n.Name)
		}
		owner = waitOwner(t, l, vip, 20*time.Second)
		waitNextHops(t, l, vip, 30*time.Second, all...)
		steady(t, 2*time.Second)
	})

	t.Run("the memberlist key replaced in one edit keeps every member", func(t *testing.T) {
		keyChangeKeepsMembers(t, l, p)
	})

	t.Run("a deleted password Secret keeps the sessions", func(t *testing.T) {
		if err := l.Client.Delete(t.Context(), secret); err != nil {
			t.Fatal(err)
		}
		var peer v1alpha1.BGPPeer
		if err := l.Client.Get(t.Context(), client.ObjectKey{Name: "router"}, &peer); err != nil {
			t.Fatal(err)
		}
		waitReadyFalse(t, l, &peer, func() []metav1.Condition { return peer.Status.Conditions }, "last good password")
		steady(t, 5*time.Second)
		v, err := l.Router.View(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		up := 0
		for _, s := range v.Sessions {
			if s.Established() {
				up++
			}
		}
		if up != len(all) {
			t.Fatalf("%d sessions established, want %d: %+v", up, len(all), v.Sessions)
		}
	})
}

// keyChangeKeepsMembers replaces the memberlist key in one edit of its
// Secret and watches every SpeakerStatus through the rollover's switch to
// the new key (membership.AcceptFirst after the edit): no speaker may ever
// see fewer than all members alive, and no speaker may log that it could
// not decrypt a message.
func keyChangeKeepsMembers(t *testing.T, l *lab.Lab, p *pylon) {
	var sec corev1.Secret
	if err := l.Client.Get(t.Context(), client.ObjectKey{Namespace: pylonNS, Name: "pylon-memberlist"}, &sec); err != nil {
		t.Fatal(err)
	}
	logged := map[string]int{}
	for name, sp := range p.speakers {
		logged[name] = len(sp.Log())
	}
	patch := client.MergeFrom(sec.DeepCopy())
	sec.Data = map[string][]byte{memberlistkey.DataPrimary: memberlistkey.New()}
	if err := l.Client.Patch(t.Context(), &sec, patch); err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(membership.AcceptFirst + 5*time.Second)
	samples := 0
	for time.Now().Before(end) {
		var list v1alpha1.SpeakerStatusList
		if err := l.Client.List(t.Context(), &list); err != nil {
			t.Fatal(err)
		}
		for _, s := range list.Items {
			if int(s.Status.MembersAlive) != len(l.Nodes) {
				t.Fatalf("%s sees %d members alive during the key change: %+v", s.Name, s.Status.MembersAlive, s.Status.Members)
			}
		}
		samples++
		time.Sleep(100 * time.Millisecond)
	}
	for name, sp := range p.speakers {
		if tail := sp.Log()[logged[name]:]; strings.Contains(tail, "decrypt") {
			t.Errorf("speaker on %s could not decrypt during the key change:\n%s", name, tail)
		}
	}
	t.Logf("%d samples of every SpeakerStatus over %v: all members alive throughout", samples, membership.AcceptFirst+5*time.Second)
}

// waitReadyFalse waits until obj's Ready condition is False for its current
// generation with a message holding fragment.
func waitReadyFalse(t *testing.T, l *lab.Lab, obj client.Object, conds func() []metav1.Condition, fragment string) {
	t.Helper()
	poll.Eventually(t, 50*time.Millisecond, 20*time.Second, fmt.Sprintf("%s Ready=False saying %q", obj.GetName(), fragment), func() (bool, string) {
		if err := l.Client.Get(t.Context(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err.Error()
		}
		r := meta.FindStatusCondition(conds(), v1alpha1.ConditionReady)
		if r == nil || r.Status != metav1.ConditionFalse || r.ObservedGeneration != obj.GetGeneration() || !strings.Contains(r.Message, fragment) {
			return false, fmt.Sprintf("%+v", r)
		}
		return true, r.Message
	})
}
