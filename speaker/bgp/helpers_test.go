package bgp

import (
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/test/gen"
)

// Builders for the pylon resources a scenario needs.

// pool, bgpPeer and bgpAd are gen's builders as values for Resources,
// their options editing the spec.
func pool(name string, addrs ...string) v1alpha1.IPPool {
	return *gen.IPPool(name, gen.Addresses(addrs...))
}

func bgpPeer(name string, myASN, peerASN int64, addr string, opts ...func(*v1alpha1.BGPPeerSpec)) v1alpha1.BGPPeer {
	p := gen.BGPPeer(name, myASN, peerASN, addr)
	for _, o := range opts {
		o(&p.Spec)
	}
	return *p
}

func bgpAd(name string, opts ...func(*v1alpha1.BGPAdvertisementSpec)) v1alpha1.BGPAdvertisement {
	a := gen.BGPAdvertisement(name)
	for _, o := range opts {
		o(&a.Spec)
	}
	return *a
}

func selector(kv ...string) *v1alpha1.LabelSelector {
	s := &v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.MatchLabels[kv[i]] = v1alpha1.LabelValue(kv[i+1])
	}
	return s
}

func duration(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

func secret(ns, name, key, value string) corev1.Secret {
	return corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{key: []byte(value)}}
}

// parse builds the model and fails on rejected objects: scenarios that mean
// to test degraded objects check Problems themselves.
func parse(t *testing.T, res config.Resources) *config.Config {
	t.Helper()
	cfg := config.Parse(res)
	for _, p := range cfg.Problems {
		if p.Rejected {
			t.Fatalf("config rejects %s %s: %s", p.Kind, p.Name, p.Message())
		}
	}
	return cfg
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}
