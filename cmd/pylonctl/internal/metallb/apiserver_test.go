package metallb

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/test/envtest"
)

// apiRefusals are the cases whose output the API server refuses, and why
// that is right.
var apiRefusals = map[string]string{
	// The example's pool "PoolA" is no valid object name: pylon's CRD
	// refuses it in ipPools (so would the API server as a pool's name).
	"bgp-adv-peers": "BGPAdvertisement example",
}

// TestOutputAdmittedByAPIServer: every object converted from every case is
// accepted by a real API server with pylon's CRDs (OpenAPI schema, CEL
// rules), created with dry run so that cases do not meet.
func TestOutputAdmittedByAPIServer(t *testing.T) {
	env := envtest.Start(t)
	ctx := context.Background()
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pylonNS}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range allCases() {
		t.Run(name, func(t *testing.T) {
			res, _, _ := convertCase(t, name)
			objs, err := res.Objects()
			if err != nil {
				t.Fatal(err)
			}
			refused := ""
			for _, o := range objs {
				u := &unstructured.Unstructured{Object: o}
				if err := env.Client.Create(ctx, u, client.DryRunAll); err != nil {
					if refused != "" || apiRefusals[name] != u.GetKind()+" "+u.GetName() {
						t.Errorf("%s %s refused: %v", u.GetKind(), u.GetName(), err)
					}
					refused = u.GetKind() + " " + u.GetName()
				}
			}
			if want := apiRefusals[name]; refused != want {
				t.Errorf("refused %q, expected %q", refused, want)
			}
		})
	}
}
