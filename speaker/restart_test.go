package speaker_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/election"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/poll"
)

// TestRestartSendsNoServiceEvents: a speaker announces five Services; a
// new process on the same node (a restart) announces the same and sends no
// Announcing or StoppedAnnouncing event; then real changes send exactly
// their own: a new Service one Announcing, a second node coming up one
// StoppedAnnouncing for each address it now owns.
func TestRestartSendsNoServiceEvents(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	const node, other = "n1", "n2"
	createNode(t, c, node, "198.18.0.11")
	createNode(t, c, other, "198.18.0.12")
	layer2Pool(t, c, "198.51.100.0/24")
	var names []string
	vips := map[string]netip.Addr{}
	for i := range 6 {
		name := fmt.Sprintf("web%d", i)
		names = append(names, name)
		vips[name] = netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)})
	}
	for _, name := range names[:5] {
		lbService(t, c, name, node, vips[name])
	}
	count := func(reason string) int { return eventCount(t, c, reason, names...) }
	opts := func(ann *recordingAnnouncer, m *fakeMembers, version string) speaker.Options {
		return speaker.Options{Node: node, Namespace: "pylon-system", Announcer: ann, Members: m, Links: eth0("198.51.100.0/24"), Version: version}
	}
	answersAll := func(ann *recordingAnnouncer, of []string) func() bool {
		return func() bool {
			for _, name := range of {
				if !ann.has(vips[name]) {
					return false
				}
			}
			return true
		}
	}

	first := &recordingAnnouncer{}
	_, stop := startSpeaker(t, env, opts(first, members(node), "v0.1.0"), nil)
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "the first process to answer for the five addresses", answersAll(first, names[:5]))
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "five Announcing events", func() bool { return count(speaker.ReasonAnnouncing) == 5 })
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "the SpeakerStatus to list the five", func() bool { return speakerStatus(t, c, node).Status.Announced == 5 })
	if v := speakerStatus(t, c, node).Labels[v1alpha1.LabelVersion]; v != "v0.1.0" {
		t.Errorf("the first process's SpeakerStatus says version %q, want v0.1.0", v)
	}
	stop()
	before := count(speaker.ReasonAnnouncing)

	// The restart: a new reconciler, its own announcer, nothing carried
	// over but what the API server holds.
	restarted := &recordingAnnouncer{}
	m := members(node)
	startSpeaker(t, env, opts(restarted, m, "v0.2.0"), nil)
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "the restarted process to answer for the five addresses", answersAll(restarted, names[:5]))
	// An upgrade: the SpeakerStatus says the new version.
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "the SpeakerStatus to say v0.2.0", func() bool { return speakerStatus(t, c, node).Labels[v1alpha1.LabelVersion] == "v0.2.0" })
	// Events are written within milliseconds of the pass; give them a
	// second to show.
	time.Sleep(time.Second)
	after, stopped := count(speaker.ReasonAnnouncing), count(speaker.ReasonStoppedAnnouncing)
	t.Logf("Announcing events: %d before the restart, %d after it; StoppedAnnouncing: %d", before, after, stopped)
	if after != before || stopped != 0 {
		t.Fatalf("the restart sent events: Announcing %d -> %d, StoppedAnnouncing %d; want no change", before, after, stopped)
	}

	// A new Service: exactly its Announcing.
	lbService(t, c, names[5], node, vips[names[5]])
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "the sixth address answered", answersAll(restarted, names))
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "one more Announcing", func() bool { return count(speaker.ReasonAnnouncing) == before+1 })
	if n, _ := serviceEvents(t, c, names[5], speaker.ReasonAnnouncing); n != 1 {
		t.Fatalf("%s has %d Announcing events, want 1", names[5], n)
	}

	// A second node comes up: the addresses it owns move away, each with
	// exactly one StoppedAnnouncing naming it.
	var moved []string
	for _, name := range names {
		if owner, _ := election.Owner(vips[name], []string{node, other}); owner == other {
			moved = append(moved, name)
		}
	}
	if len(moved) == 0 {
		t.Fatal("no test address is owned by n2 among n1 and n2: pick others")
	}
	m.setLive(node, other)
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, fmt.Sprintf("%d StoppedAnnouncing events", len(moved)), func() bool { return count(speaker.ReasonStoppedAnnouncing) == len(moved) })
	time.Sleep(time.Second)
	for _, name := range names {
		n, notes := serviceEvents(t, c, name, speaker.ReasonStoppedAnnouncing)
		want := 0
		if slices.Contains(moved, name) {
			want = 1
		}
		if n != want || want == 1 && !strings.Contains(notes[0], "node n2 owns it") {
			t.Fatalf("%s: %d StoppedAnnouncing events %q, want %d naming n2", name, n, notes, want)
		}
	}
	if n := count(speaker.ReasonAnnouncing); n != before+1 {
		t.Fatalf("Announcing events %d after the move, want %d", n, before+1)
	}
	t.Logf("after a new Service and n2 up: %d Announcing, %d StoppedAnnouncing (%d addresses moved to n2)",
		count(speaker.ReasonAnnouncing), count(speaker.ReasonStoppedAnnouncing), len(moved))
}

// TestRestartOverBGPSendsNoServiceEvents: a speaker announces three
// Services over BGP; after a restart its BGP sessions are down for a
// moment, which is no StoppedAnnouncing, and once they are up the same
// addresses are no Announcing. When a session drops later, that is told.
func TestRestartOverBGPSendsNoServiceEvents(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ctx := t.Context()
	const node = "n1"
	createNode(t, c, node, "198.18.0.11")
	must(t, c.Create(ctx, gen.IPPool("pool", gen.Addresses("198.51.100.0/24"))))
	must(t, c.Create(ctx, gen.BGPAdvertisement("pool", gen.BGPPools("pool"))))
	must(t, c.Create(ctx, &v1alpha1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "r1"}, Spec: v1alpha1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513, PeerAddress: "198.18.0.1"}}))
	names := []string{"web0", "web1", "web2"}
	for i, name := range names {
		lbService(t, c, name, node, netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)}))
	}
	count := func(reason string) int { return eventCount(t, c, reason, names...) }
	start := func(sp *speaker.FakeBGP) func() {
		_, stop := startSpeaker(t, env, speaker.Options{
			Node: node, Namespace: "pylon-system", Announcer: &recordingAnnouncer{}, Members: members(node), Links: eth0("198.51.100.0/24"),
			StartBGP: func(context.Context, netip.Addr, []netip.Addr) (speaker.BGPSpeaker, error) { return sp, nil },
		}, nil)
		return stop
	}
	bgpListed := func(n int) func() bool {
		return func() bool {
			st := speakerStatus(t, c, node).Status
			k := 0
			for _, a := range st.Announcements {
				if a.Protocol == "BGP" {
					k++
				}
			}
			return k == n && int(st.Announced) == n
		}
	}

	stop := start(speaker.NewFakeBGP(netip.MustParseAddr("198.18.0.11"), true))
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "the status to list three BGP announcements", bgpListed(3))
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "three Announcing events", func() bool { return count(speaker.ReasonAnnouncing) == 3 })
	stop()

	// The restart: the new process's sessions are down at first.
	sp := speaker.NewFakeBGP(netip.MustParseAddr("198.18.0.11"), false)
	start(sp)
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "the restarted speaker to configure its peer", sp.HasPeers)
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "the status to show the sessions down", bgpListed(0))
	time.Sleep(time.Second)
	if n := count(speaker.ReasonStoppedAnnouncing); n != 0 {
		t.Fatalf("%d StoppedAnnouncing events while the restarted speaker's sessions come up, want 0", n)
	}
	sp.SetUp(true)
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "the status to list three BGP announcements again", bgpListed(3))
	time.Sleep(time.Second)
	a, s := count(speaker.ReasonAnnouncing), count(speaker.ReasonStoppedAnnouncing)
	t.Logf("after the restart and its sessions coming up: %d Announcing (3 before), %d StoppedAnnouncing", a, s)
	if a != 3 || s != 0 {
		t.Fatalf("the restart sent events: Announcing 3 -> %d, StoppedAnnouncing %d; want 3, 0", a, s)
	}

	// The sessions were all up: the hold is over, a drop is told.
	sp.SetUp(false)
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "three StoppedAnnouncing events when the session drops", func() bool { return count(speaker.ReasonStoppedAnnouncing) == 3 })
}
