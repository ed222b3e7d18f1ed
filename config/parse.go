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
	// Last is the configuration the caller had in force before, or nil. A
	// rejected object keeps its version from Last (or from its own
	// status.inForce, whichever is newer), and a peer whose password Secret
	// became unusable keeps the password it had (see keep.go).
	Last *Config
}

// Parse validates res and builds the model. It never fails as a whole: what
// is wrong is in Config.Problems, and everything else is in the model. A
// rejected object keeps its last accepted version in the model when one is
// known (Resources.Last, status.inForce).
func Parse(res Resources) *Config {
	cfg, final := keepAccepted(res, parseOnce(res))
	cfg.record(final)
	slices.SortFunc(cfg.Problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Reason, b.Reason))
	})
	return cfg
}

// parseOnce parses res as it is.
func parseOnce(res Resources) *Config {
	p := &parser{cfg: &Config{poolsByName: map[string]*Pool{}}, last: res.Last}
	p.pools(res.Pools)
	p.peers(res.BGPPeers, res.Secrets, res.Namespace)
	p.l2Advertisements(res.L2Advertisements)
	p.bgpAdvertisements(res.BGPAdvertisements)
	return p.cfg
}

// parser carries the model under construction through Parse's steps.
type parser struct {
	cfg *Config
	// last is the configuration in force before (nil for none): peers
	// whose Secret became unusable keep their password from it.
	last *Config
}

// problem records errs against an object; nothing when errs is empty.
func (p *parser) problem(kind Kind, name, reason string, rejected bool, errs field.ErrorList) {
	p.problemBlaming(kind, name, reason, rejected, errs, nil)
}

// problemBlaming is problem for a rejection that an edit of the blamed
// objects may have caused (see keep.go).
func (p *parser) problemBlaming(kind Kind, name, reason string, rejected bool, errs field.ErrorList, blames []blame) {
	if len(errs) == 0 {
		return
	}
	p.cfg.Problems = append(p.cfg.Problems, Problem{Kind: kind, Name: name, Reason: reason, Errors: errs, Rejected: rejected, blames: blames})
}
