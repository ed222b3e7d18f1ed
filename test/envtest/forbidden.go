package envtest

import (
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// WantForbidden fails t unless err is the API server's 403 Forbidden and its
// message holds every fragment (who refused: RBAC's "is forbidden: User ",
// an admission policy's name; and what it says).
func WantForbidden(t TB, what string, err error, fragments ...string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: allowed, want forbidden", what)
		return
	case !apierrors.IsForbidden(err):
		t.Errorf("%s: %v, want forbidden", what, err)
		return
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%s: %v, want a refusal saying %q", what, err, f)
			return
		}
	}
	t.Logf("%s: refused: %v", what, err)
}
