package e2e

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// wrongPasswordShown: with the wrong password in the Secret no session
// comes up, and every SpeakerStatus shows the session down with an error.
func wrongPasswordShown(t *testing.T, l *lab.Lab) {
	poll.Eventually(t, 50*time.Millisecond, 20*time.Second, "every SpeakerStatus to show the session down with an error", func() (bool, string) {
		var list v1alpha1.SpeakerStatusList
		if err := l.Client.List(t.Context(), &list); err != nil {
			return false, err.Error()
		}
		for _, s := range list.Items {
			if len(s.Status.BGPSessions) != 1 || s.Status.BGPSessions[0].State == "Established" || s.Status.BGPSessions[0].LastError == "" {
				return false, fmt.Sprintf("%s: %+v", s.Name, s.Status.BGPSessions)
			}
		}
		return len(list.Items) == 3, ""
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		v, err := l.Router.View(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range v.Sessions {
			if s.Established() {
				t.Fatalf("session from %s established with the wrong password", s.Peer)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// aggregateArrives: with the right password in the Secret the sessions come
// up, and the advertisement's local-pref (150) and aggregate (agg) arrive
// from every node, without the single address.
func aggregateArrives(t *testing.T, l *lab.Lab, secret *corev1.Secret, agg int32) {
	patch := client.MergeFrom(secret.DeepCopy())
	secret.StringData = map[string]string{"password": "s3cret"}
	if err := l.Client.Patch(t.Context(), secret, patch); err != nil {
		t.Fatal(err)
	}
	_, ips := service(t, l, "web", false)
	aggregate := netip.PrefixFrom(ips[0], int(agg)).Masked()
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "the aggregate "+aggregate.String()+" from three nodes with local-pref 150", func() (bool, string) {
		v, err := l.Router.View(t.Context())
		if err != nil {
			return false, err.Error()
		}
		paths := v.Routes[aggregate]
		if len(paths) != 3 {
			return false, fmt.Sprintf("sessions %+v; routes %v", v.Sessions, v.Routes)
		}
		for _, p := range paths {
			if p.LocalPref == nil || *p.LocalPref != 150 {
				return false, fmt.Sprintf("%+v", p)
			}
		}
		if _, single := v.Routes[netip.PrefixFrom(ips[0], 32)]; single {
			return false, "the /32 is announced too"
		}
		return true, ""
	})
	got, err := l.RemoteClient.Get(t.Context(), ips[0], 80, 2*time.Second)
	if err != nil {
		t.Fatalf("remote client through the aggregate: %q, %v", got, err)
	}
}
