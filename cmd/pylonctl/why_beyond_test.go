package main

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/gen"
)

// beyondTheList sets up n layer-2 Services that only node-a may answer
// for (an L2Advertisement selects it alone), their addresses written as
// the controller writes them, and node-a's SpeakerStatus as its speaker
// writes it: two interfaces an address, so that its list (256 entries)
// stops short of the last addresses. It returns the Services, in address
// order, and every entry node-a's status would list without a limit.
func beyondTheList(k *cluster, n int) ([]*corev1.Service, []v1alpha1.Announcement) {
	k.node("node-a", "198.18.0.1", "pick", "a")
	k.node("node-b", "198.18.0.2")
	k.pod("pylon-speaker-a", "speaker", "node-a", true)
	k.pod("pylon-speaker-b", "speaker", "node-b", true)
	k.create(
		gen.IPPool("many", gen.Addresses("198.51.0.0/16")),
		&v1alpha1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "only-a"}, Spec: v1alpha1.L2AdvertisementSpec{
			NodeSelector: &v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{"pick": "a"}}}},
	)
	var svcs []*corev1.Service
	var entries []v1alpha1.Announcement
	for i := range n {
		s := k.lbService("default", fmt.Sprintf("s%04d", i))
		ip := nth(i)
		k.update(s, true, func() { s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip.String()}} })
		svcs = append(svcs, s)
		for _, ifc := range []string{"eth0", "eth1"} {
			entries = append(entries, v1alpha1.Announcement{IP: ip.String(), Service: "default/" + s.Name, Protocol: "Layer2", Interface: ifc})
		}
	}
	both := []string{"node-a", "node-b"}
	k.speakerStatus("node-a", both, listed(entries, n))
	k.speakerStatus("node-b", both, nil)
	return svcs, entries
}

// nth is the i-th Service's address, in address order.
func nth(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 51, byte(1 + i/250), byte(1 + i%250)})
}

// listed is a SpeakerStatus listing the first 256 of entries and counting
// announced addresses.
func listed(entries []v1alpha1.Announcement, announced int) func(*v1alpha1.SpeakerStatus) {
	return func(st *v1alpha1.SpeakerStatus) {
		st.Status.Announcements = slices.Clone(entries[:min(len(entries), 256)])
		st.Status.Announced = int32(announced)
	}
}

// TestWhyBeyondTheList: an owner whose SpeakerStatus lists only its first
// 256 announcements is checked, for an address beyond them, by its event
// on the Service (newer than its pod), else by recomputing everything it
// announces against its count and list; an address within the list by the
// list.
func TestWhyBeyondTheList(t *testing.T) {
	k := startCluster(t)
	const n = 130
	svcs, entries := beyondTheList(k, n)
	last := svcs[n-1]
	lastIP := nth(n - 1)
	both := []string{"node-a", "node-b"}
	checkOf := func(t *testing.T, svc string) (check, int) {
		t.Helper()
		var r whyReport
		code := k.ctlJSON(&r, "why", "svc/"+svc, "-n", "default")
		if len(r.Addresses) != 1 || r.Addresses[0].Layer2 == nil || r.Addresses[0].Layer2.Owner != "node-a" || r.Addresses[0].Layer2.Check == nil {
			t.Fatalf("exit %d, report %+v", code, r)
		}
		return *r.Addresses[0].Layer2.Check, code
	}

	t.Run("listed", func(t *testing.T) {
		if c, code := checkOf(t, svcs[3].Name); code != exitOK || c.Result != confirmed || c.By != bySpeakerStatus {
			t.Errorf("exit %d, check %+v", code, c)
		}
	})
	t.Run("beyond the list: confirmed by count", func(t *testing.T) {
		c, code := checkOf(t, last.Name)
		want := regexp.MustCompile(`^SpeakerStatus node-a lists 256 entries for 130 addresses and 198\.51\.1\.130 is beyond them; .*; recomputing all \d+ Services gives node node-a the 130 addresses its SpeakerStatus counts, and the same first ones it lists$`)
		if code != exitOK || c.Result != confirmed || c.By != byCount || !want.MatchString(c.Detail) {
			t.Errorf("exit %d, check %+v", code, c)
		}
	})
	t.Run("a count that differs leaves it unverified", func(t *testing.T) {
		k.speakerStatus("node-a", both, listed(entries, n+1))
		defer k.speakerStatus("node-a", both, listed(entries, n))
		c, code := checkOf(t, last.Name)
		if code != exitOK || c.Result != unverified || c.By != "" || !strings.Contains(c.Detail, "gives node node-a 130 addresses, its SpeakerStatus counts 131") {
			t.Errorf("exit %d, check %+v", code, c)
		}
	})
	t.Run("a list that differs leaves it unverified", func(t *testing.T) {
		swapped := slices.Clone(entries)
		for i := range swapped {
			if swapped[i].IP == nth(4).String() {
				swapped[i].IP = "198.51.200.1"
			}
		}
		k.speakerStatus("node-a", both, listed(swapped, n))
		defer k.speakerStatus("node-a", both, listed(entries, n))
		c, _ := checkOf(t, last.Name)
		if c.Result != unverified || !strings.Contains(c.Detail, "its list differs: 198.51.1.5 over Layer2 not listed; 198.51.200.1 over Layer2 listed, not recomputed") {
			t.Errorf("check %+v", c)
		}
	})
	t.Run("beyond the list: the owner's event", func(t *testing.T) {
		pod := k.getPod("pylon-speaker-a")
		k.speakerEvent(last, "Announcing", "node node-a announces "+lastIP.String()+" over Layer2 on [eth0 eth1]", time.Now())
		c, code := checkOf(t, last.Name)
		if code != exitOK || c.Result != confirmed || c.By != byEvent || !strings.Contains(c.Detail, "node node-a announces "+lastIP.String()) {
			t.Errorf("exit %d, check %+v", code, c)
		}
		k.speakerEvent(last, "StoppedAnnouncing", "node node-a stopped announcing "+lastIP.String()+": node node-b owns it", time.Now().Add(time.Second))
		c, code = checkOf(t, last.Name)
		if code != exitProblem || c.Result != contradicted || c.By != byEvent {
			t.Errorf("exit %d, check %+v", code, c)
		}
		// Events from before the speaker pod started say nothing about
		// what it does now: the count decides.
		if err := k.c.DeleteAllOf(t.Context(), &eventsv1.Event{}, client.InNamespace("default")); err != nil {
			t.Fatal(err)
		}
		k.speakerEvent(last, "StoppedAnnouncing", "node node-a stopped announcing "+lastIP.String()+": node node-b owns it", pod.CreationTimestamp.Add(-time.Hour))
		if c, code := checkOf(t, last.Name); code != exitOK || c.By != byCount {
			t.Errorf("an event older than the pod: exit %d, check %+v", code, c)
		}
	})
}

// speakerEvent records an event on the Service as node-a's speaker does
// (events.k8s.io, the speaker's recorder name and action).
func (k *cluster) speakerEvent(s *corev1.Service, reason, note string, at time.Time) {
	k.t.Helper()
	k.create(&eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: s.Namespace, GenerateName: s.Name + "-"},
		EventTime:           metav1.NewMicroTime(at),
		ReportingController: speakerReporter, ReportingInstance: "pylon-speaker-node-a",
		Action: "Announce", Reason: reason, Note: note, Type: corev1.EventTypeNormal,
		Regarding: corev1.ObjectReference{Kind: "Service", APIVersion: "v1", Namespace: s.Namespace, Name: s.Name, UID: s.UID},
	})
}

// BenchmarkWhyAt5000 measures why at 5,000 layer-2 Services on one owner:
// for an address its SpeakerStatus lists, and for the last one, beyond
// the list and without an event, which the recount of every Service
// checks. Not run by make test (the set-up writes 10,000 objects):
//
//	go test -run '^$' -bench WhyAt5000 -benchtime 5x ./cmd/pylonctl/
func BenchmarkWhyAt5000(b *testing.B) {
	k := startCluster(b)
	const n = 5000
	svcs, _ := beyondTheList(k, n)
	for _, bc := range []struct {
		name string
		svc  *corev1.Service
		by   string
	}{{"listed", svcs[3], bySpeakerStatus}, {"beyond the list", svcs[n-1], byCount}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				var r whyReport
				if code := k.ctlJSON(&r, "why", "svc/"+bc.svc.Name, "-n", "default"); code != exitOK || r.Addresses[0].Layer2.Check.By != bc.by {
					b.Fatalf("exit %d, check %+v", code, r.Addresses[0].Layer2.Check)
				}
			}
		})
	}
}
