package main

import (
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/cmd/internal/version"
)

// TestBGPPeersAndVersion reads the speakers' sessions (bgp peers) and the
// components' versions (version) from objects in a real API server.
func TestBGPPeersAndVersion(t *testing.T) {
	k := startCluster(t)
	k.node("node-a", "198.18.0.1")
	k.node("node-b", "198.18.0.2")
	since := metav1.NewTime(time.Now().Add(-10 * time.Minute).Truncate(time.Second))
	k.speakerStatus("node-a", []string{"node-a", "node-b"}, func(st *v1alpha1.SpeakerStatus) {
		st.Status.BGPSessions = []v1alpha1.BGPSessionStatus{
			{Peer: "r1", PeerAddress: "192.0.2.1", State: "Established", Since: &since, PrefixesSent: 12, BFD: &v1alpha1.BFDSessionStatus{State: "Up"}},
			{Peer: "r2", PeerAddress: "2001:db8::1", State: "Established", Since: &since, PrefixesSent: 3, Change: "Trying"},
		}
	})
	k.speakerStatus("node-b", []string{"node-a", "node-b"}, func(st *v1alpha1.SpeakerStatus) {
		st.Status.BGPSessions = []v1alpha1.BGPSessionStatus{
			{Peer: "r1", PeerAddress: "192.0.2.1", State: "Established", Since: &since, PrefixesSent: 12, BFD: &v1alpha1.BFDSessionStatus{State: "Down", Diagnostic: "Control Detection Time Expired"}},
			{Peer: "r2", PeerAddress: "2001:db8::1", State: "Connect", Since: &since, LastError: "dial tcp [2001:db8::1]:179: connect: connection refused"},
		}
	})
	// SpeakerStatus labels live in metadata: write them too.
	st := &v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}
	k.update(st, false, func() { st.Labels = map[string]string{v1alpha1.LabelVersion: "v0.2.0"} })

	t.Run("bgp peers", func(t *testing.T) {
		var r bgpPeersReport
		if code := k.ctlJSON(&r, "bgp", "peers"); code != exitProblem || r.Established != 3 || r.Total != 4 || len(r.Sessions) != 4 || r.BFDNotUp != 1 {
			t.Fatalf("exit %d, report %+v", code, r)
		}
		if s := r.Sessions[3]; s.Node != "node-b" || s.Peer != "r2" || s.State != "Connect" || !s.Since.Equal(since.Time) || !strings.Contains(s.LastError, "connection refused") || s.BFD != "" {
			t.Errorf("session %+v", s)
		}
		if s := r.Sessions[2]; s.Peer != "r1" || s.BFD != "Down" {
			t.Errorf("session %+v; want BFD Down", s)
		}
		code, out, _ := k.ctl("bgp", "peers")
		for _, w := range []string{
			"NODE    PEER  ADDRESS      STATE        BFD   SINCE  PREFIXES  CHANGE  LAST ERROR",
			"node-a  r1    192.0.2.1    Established  Up    10m    12        -       -",
			"node-a  r2    2001:db8::1  Established  -     10m    3         Trying  -",
			"node-b  r1    192.0.2.1    Established  Down  10m    12        -       -",
			"node-b  r2    2001:db8::1  Connect      -     10m    0         -       dial tcp [2001:db8::1]:179: connect: connection refused",
			"3/4 Established",
			"1 BFD sessions not Up",
		} {
			if code != exitProblem || !strings.Contains(out, w) {
				t.Errorf("exit %d; output lacks %q:\n%s", code, w, out)
			}
		}
		k.speakerStatus("node-b", []string{"node-a", "node-b"}, nil)
		if code := k.ctlJSON(&r, "bgp", "peers"); code != exitOK || r.Established != 2 || r.Total != 2 {
			t.Errorf("all Established: exit %d, report %+v", code, r)
		}
	})

	t.Run("version", func(t *testing.T) {
		holder, d := "pylon-controller-7d9c-x2x_0b5c6e", int32(15)
		k.create(&coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: pylonNS, Name: v1alpha1.ControllerLease, Labels: map[string]string{v1alpha1.LabelVersion: "v0.2.1"}},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &d, RenewTime: &metav1.MicroTime{Time: time.Now()}},
		})
		k.pod("pylon-controller-7d9c-x2x", "controller", "node-a", true)
		k.pod("pylon-controller-7d9c-y3y", "controller", "node-b", true)
		k.pod("pylon-speaker-a", "speaker", "node-a", true)
		k.pod("pylon-speaker-b", "speaker", "node-b", true)
		var r versionReport
		if code := k.ctlJSON(&r, "version"); code != exitOK {
			t.Fatalf("exit %d", code)
		}
		if r.Client != version.Get() || r.Controller.Pod != "pylon-controller-7d9c-x2x" || r.Controller.Version != "v0.2.1" || len(r.Controllers) != 2 || len(r.Speakers) != 2 {
			t.Fatalf("report %+v", r)
		}
		if c := r.Controllers[0]; c.Version != "v0.2.1" || c.Image != "ghcr.io/pylonlb/pylon-controller:v0.1.0" || !strings.Contains(c.ImageID, "@sha256:") || r.Controllers[1].Version != "" {
			t.Errorf("controllers %+v", r.Controllers)
		}
		if r.Speakers[0].Version != "v0.2.0" || r.Speakers[1].Version != "" || r.Speakers[1].Node != "node-b" {
			t.Errorf("speakers %+v", r.Speakers)
		}
		code, out, _ := k.ctl("version")
		for _, w := range []string{
			"Client:  " + version.Get().String("pylonctl"),
			"COMPONENT            POD                        NODE    VERSION  IMAGE",
			"controller (leader)  pylon-controller-7d9c-x2x  node-a  v0.2.1   ghcr.io/pylonlb/pylon-controller:v0.1.0",
			"controller           pylon-controller-7d9c-y3y  node-b  -        ghcr.io/pylonlb/pylon-controller:v0.1.0",
			"speaker              pylon-speaker-a            node-a  v0.2.0   ghcr.io/pylonlb/pylon-speaker:v0.1.0",
			"speaker              pylon-speaker-b            node-b  -        ghcr.io/pylonlb/pylon-speaker:v0.1.0",
		} {
			if code != exitOK || !strings.Contains(out, w) {
				t.Errorf("exit %d; output lacks %q:\n%s", code, w, out)
			}
		}
	})
}
