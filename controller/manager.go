package controller

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// Lease is leader election's timing.
type Lease struct {
	Duration, RenewDeadline, RetryPeriod time.Duration
}

// DefaultLease is what the controller runs with: a new leader within about
// 15 s of the old one's death, at once when it leaves (release on cancel).
func DefaultLease() Lease {
	return Lease{Duration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}
}

// ManagerConfig is what ManagerOptions needs to know.
type ManagerConfig struct {
	// Namespace pylon runs in: the Lease's and the only one whose Secrets
	// are cached (BGP passwords, the memberlist key).
	Namespace string
	// LeaderElect turns leader election on (v1alpha1.ControllerLease, Lease).
	LeaderElect bool
	Lease       Lease
	// LeaderLabels go on the Lease while this process leads (its version).
	LeaderLabels map[string]string
}

// ManagerOptions are the controller-runtime manager options the controller
// runs with: scheme s, leader election on v1alpha1.ControllerLease, and a cache that holds
// only what the controller reads (Secrets of c.Namespace, Nodes trimmed to
// names, addresses and pod ranges by TrimNode, no object's managedFields:
// at 50,000 Services they were most of the cache). cmd/controller adds its
// metrics and probe addresses; tests start managers from the same options.
func ManagerOptions(s *runtime.Scheme, c ManagerConfig) ctrl.Options {
	l := c.Lease
	return ctrl.Options{
		Scheme:                        s,
		LeaderElection:                c.LeaderElect,
		LeaderElectionID:              v1alpha1.ControllerLease,
		LeaderElectionNamespace:       c.Namespace,
		LeaderElectionReleaseOnCancel: true,
		LeaderElectionLabels:          c.LeaderLabels,
		LeaseDuration:                 &l.Duration,
		RenewDeadline:                 &l.RenewDeadline,
		RetryPeriod:                   &l.RetryPeriod,
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields(), ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Namespaces: map[string]cache.Config{c.Namespace: {}}},
			&corev1.Node{}:   {Transform: TrimNode},
		}},
	}
}
