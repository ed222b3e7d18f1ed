package e2e

import (
	"fmt"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/election"
	"github.com/pylonlb/pylon/test/lab"
)

// TestRollingRestartClaimsNothing restarts every speaker one after the
// other, as a DaemonSet rolling update does, while the local client probes
// every layer-2 address every 20 ms and records which node answers. A
// starting speaker must not answer for an address it does not own (before
// it has heard from the others it would own them all): each address is
// answered only by its owner, or by the next in its ranking while the owner
// itself restarts, with at most one lost probe per address per restart.
// A restarted speaker sends no Announcing event: it announces what it
// announced before.
func TestRollingRestartClaimsNothing(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	// pylon as processes: each speaker is stopped and started again at
	// once, so that only the speaker's own start-up is measured; the
	// DaemonSet's rolling update is TestCluster's RollingSpeakerUpdate.
	p := startPylon(t, l)
	var vips []netip.Addr
	for i := range 4 {
		_, ips := service(t, l, fmt.Sprintf("web%d", i), false)
		vips = append(vips, ips[0])
	}
	var nodes []string
	for _, n := range l.Nodes {
		nodes = append(nodes, n.Name)
	}
	samplers := make([]*lab.Sampler, len(vips))
	for i, vip := range vips {
		owner, _ := election.Owner(vip, nodes)
		if got := waitOwner(t, l, vip, 20*time.Second); got != owner {
			t.Fatalf("%s answered by %s, want its owner %s", vip, got, owner)
		}
		samplers[i] = l.LocalClient.StartSampler(t.Context(), vip, 80)
	}
	time.Sleep(500 * time.Millisecond)
	// A restarted speaker announces what it announced before: it sends no
	// Announcing event (its successor's takeover and return do).
	restartEvents := 0
	for _, n := range l.Nodes {
		before := countEventsNoted(t, l, speaker.ReasonAnnouncing, "node "+n.Name+" ")
		if err := p.speakers[n.Name].Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		restart(t, p, n.Name)
		time.Sleep(time.Second)
		after := countEventsNoted(t, l, speaker.ReasonAnnouncing, "node "+n.Name+" ")
		t.Logf("%s: Announcing events from it %d before its restart, %d after", n.Name, before, after)
		restartEvents += after - before
	}
	if restartEvents != 0 {
		t.Errorf("restarted speakers sent %d Announcing events for addresses they announced before", restartEvents)
	}
	for i, vip := range vips {
		rep, _ := samplers[i].Stop()
		ranked := election.Ranked(vip, nodes)
		allowed := ranked[:2] // the owner, and its successor while it restarts
		t.Logf("%s (owner %s, then %s): %d probes, %d lost, answers %v, longest gap %v",
			vip, ranked[0], ranked[1], rep.Samples, rep.Failures, rep.Answers, rep.LongestGap.Round(time.Millisecond))
		for node, n := range rep.Answers {
			if !slices.Contains(allowed, node) {
				t.Errorf("%s was answered %d times by %s, which never owned it (allowed: %v)", vip, n, node, allowed)
			}
		}
		if rep.Failures > len(nodes) {
			t.Errorf("%s: %d probes lost over %d restarts, want at most one per restart", vip, rep.Failures, len(nodes))
		}
	}
}
