package speaker

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ManagerOptions are the controller-runtime manager options the speaker
// runs with: scheme s, a 2 s graceful shutdown, and a cache that keeps
// only what the speaker reads: no managedFields, Secrets of namespace only
// (BGP passwords, the memberlist key), and Services, EndpointSlices and
// Nodes trimmed to the fields the speaker reads (cachetrim.go).
// cmd/speaker adds its metrics, probe and pprof addresses; tests start
// managers from the same options.
func ManagerOptions(s *runtime.Scheme, namespace string) ctrl.Options {
	shutdown := 2 * time.Second
	return ctrl.Options{
		Scheme:                  s,
		GracefulShutdownTimeout: &shutdown,
		Cache: cache.Options{
			// managedFields are never read here: do not keep them for
			// thousands of Services and EndpointSlices.
			DefaultTransform: cache.TransformStripManagedFields(),
			ByObject: map[client.Object]cache.ByObject{
				&corev1.Secret{}:             {Namespaces: map[string]cache.Config{namespace: {}}},
				&corev1.Service{}:            {Transform: TrimService},
				&discoveryv1.EndpointSlice{}: {Transform: TrimEndpointSlice},
				&corev1.Node{}:               {Transform: TrimNode},
			}},
	}
}
