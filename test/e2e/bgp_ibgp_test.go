package e2e

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/lab"
)

// TestBGPPasswordLocalPrefAggregation: an iBGP router that requires a TCP
// MD5 password. With the wrong password no session comes up and every
// SpeakerStatus says so; with the right one they do, and the advertisement's
// local-pref and aggregation arrive as configured. pylon runs as a cluster
// runs it (installed by Helm).
func TestBGPPasswordLocalPrefAggregation(t *testing.T) {
	l := podLab(t, lab.Options{NodeASN: lab.RouterASN, BGPPassword: "s3cret"})
	startPylonPods(t, l)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: pylonNS, Name: "router-password"}, StringData: map[string]string{"password": "wrong"}}
	create(t, l.Client, secret)
	create(t, l.Client, &v1alpha1.BGPPeer{
		ObjectMeta: metav1.ObjectMeta{Name: "router"},
		Spec: v1alpha1.BGPPeerSpec{
			MyASN: lab.RouterASN, PeerASN: lab.RouterASN, PeerAddress: l.Router.IPv4.String(),
			PasswordSecretRef: &v1alpha1.SecretKeyReference{Name: "router-password"},
		},
	})
	localPref, agg := int64(150), int32(28)
	create(t, l.Client, &v1alpha1.BGPAdvertisement{
		ObjectMeta: metav1.ObjectMeta{Name: "lab"},
		Spec:       v1alpha1.BGPAdvertisementSpec{IPPools: []v1alpha1.ObjectName{"lab"}, LocalPref: &localPref, AggregationLength: &agg},
	})

	t.Run("wrong password: never established, and shown", func(t *testing.T) {
		eventually(t, 20*time.Second, "every SpeakerStatus to show the session down with an error", func() (bool, string) {
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
	})

	t.Run("right password: local-pref and the aggregate arrive", func(t *testing.T) {
		patch := client.MergeFrom(secret.DeepCopy())
		secret.StringData = map[string]string{"password": "s3cret"}
		if err := l.Client.Patch(t.Context(), secret, patch); err != nil {
			t.Fatal(err)
		}
		_, ips := service(t, l, "web", false)
		aggregate := netip.PrefixFrom(ips[0], int(agg)).Masked()
		eventually(t, 30*time.Second, "the aggregate "+aggregate.String()+" from three nodes with local-pref 150", func() (bool, string) {
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
	})
}
