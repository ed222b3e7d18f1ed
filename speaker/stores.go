package speaker

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Stores are the cache's stores of the kinds a cluster has thousands of.
// A pass lists them as pointers to the cached objects: listing through the
// client copies every object's struct into a fresh slice, on every pass,
// which was most of what the speaker allocated under a burst of Services.
type Stores struct {
	Nodes, Services, EndpointSlices toolscache.Store
}

// CacheStores returns the stores behind c's informers for Nodes, Services
// and EndpointSlices (creating the informers; they start with the cache).
// It fails when c's informers do not expose their stores.
func CacheStores(ctx context.Context, c cache.Cache) (*Stores, error) {
	var out [3]toolscache.Store
	for i, obj := range []client.Object{&corev1.Node{}, &corev1.Service{}, &discoveryv1.EndpointSlice{}} {
		inf, err := c.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
		if err != nil {
			return nil, fmt.Errorf("informer for %T: %w", obj, err)
		}
		sii, ok := inf.(toolscache.SharedIndexInformer)
		if !ok {
			return nil, fmt.Errorf("informer for %T is a %T, not a SharedIndexInformer", obj, inf)
		}
		out[i] = sii.GetStore()
	}
	return &Stores{Nodes: out[0], Services: out[1], EndpointSlices: out[2]}, nil
}

// storeItems returns the objects of type T in st (anything else in it, such
// as a tombstone, is skipped).
func storeItems[T any](st toolscache.Store) []*T {
	all := st.List()
	out := make([]*T, 0, len(all))
	for _, o := range all {
		if t, ok := o.(*T); ok {
			out = append(out, t)
		}
	}
	return out
}
