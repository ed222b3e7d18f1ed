package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"sigs.k8s.io/yaml"

	"github.com/pylonlb/pylon/test/chart"
	"github.com/pylonlb/pylon/test/yamldocs"
)

// kubeVersion is the test API server's version (hack/envtest-assets.sh).
const kubeVersion = "v1.37.2"

// object is one manifest document, decoded.
type object map[string]any

func (o object) kind() string { return fmt.Sprint(o["apiVersion"], "/", o["kind"]) }
func (o object) meta() map[string]any {
	m, _ := o["metadata"].(map[string]any)
	return m
}
func (o object) name() string      { return fmt.Sprint(o.meta()["name"]) }
func (o object) namespace() string { s, _ := o.meta()["namespace"].(string); return s }
func (o object) key() string       { return o.kind() + " " + o.namespace() + "/" + o.name() }

// decode splits a YAML stream into objects, skipping empty documents.
func decode(t *testing.T, data []byte) []object {
	t.Helper()
	objs, err := yamldocs.Objects(data)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]object, len(objs))
	for i, o := range objs {
		out[i] = o
	}
	return out
}

func readObjects(t *testing.T, path string) []object {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, data)
}

// find returns the object of kind (e.g. "apps/v1/Deployment") and name.
func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			return o
		}
	}
	t.Fatalf("no %s %s among %d objects", kind, name, len(objs))
	return nil
}

// normalize drops nulls, empty maps and empty lists, which YAML writers
// and templates emit or omit alike without a change in meaning.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if n := normalize(e); n != nil {
				out[k] = n
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		var out []any
		for _, e := range x {
			if n := normalize(e); n != nil {
				out = append(out, n)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	default:
		return v
	}
}

// sameObjects fails t unless want and got hold the same objects, compared
// after normalize; skip drops objects from want by kind.
func sameObjects(t *testing.T, wantLabel string, want []object, gotLabel string, got []object, skipKinds ...string) {
	t.Helper()
	index := func(objs []object) map[string]any {
		m := map[string]any{}
		for _, o := range objs {
			if slices.Contains(skipKinds, o.kind()) {
				continue
			}
			if _, dup := m[o.key()]; dup {
				t.Errorf("%s holds %s twice", wantLabel+"/"+gotLabel, o.key())
			}
			m[o.key()] = normalize(map[string]any(o))
		}
		return m
	}
	w, g := index(want), index(got)
	var keys []string
	for k := range w {
		keys = append(keys, k)
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		wo, inW := w[k]
		gobj, inG := g[k]
		switch {
		case !inW:
			t.Errorf("%s has %s, %s does not", gotLabel, k, wantLabel)
		case !inG:
			t.Errorf("%s has %s, %s does not", wantLabel, k, gotLabel)
		case !reflect.DeepEqual(wo, gobj):
			wy, _ := yaml.Marshal(wo)
			gy, _ := yaml.Marshal(gobj)
			t.Errorf("%s differs:\n%s:\n%s\n%s:\n%s", k, wantLabel, wy, gotLabel, gy)
		}
	}
}

// renderChart renders deploy/charts/pylon with the Helm SDK as `helm
// install pylon --namespace ns` would (chart.Render), with vals over
// values.yaml, and fails t unless Helm's own linter passes it without a
// warning. It returns the templates' output joined into one YAML stream
// (NOTES.txt left out) and NOTES.txt.
func renderChart(t *testing.T, root, ns string, vals map[string]any) (manifest []byte, notes string) {
	t.Helper()
	dir := filepath.Join(root, chart.Dir)
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	out, err := chart.Render(dir, ns, vals, kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	// After rendering: the linter's values check merges vals into the
	// chart's values in place, dropping the nulls that remove a default
	// (controller.affinity.podAntiAffinity: null), which rendering copies.
	l := lint.AllWithKubeVersion(dir, vals, ns, kv)
	for _, m := range l.Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("helm lint: %s", m)
		}
	}
	var names []string
	for n := range out {
		names = append(names, n)
	}
	slices.Sort(names)
	var b bytes.Buffer
	for _, n := range names {
		switch {
		case strings.HasSuffix(n, "NOTES.txt"):
			notes = out[n]
		case strings.HasSuffix(n, ".yaml"):
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", n, out[n])
		}
	}
	return b.Bytes(), notes
}

// writeTemp writes data to a file in t's temporary directory.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// containerArgs returns the first container's args of a workload.
func containerArgs(t *testing.T, o object) []string {
	t.Helper()
	c := podSpec(t, o)["containers"].([]any)[0].(map[string]any)
	var args []string
	for _, a := range c["args"].([]any) {
		args = append(args, a.(string))
	}
	return args
}

// podSpec returns a Deployment's or DaemonSet's pod template spec.
func podSpec(t *testing.T, o object) map[string]any {
	t.Helper()
	spec, ok := o["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no pod template", o.key())
	}
	return spec
}
