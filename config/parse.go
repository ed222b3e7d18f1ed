package config

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// Resources is everything Parse reads.
type Resources struct {
	Pools             []v1alpha1.IPPool
	L2Advertisements  []v1alpha1.L2Advertisement
	BGPPeers          []v1alpha1.BGPPeer
	BGPAdvertisements []v1alpha1.BGPAdvertisement
	// Secrets holds at least the Secrets that BGPPeers reference.
	Secrets []corev1.Secret
	// Namespace is where pylon runs: the namespace of a password secret
	// reference that names none.
	Namespace string
}

// Parse validates res and builds the model. It never fails as a whole: what
// is wrong is in Config.Problems, and everything else is in the model.
func Parse(res Resources) *Config {
	p := &parser{cfg: &Config{poolsByName: map[string]*Pool{}}}
	p.pools(res.Pools)
	p.peers(res.BGPPeers, res.Secrets, res.Namespace)
	p.l2Advertisements(res.L2Advertisements)
	p.bgpAdvertisements(res.BGPAdvertisements)

	slices.SortFunc(p.cfg.Problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Reason, b.Reason))
	})
	return p.cfg
}

// parser carries the model under construction through Parse's steps.
type parser struct {
	cfg *Config
}

// problem records errs against an object; nothing when errs is empty.
func (p *parser) problem(kind Kind, name, reason string, rejected bool, errs field.ErrorList) {
	if len(errs) == 0 {
		return
	}
	p.cfg.Problems = append(p.cfg.Problems, Problem{Kind: kind, Name: name, Reason: reason, Errors: errs, Rejected: rejected})
}
