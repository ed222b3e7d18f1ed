package kinds

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// TestScheme: the Scheme knows a core kind and pylon's.
func TestScheme(t *testing.T) {
	s, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	for _, gvk := range []schema.GroupVersionKind{
		{Version: "v1", Kind: "Service"},
		{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"},
		v1alpha1.GroupVersion().WithKind("IPPool"),
		v1alpha1.GroupVersion().WithKind("SpeakerStatus"),
	} {
		if !s.Recognizes(gvk) {
			t.Errorf("the Scheme does not know %s", gvk)
		}
	}
}
