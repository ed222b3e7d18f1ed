package config

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/gen"
)

// t0 is the creation time of the oldest object in a scenario.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func meta(name string, ageRank int) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(ageRank) * time.Minute))}
}

// pool and peer build objects as gen does, created ageRank minutes after
// t0, as values for Resources.
func pool(name string, ageRank int, addrs ...string) v1alpha1.IPPool {
	p := gen.IPPool(name, gen.Addresses(addrs...))
	p.ObjectMeta = meta(name, ageRank)
	return *p
}

func peer(name string, ageRank int, myASN, peerASN int64, addr string) v1alpha1.BGPPeer {
	p := gen.BGPPeer(name, myASN, peerASN, addr)
	p.ObjectMeta = meta(name, ageRank)
	return *p
}

func secret(ns, name string, data map[string]string) corev1.Secret {
	s := corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func names[T any](items []T, name func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, name(it))
	}
	return out
}

func poolNames(c *Config) []string {
	return names(c.Pools, func(p *Pool) string { return p.Name })
}

// wantProblem fails unless c has exactly one problem of that kind, name and
// reason, rejecting or not as said, whose message holds every fragment.
func wantProblem(t *testing.T, c *Config, kind Kind, name, reason string, rejected bool, fragments ...string) {
	t.Helper()
	var found []Problem
	for _, p := range c.ProblemsFor(kind, name) {
		if p.Reason == reason {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s problem on %s %s, got %+v (all: %+v)", reason, kind, name, found, c.Problems)
	}
	p := found[0]
	if p.Rejected != rejected {
		t.Errorf("%s %s %s: Rejected = %v, want %v", kind, name, reason, p.Rejected, rejected)
	}
	for _, f := range fragments {
		if !strings.Contains(p.Message(), f) {
			t.Errorf("%s %s %s: message %q lacks %q", kind, name, reason, p.Message(), f)
		}
	}
}

func wantNoProblems(t *testing.T, c *Config) {
	t.Helper()
	for _, p := range c.Problems {
		t.Errorf("unexpected problem: %s %s %s: %s", p.Kind, p.Name, p.Reason, p.Message())
	}
}

func selectorReq(key, op string, values ...string) v1alpha1.LabelSelectorRequirement {
	r := v1alpha1.LabelSelectorRequirement{Key: v1alpha1.LabelKey(key), Operator: metav1.LabelSelectorOperator(op)}
	for _, v := range values {
		r.Values = append(r.Values, v1alpha1.LabelValue(v))
	}
	return r
}
