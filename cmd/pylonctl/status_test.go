package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/poll"
)

// TestStatus runs pylon's controller against a real API server, with the
// pods and SpeakerStatuses a three-node cluster has, and reads the verdict
// of pylonctl status: healthy; then with a fault of every kind it knows at
// once, each reported; then without a leader.
func TestStatus(t *testing.T) {
	k := startCluster(t)
	nodes := []string{"node-a", "node-b", "node-c"}
	for i, n := range nodes {
		k.node(n, fmt.Sprintf("198.18.0.%d", i+1))
	}
	stopController := k.startController("v0.1.0")
	k.pool("default", []string{"198.51.100.0/28", "2001:db8:1::/124"})
	k.create(
		gen.L2Advertisement("lab", gen.L2Pools("default")),
		&v1alpha1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "router"}, Spec: v1alpha1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513, PeerAddress: "192.0.2.1"}},
	)
	k.pod("pylon-controller-1", "controller", "node-a", true)
	pods := map[string]string{}
	for _, n := range nodes {
		pods[n] = "pylon-speaker-" + strings.TrimPrefix(n, "node-")
		k.pod(pods[n], "speaker", n, true)
	}
	established := func(st *v1alpha1.SpeakerStatus) {
		since := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
		st.Status.BGPSessions = []v1alpha1.BGPSessionStatus{{Peer: "router", PeerAddress: "192.0.2.1", State: "Established", Since: &since, PrefixesSent: 3}}
		st.Status.SessionsEstablished = 1
	}
	for _, n := range nodes {
		k.speakerStatus(n, nodes, established)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("healthy", func(t *testing.T) {
		poll.Eventually(t, 50*time.Millisecond, 15*time.Second, "the controller's view of every object", func() bool {
			var r statusReport
			return k.ctlJSON(&r, "status") == exitOK
		})
		code, out, errOut := k.ctl("status")
		if code != exitOK {
			t.Fatalf("exit %d, want 0:\n%s%s", code, out, errOut)
		}
		for _, want := range []string{
			"Controller:    leader " + host + " (Lease pylon-system/pylon-controller.pylonlb.io, renewed ",
			"Speakers:      3 on 3 nodes, 3 Ready",
			"BGP sessions:  3/3 Established",
			"node-b  pylon-speaker-b  yes    3/3      1/1  0          -",
			"default  IPv4    0          16         16     Ready",
			"default  IPv6    0          16         16     Ready",
			"\nHealthy\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		var r statusReport
		if code := k.ctlJSON(&r, "status"); code != exitOK || !r.Healthy || r.Controller.Leader.Pod != host || r.Controller.Leader.Version != "v0.1.0" ||
			r.BGPSessions != (sessionCount{3, 3}) || len(r.Speakers) != 3 || r.Speakers[0].MembersAlive != 3 || len(r.Pools) != 2 || len(r.Problems) != 0 {
			t.Errorf("exit %d, report %+v", code, r)
		}
		code, out, _ = k.ctl("status", "-o", "yaml")
		if code != exitOK || !strings.Contains(out, "healthy: true\n") || !strings.Contains(out, "\n  name: default\n") {
			t.Errorf("-o yaml: exit %d:\n%s", code, out)
		}
	})

	t.Run("every fault reported", func(t *testing.T) {
		k.pool("overlap", []string{"198.51.100.8/29"})
		k.create(gen.BGPAdvertisement("ghost", gen.BGPPools("missing")))
		k.speakerStatus("node-a", []string{"node-a", "node-b"}, established)
		k.speakerStatus("node-b", nodes, func(st *v1alpha1.SpeakerStatus) {
			established(st)
			st.Status.Conditions[0] = metav1.Condition{Type: "Layer2Conflict", Status: metav1.ConditionTrue, Reason: "OtherMACAnswers",
				Message: "also answered: 198.51.100.3 by 02:00:00:00:00:09 on eth0", LastTransitionTime: metav1.Now()}
		})
		k.speakerStatus("node-c", nodes, func(st *v1alpha1.SpeakerStatus) {
			st.Status.BGPSessions = []v1alpha1.BGPSessionStatus{{Peer: "router", PeerAddress: "192.0.2.1", State: "Active", LastError: "dial tcp 192.0.2.1:179: i/o timeout"}}
		})
		k.setPodReady(k.getPod(pods["node-c"]), false)
		k.node("node-d", "198.18.0.4")
		want := []string{
			"BGPAdvertisement ghost: Invalid",
			"IPPool overlap: Overlapping",
			"Pod pylon-system/pylon-speaker-c: NotReady",
			"SpeakerStatus node-a: MembersMissing",
			"SpeakerStatus node-b: Layer2Conflict",
			"SpeakerStatus node-c: BGPSessionDown",
		}
		var r statusReport
		poll.Eventually(t, 50*time.Millisecond, 15*time.Second, "every fault in the report", func() (bool, string) {
			r = statusReport{}
			k.ctlJSON(&r, "status")
			return slices.Equal(findings(r.Problems), want), fmt.Sprint(findings(r.Problems))
		})
		if code := k.ctlJSON(&r, "status"); code != exitProblem || r.Healthy {
			t.Errorf("exit %d, healthy %v; want 1, false", code, r.Healthy)
		}
		if got := findings(r.Warnings); !slices.Equal(got, []string{"Node node-d: NoSpeaker"}) {
			t.Errorf("warnings %v", got)
		}
		if r.BGPSessions != (sessionCount{2, 3}) {
			t.Errorf("sessions %v, want 2/3", r.BGPSessions)
		}
		code, out, _ := k.ctl("status")
		if !regexp.MustCompile(`\noverlap .*NotReady, Overlapping\n`).MatchString(out) {
			t.Errorf("no pool row for overlap with its conditions:\n%s", out)
		}
		for _, w := range []string{
			"SpeakerStatus node-a: MembersMissing: memberlist sees 2 of 3 speakers alive; not alive: node-c",
			"SpeakerStatus node-c: BGPSessionDown: session with router (192.0.2.1) is Active; last error: dial tcp 192.0.2.1:179: i/o timeout",
			"node-b  pylon-speaker-b  yes    3/3      1/1  0          Layer2Conflict=True (OtherMACAnswers)",
			"node-d  -                -      -        -    -          -",
			"Unhealthy: 6 problems",
		} {
			if code != exitProblem || !strings.Contains(out, w) {
				t.Errorf("exit %d; output lacks %q:\n%s", code, w, out)
			}
		}
	})

	t.Run("no leader", func(t *testing.T) {
		stopController()
		var r statusReport
		k.ctlJSON(&r, "status")
		if r.Controller.Leader.Pod != "" || !slices.Contains(findings(r.Problems), "Lease pylon-system/pylon-controller.pylonlb.io: NoLeader") {
			t.Errorf("a released lease: leader %+v, problems %v", r.Controller.Leader, findings(r.Problems))
		}
		// A holder that stopped renewing.
		lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: pylonNS, Name: v1alpha1.ControllerLease}}
		k.update(lease, false, func() {
			holder, d := "pylon-controller-old_0b5c", int32(15)
			lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds = &holder, &d
			lease.Spec.RenewTime = &metav1.MicroTime{Time: time.Now().Add(-time.Minute)}
		})
		r = statusReport{}
		if code := k.ctlJSON(&r, "status"); code != exitProblem || r.Controller.Leader.Pod != "pylon-controller-old" || !r.Controller.Leader.Expired ||
			!slices.Contains(findings(r.Problems), "Lease pylon-system/pylon-controller.pylonlb.io: LeaseExpired") {
			t.Errorf("an expired lease: exit %d, leader %+v, problems %v", code, r.Controller.Leader, findings(r.Problems))
		}
		if err := k.c.Delete(t.Context(), lease); err != nil {
			t.Fatal(err)
		}
		r = statusReport{}
		k.ctlJSON(&r, "status")
		if !slices.Contains(findings(r.Warnings), "Lease pylon-system/pylon-controller.pylonlb.io: NoLease") {
			t.Errorf("no Lease, a Ready controller pod: warnings %v", findings(r.Warnings))
		}
	})
}
