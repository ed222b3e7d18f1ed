package e2e

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/speaker/election"
)

// clusterDrainOwner takes the owner of a layer-2 address through node
// maintenance as docs/speaker-layer2.md describes it, with the real
// kubectl, while the local client probes the address over HTTP every
// 20 ms and ARP every 100 ms:
//
//  1. `kubectl drain` (--ignore-daemonsets --delete-emptydir-data): the
//     node is cordoned and its pods evicted, but its speaker is a
//     DaemonSet pod and stays, and an unschedulable node stays eligible:
//     the address does not move;
//  2. `kubectl label` with node.kubernetes.io/exclude-from-external-load-balancers:
//     the address moves to the next node;
//  3. `kubectl label …-` and `kubectl uncordon`: it moves back.
//
// Every HTTP probe must be answered throughout, and ARP by the owner, with
// exactly those two moves (each allowed handoffProbes ARP probes that
// find both nodes answering, or none). The owner is the node without a backend
// pod, so that no probe depends on an evicted pod's endpoint going away in
// time (that is kube-proxy's and the pod's graceful shutdown, not pylon).
func clusterDrainOwner(t *testing.T, c *cluster) {
	l, ctx := c.lab, c.ctx
	pl := newOwnedService(t, c, "drain")
	owner, next := pl.owner, pl.successor
	kubectl := func(args ...string) {
		t.Helper()
		began := time.Now()
		out, err := l.API.Kubectl(ctx, args...)
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		t.Logf("kubectl %v (%v):\n%s", args, time.Since(began).Round(time.Millisecond), out)
	}
	httpS := l.LocalClient.StartSampler(ctx, pl.ip, 80)
	arpS := startARPSampling(ctx, l, pl.ip)
	time.Sleep(300 * time.Millisecond)

	drained := time.Now()
	kubectl("drain", owner, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=90s")
	var n corev1.Node
	if err := l.Client.Get(ctx, client.ObjectKey{Name: owner}, &n); err != nil {
		t.Fatal(err)
	}
	if !n.Spec.Unschedulable {
		t.Errorf("%s schedulable after kubectl drain", owner)
	}
	// Long enough for every speaker to have seen the cordon.
	time.Sleep(2 * time.Second)
	labelled := time.Now()
	if moves := checkWindow(t, httpS, arpS, drained, labelled, "through the drain", 0, owner); len(moves) > 0 {
		t.Errorf("ARP owner changes through the drain: %v, want none", moves)
	}

	kubectl("label", "node", owner, election.ExcludeLabel+"=")
	if got := waitClusterOwner(t, c, pl.ip, 10*time.Second, owner); got != next {
		t.Errorf("%s owned by %s after %s was excluded, want %s", pl.ip, got, owner, next)
	}
	t.Logf("%s moved to %s %v after the label", pl.ip, next, time.Since(labelled).Round(time.Millisecond))
	restored := time.Now()
	kubectl("label", "node", owner, election.ExcludeLabel+"-")
	kubectl("uncordon", owner)
	if got := waitClusterOwner(t, c, pl.ip, 10*time.Second, next); got != owner {
		t.Errorf("%s owned by %s after %s was uncordoned and its label removed, want %s", pl.ip, got, owner, owner)
	}
	t.Logf("%s back on %s %v after the label's removal", pl.ip, owner, time.Since(restored).Round(time.Millisecond))
	time.Sleep(500 * time.Millisecond)
	end := time.Now()
	hr, _ := httpS.Stop()
	arpS.Stop()
	moves := checkWindow(t, httpS, arpS, drained, end, "from the drain to the uncordon", 2, owner, next)
	if len(moves) != 2 || moves[0].At.Before(labelled) || moves[0].To != next || moves[1].At.Before(restored) || moves[1].To != owner {
		t.Errorf("ARP owner changes: %v, want %s to %s after the label and back after its removal", moves, owner, next)
	}
	t.Logf("HTTP: %d probes, %d unanswered, longest gap %v", hr.Samples, hr.Failures, hr.LongestGap.Round(time.Millisecond))
	pl.close(t)
	waitPylonReady(t, c, 90*time.Second)
	waitBackendReady(t, c)
}
