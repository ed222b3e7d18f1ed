package crds

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// TestEveryKindEmbedded: every kind of api/v1alpha1 has its CRD embedded
// and compiled, and nothing else is.
func TestEveryKindEmbedded(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	want := 0
	pkg := reflect.TypeFor[v1alpha1.IPPool]().PkgPath()
	for gvk, typ := range scheme.KnownTypes(v1alpha1.GroupVersion()) {
		if typ.PkgPath() != pkg || strings.HasSuffix(gvk, "List") {
			continue
		}
		want++
		if !v.Knows(schema.GroupKind{Group: v1alpha1.GroupVersion().Group, Kind: gvk}) {
			t.Errorf("no CRD embedded for %s", gvk)
		}
	}
	if len(v.kinds) != want {
		t.Errorf("%d CRDs embedded, api/v1alpha1 has %d kinds", len(v.kinds), want)
	}
}

// TestValidate: what the catalogue in test/apivalidation does not cover:
// the object passed in is left alone, the stored one is pruned and
// defaulted, and wrong versions, kinds and metadata are reported.
func TestValidate(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	obj := func(doc string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		return u
	}

	in := obj("apiVersion: pylonlb.io/v1alpha1\nkind: BGPPeer\nmetadata: {name: r1, namespace: ignored}\nspec: {myASN: 64512, peerASN: 64513, peerAddress: 198.51.100.1}\nstatus: {whatever: 1}\n")
	stored, errs, err := v.Validate(t.Context(), in)
	if err != nil || len(errs) > 0 {
		t.Fatalf("a valid peer: %v %v", err, errs)
	}
	if port, _, _ := unstructured.NestedFieldNoCopy(stored.Object, "spec", "peerPort"); port == nil {
		t.Error("the stored peer lacks the default peerPort")
	}
	if _, has := stored.Object["status"]; has || stored.GetNamespace() != "" {
		t.Errorf("status or namespace kept on a create: %v", stored.Object)
	}
	if _, has, _ := unstructured.NestedFieldNoCopy(in.Object, "spec", "peerPort"); has || in.GetNamespace() == "" || in.Object["status"] == nil {
		t.Errorf("the object passed in was changed: %v", in.Object)
	}

	for _, tc := range []struct{ name, doc, want string }{
		{"unknown version", "apiVersion: pylonlb.io/v1\nkind: IPPool\nmetadata: {name: a}\nspec: {addresses: [198.51.100.0/24]}\n",
			`apiVersion: Unsupported value: "pylonlb.io/v1": supported values: "pylonlb.io/v1alpha1"`},
		{"unknown metadata field", "apiVersion: pylonlb.io/v1alpha1\nkind: IPPool\nmetadata: {name: a, labelz: {x: y}}\nspec: {addresses: [198.51.100.0/24]}\n",
			"metadata.labelz: Forbidden: unknown field"},
		{"unknown top-level field", "apiVersion: pylonlb.io/v1alpha1\nkind: IPPool\nmetadata: {name: a}\nspec: {addresses: [198.51.100.0/24]}\nspecs: {}\n",
			"specs: Forbidden: unknown field"},
		{"no name", "apiVersion: pylonlb.io/v1alpha1\nkind: IPPool\nmetadata: {}\nspec: {addresses: [198.51.100.0/24]}\n",
			"metadata.name: Required value"},
		{"no spec", "apiVersion: pylonlb.io/v1alpha1\nkind: IPPool\nmetadata: {name: a}\n",
			"spec: Required value"},
	} {
		_, errs, err := v.Validate(t.Context(), obj(tc.doc))
		if err != nil || !strings.Contains(errs.ToAggregate().Error(), tc.want) {
			t.Errorf("%s: %v %v, want %q", tc.name, err, errs, tc.want)
		}
	}
	if _, _, err := v.Validate(t.Context(), obj("apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n")); err == nil {
		t.Error("a Secret is validated as one of pylon's kinds")
	}
}
