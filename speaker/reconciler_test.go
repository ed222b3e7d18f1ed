package speaker_test

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/election"
	"github.com/pylonlb/pylon/speaker/layer2"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/poll"
)

// TestReconcilerStatusEventsAndSplitBrain runs the speaker's reconciler
// against a real API server with a fake announcer, a fake memberlist and a
// fake clock, through a split-brain episode on a three-node cluster:
// status (announcements, conditions), Service events (Announcing, one
// Layer2Conflict per episode) and the split-brain policy (a majority
// reclaims, a minority stops answering for the address, a majority again
// answers for it again, the conflict is forgotten 10 s after its last
// packet).
func TestReconcilerStatusEventsAndSplitBrain(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ctx := t.Context()
	nodes := []string{"n1", "n2", "n3"}
	for i, n := range nodes {
		createNode(t, c, n, fmt.Sprintf("198.18.0.%d", 11+i))
	}
	// n2 and n3 are known speakers (a SpeakerStatus with an address).
	for i, n := range nodes[1:] {
		must(t, c.Create(ctx, &v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: n},
			Spec: v1alpha1.SpeakerStatusSpec{MemberlistAddress: fmt.Sprintf("198.18.0.%d:7946", 12+i)}}))
	}
	layer2Pool(t, c, "198.51.100.0/24")
	// An address n1 owns among all three and among n1 and n2.
	var vip netip.Addr
	for i := 1; i < 255 && !vip.IsValid(); i++ {
		ip := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		if o, _ := election.Owner(ip, nodes); o == "n1" {
			vip = ip
		}
	}
	lbService(t, c, "web", "n1", vip)

	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	ann := &recordingAnnouncer{}
	m := members(nodes...)
	r, _ := startSpeaker(t, env, speaker.Options{
		Node: "n1", Namespace: "pylon-system", Announcer: ann, Members: m, Links: eth0("198.51.100.0/24"), Clock: clk,
		Version: "v9.9.9",
	}, nil)
	// advance moves the clock on and wakes the reconciler: status writes
	// are at most one a second of the clock.
	advance := func(d time.Duration) { clk.Step(d); m.poke() }
	status := func(what string, f func(v1alpha1.SpeakerStatusStatus) bool) {
		t.Helper()
		advance(time.Second)
		poll.Eventually(t, 20*time.Millisecond, 20*time.Second, what, func() bool { return f(speakerStatus(t, c, "n1").Status) })
	}
	cond := func(st v1alpha1.SpeakerStatusStatus, typ string) metav1.Condition {
		if c := meta.FindStatusCondition(st.Conditions, typ); c != nil {
			return *c
		}
		return metav1.Condition{}
	}
	events := func(reason string) int { return eventCount(t, c, reason, "web") }
	conflictPacket := func() {
		r.OnConflict(layer2.Conflict{IP: vip, MAC: net.HardwareAddr{2, 0, 0, 0, 0, 9}, Interface: "eth0"})
	}
	// onePass waits for a pass after now.
	onePass := func() {
		t.Helper()
		n := ann.passes()
		m.poke()
		poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "a pass", func() bool { return ann.passes() > n })
	}

	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "n1 to answer for "+vip.String(), func() bool { return ann.has(vip) })
	status("the status to list it", func(st v1alpha1.SpeakerStatusStatus) bool {
		return st.Announced == 1 && len(st.Announcements) == 1 && st.Announcements[0] == v1alpha1.Announcement{IP: vip.String(), Service: "default/web", Protocol: "Layer2", Interface: "eth0"} &&
			st.MembersAlive == 3 && cond(st, speaker.ConditionAnnouncing).Status == metav1.ConditionTrue &&
			cond(st, speaker.ConditionLayer2Conflict).Reason == "NoConflict"
	})
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "one Announcing event", func() bool { return events(speaker.ReasonAnnouncing) == 1 })
	// pylonctl reads the node and address back from the note, and the
	// speaker's version from its SpeakerStatus (only its own).
	if _, notes := serviceEvents(t, c, "web", speaker.ReasonAnnouncing); len(notes) != 1 {
		t.Fatalf("Announcing notes %q", notes)
	} else if node, ip, ok := speaker.NoteSubject(notes[0]); !ok || node != "n1" || ip != vip {
		t.Errorf("NoteSubject(%q) = %s, %s, %v", notes[0], node, ip, ok)
	}
	if v, other := speakerStatus(t, c, "n1").Labels[v1alpha1.LabelVersion], speakerStatus(t, c, "n2").Labels[v1alpha1.LabelVersion]; v != "v9.9.9" || other != "" {
		t.Errorf("version labels: n1 %q (want v9.9.9), n2 %q (want none)", v, other)
	}

	// Another MAC answers while n1 sees all three: it keeps the address
	// and reclaims it.
	conflictPacket()
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "a reclaiming burst", func() bool { return ann.reannounced(vip) == 1 })
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "one Layer2Conflict event", func() bool { return events(speaker.ReasonL2Conflict) == 1 })
	status("Layer2Conflict=True", func(st v1alpha1.SpeakerStatusStatus) bool {
		c := cond(st, speaker.ConditionLayer2Conflict)
		return c.Status == metav1.ConditionTrue && c.Message == "also answered: "+vip.String()+" by 02:00:00:00:00:09 on eth0"
	})
	conflictPacket()
	onePass()
	if !ann.has(vip) {
		t.Fatal("a majority speaker stopped answering for a contested address")
	}

	// Partitioned: n1 sees only itself. Another packet: it yields.
	m.setLive("n1")
	conflictPacket()
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "n1 to stop answering for "+vip.String(), func() bool { return !ann.has(vip) })
	status("the yield in the status", func(st v1alpha1.SpeakerStatusStatus) bool {
		return st.Announced == 0 && strings.HasSuffix(cond(st, speaker.ConditionLayer2Conflict).Message, "(this node sees a minority of the speakers and yields)")
	})
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "StoppedAnnouncing: this node yields it", func() bool {
		n, notes := serviceEvents(t, c, "web", speaker.ReasonStoppedAnnouncing)
		return n == 1 && strings.Contains(notes[0], "this node yields it")
	})

	// Healed: n1 sees all three again and answers again.
	m.setLive(nodes...)
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "n1 to answer for "+vip.String()+" again", func() bool { return ann.has(vip) })
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "a second Announcing event", func() bool { return events(speaker.ReasonAnnouncing) == 2 })

	// 10 s after the last packet the conflict is forgotten; a new packet
	// is a new episode.
	advance(11 * time.Second)
	status("Layer2Conflict=False", func(st v1alpha1.SpeakerStatusStatus) bool {
		return cond(st, speaker.ConditionLayer2Conflict).Status == metav1.ConditionFalse && st.Announced == 1
	})
	if n := events(speaker.ReasonL2Conflict); n != 1 {
		t.Fatalf("%d Layer2Conflict events for one episode of three packets, want 1", n)
	}
	conflictPacket()
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "a second Layer2Conflict event for the second episode", func() bool { return events(speaker.ReasonL2Conflict) == 2 })
	time.Sleep(500 * time.Millisecond)
	if a, l, s := events(speaker.ReasonAnnouncing), events(speaker.ReasonL2Conflict), events(speaker.ReasonStoppedAnnouncing); a != 2 || l != 2 || s != 1 {
		t.Fatalf("events Announcing %d, Layer2Conflict %d, StoppedAnnouncing %d; want 2, 2, 1", a, l, s)
	}
}
