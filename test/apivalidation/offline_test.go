package apivalidation

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/deploy/crds"
)

// TestOfflineValidatorAgrees runs the catalogues the API server is tested
// with through deploy/crds' offline Validator (what `pylonctl validate`
// checks first): every bad object is refused naming the same field, and only
// that field, with the same message; every edge case and every object of
// docs/examples is accepted, with the defaults the API server fills in. It
// needs no API server, so it always runs.
func TestOfflineValidatorAgrees(t *testing.T) {
	v, err := crds.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	validate := func(t *testing.T, doc string) (*unstructured.Unstructured, field.ErrorList) {
		t.Helper()
		obj, err := decode([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		stored, errs, err := v.Validate(t.Context(), obj)
		if err != nil {
			t.Fatal(err)
		}
		return stored, errs
	}

	t.Run("bad objects", func(t *testing.T) {
		cases := badObjects()
		if len(cases) < 60 {
			t.Fatalf("the catalogue holds %d bad objects; keep at least 60", len(cases))
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, errs := validate(t, document(c.kind, fmt.Sprintf("bad-%02d", i), c.spec))
				if len(errs) == 0 {
					t.Fatalf("the offline validator accepted %s %s", c.kind, c.spec)
				}
				found := false
				for _, e := range errs {
					if e.Field == "" && e.Detail == crds.RulesNotChecked {
						continue
					}
					if e.Field != c.field {
						t.Errorf("error also names %s: %v", e.Field, e)
					}
					if e.Field == c.field && strings.Contains(e.Error(), c.msg) {
						found = true
					}
				}
				if !found {
					t.Errorf("no error on %s says %q: %v", c.field, c.msg, errs)
				}
			})
		}
	})

	t.Run("edge cases", func(t *testing.T) {
		for i, c := range goodObjects() {
			if _, errs := validate(t, document(c.kind, fmt.Sprintf("edge-%02d", i), c.spec)); len(errs) > 0 {
				t.Errorf("%s: refused %s %s: %v", c.name, c.kind, c.spec, errs)
			}
		}
	})

	t.Run("range order at every bit", func(t *testing.T) {
		up, down := rangesEveryBit()
		for i, chunk := range slices.Collect(slices.Chunk(up, 64)) {
			if _, errs := validate(t, document("IPPool", fmt.Sprintf("up-%d", i), addresses(chunk))); len(errs) > 0 {
				t.Errorf("ranges in order refused: %v", errs)
			}
		}
		for i, chunk := range slices.Collect(slices.Chunk(down, 64)) {
			_, errs := validate(t, document("IPPool", fmt.Sprintf("down-%d", i), addresses(chunk)))
			refused := map[string]bool{}
			for _, e := range errs {
				if !strings.Contains(e.Detail, msgRangeOrder) {
					t.Errorf("unexpected error %v", e)
				}
				refused[e.Field] = true
			}
			for j, r := range chunk {
				if f := fmt.Sprintf("spec.addresses[%d]", j); !refused[f] {
					t.Errorf("backward range %s (%s) not refused", r, f)
				}
			}
		}
	})

	t.Run("docs/examples", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join("..", "..", "docs", "examples", "*.yaml"))
		more, _ := filepath.Glob(filepath.Join("..", "..", "docs", "examples", "more", "*.yaml"))
		if len(files) < 4 || len(more) < 4 {
			t.Fatalf("docs/examples holds %d files and more/ %d", len(files), len(more))
		}
		stored := map[string]*unstructured.Unstructured{}
		for _, file := range append(files, more...) {
			docs, err := readYAMLDocuments(file)
			if err != nil {
				t.Fatal(err)
			}
			for i, doc := range docs {
				obj, err := decode(doc)
				if err != nil || obj == nil || !v.Knows(obj.GroupVersionKind().GroupKind()) {
					continue // comments, and the Secret a peer names
				}
				out, errs := validate(t, string(doc))
				if len(errs) > 0 {
					t.Errorf("%s document %d (%s %s) refused: %v", file, i+1, obj.GetKind(), obj.GetName(), errs)
				}
				stored[obj.GetKind()+"/"+obj.GetName()] = out
			}
		}
		// The defaults the API server fills in (testExamplesAccepted).
		for _, d := range []struct {
			object string
			path   []string
			want   any
		}{
			{"IPPool/default", []string{"spec", "autoAssign"}, true},
			{"IPPool/reserved", []string{"spec", "autoAssign"}, false},
			{"BGPPeer/lab-router", []string{"spec", "peerPort"}, int64(179)},
			{"BGPPeer/lab-router-v6", []string{"spec", "gracefulRestart", "restartTime"}, "120s"},
			{"BGPPeer/tor-bfd", []string{"spec", "bfd", "transmitInterval"}, "300ms"},
			{"BGPPeer/tor-bfd", []string{"spec", "bfd", "detectMultiplier"}, int64(3)},
			{"BGPAdvertisement/bgp", []string{"spec", "aggregationLength"}, int64(32)},
			{"BGPAdvertisement/bgp", []string{"spec", "aggregationLengthV6"}, int64(128)},
		} {
			obj := stored[d.object]
			if obj == nil {
				t.Errorf("docs/examples holds no %s", d.object)
				continue
			}
			got, _, _ := unstructured.NestedFieldNoCopy(obj.Object, d.path...)
			if fmt.Sprint(got) != fmt.Sprint(d.want) {
				t.Errorf("%s %s = %v, want the default %v", d.object, strings.Join(d.path, "."), got, d.want)
			}
		}
	})
}

// addresses is an IPPool spec holding the ranges.
func addresses(ranges []v1alpha1.AddressRange) string {
	quoted := make([]string, len(ranges))
	for i, r := range ranges {
		quoted[i] = `"` + string(r) + `"`
	}
	return "{addresses: [" + strings.Join(quoted, ", ") + "]}"
}
