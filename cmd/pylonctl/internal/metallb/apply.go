package metallb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// FieldManager is the field manager Apply's patches are recorded under.
const FieldManager = "pylonctl-migrate"

// Apply adds each change's annotations to its Service with a JSON merge
// patch that carries the resourceVersion the change was computed from: a
// Service changed since is refused by the API server (Conflict) instead of
// being patched blindly, and nothing else of it is touched (not its status,
// so not its address). It returns how many Services were patched and the
// errors of the others, joined.
func Apply(ctx context.Context, kube kubernetes.Interface, changes []ServiceChange) (int, error) {
	var errs []error
	done := 0
	for _, ch := range changes {
		if len(ch.Add) == 0 {
			continue
		}
		patch := map[string]any{"metadata": map[string]any{"annotations": ch.Add, "resourceVersion": ch.ResourceVersion}}
		body, err := json.Marshal(patch)
		if err != nil {
			return done, err
		}
		_, err = kube.CoreV1().Services(ch.Namespace).Patch(ctx, ch.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager})
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s/%s: %w", ch.Namespace, ch.Name, err))
			continue
		}
		done++
	}
	return done, errors.Join(errs...)
}
