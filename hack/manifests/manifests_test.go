package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The real chart and inputs, from this package's directory.
const (
	realChart = "../../deploy/charts/pylon"
	realCRDs  = "../../deploy/crds"
	realRBAC  = "../../deploy/rbac"
)

// The real chart gives plain manifests: the Namespace first, every CRD,
// the generated roles' rules, no template text and no Helm annotation; the
// kustomize base lists the files that hold objects, and pylon.yaml holds
// each of them.
func TestRenderTheChart(t *testing.T) {
	files, err := render(realChart)
	if err != nil {
		t.Fatal(err)
	}
	all := string(files[allInOne])
	objs, err := objects(all)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) == 0 || objs[0]["kind"] != "Namespace" {
		t.Fatalf("pylon.yaml does not start with the Namespace: %v", objs)
	}
	crds, _ := filepath.Glob(filepath.Join(realCRDs, "*.yaml"))
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o["kind"].(string)]++
	}
	if kinds["CustomResourceDefinition"] != len(crds) || len(crds) == 0 {
		t.Errorf("pylon.yaml holds %d CRDs, deploy/crds %d", kinds["CustomResourceDefinition"], len(crds))
	}
	// kubectl manages these objects: they carry the recommended labels
	// but not the two that say Helm does, on objects and pod templates.
	for _, o := range objs[1:] {
		m := o["metadata"].(map[string]any)
		labelSets := []any{m["labels"]}
		if spec, _ := o["spec"].(map[string]any); spec["template"] != nil {
			labelSets = append(labelSets, spec["template"].(map[string]any)["metadata"].(map[string]any)["labels"])
		}
		for _, l := range labelSets {
			l, _ := l.(map[string]any)
			if l["app.kubernetes.io/name"] != "pylon" || l["app.kubernetes.io/instance"] != "pylon" || l["app.kubernetes.io/version"] == nil {
				t.Errorf("%s %s: labels %v lack the recommended ones", o["kind"], m["name"], l)
			}
		}
	}
	for name, data := range files {
		for _, bad := range append([]string{"{{", keep}, helmLabels()...) {
			if strings.Contains(string(data), bad) {
				t.Errorf("%s holds %q", name, bad)
			}
		}
		if strings.HasPrefix(name, kustomizeDir+"/") && !strings.HasSuffix(name, "kustomization.yaml") &&
			!strings.Contains(all, strings.TrimPrefix(string(data), header)) {
			t.Errorf("pylon.yaml lacks what %s holds", name)
		}
	}
	want := "resources:\n- namespace.yaml\n- crds.yaml\n- rbac.yaml\n- admission.yaml\n- controller.yaml\n- speaker.yaml\n"
	if k := string(files[kustomizeDir+"/kustomization.yaml"]); !strings.HasSuffix(k, want) {
		t.Errorf("kustomization.yaml:\n%s\nwant it to end in:\n%s", k, want)
	}
	if _, ok := files[kustomizeDir+"/monitoring.yaml"]; ok {
		t.Error("the kustomize base holds a ServiceMonitor, which is off by default")
	}
	for _, c := range components() {
		data, err := os.ReadFile(filepath.Join(realRBAC, c, "role.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		generated, err := objects(string(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range generated {
			r := find(objs, g["kind"].(string), "pylon-"+c)
			if r == nil || !reflect.DeepEqual(r["rules"], g["rules"]) {
				t.Errorf("pylon.yaml's %s pylon-%s: rules %v, controller-gen's %v", g["kind"], c, r["rules"], g["rules"])
			}
		}
	}
}

// run copies the inputs into the chart, replacing what is stale there and
// in the kustomize base, and renders.
func TestRunReplacesStaleFiles(t *testing.T) {
	dir := copyChart(t)
	out := t.TempDir()
	stale := []string{filepath.Join(dir, "files", "crds", "gone.yaml"), filepath.Join(out, kustomizeDir, "gone.yaml")}
	for _, p := range stale {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("kind: Gone\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(realCRDs, realRBAC, dir, out); err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s is left", p)
		}
	}
	for from, to := range map[string]string{
		filepath.Join(realCRDs, "pylonlb.io_ippools.yaml"): filepath.Join(dir, "files", "crds", "pylonlb.io_ippools.yaml"),
		filepath.Join(realRBAC, "speaker", "role.yaml"):    filepath.Join(dir, "files", "rbac", "speaker", "role.yaml"),
		filepath.Join(realRBAC, "controller", "role.yaml"): filepath.Join(dir, "files", "rbac", "controller", "role.yaml"),
	} {
		src, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := os.ReadFile(to)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(cp), "# ") || !strings.HasSuffix(string(cp), string(src)) {
			t.Errorf("%s is no copy of %s under a comment:\n%s", to, from, cp)
		}
	}
	if _, err := os.Stat(filepath.Join(out, allInOne)); err != nil {
		t.Error(err)
	}
}

// render refuses a chart it cannot turn into the plain manifests whole.
func TestRenderRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		file, content, want string
	}{
		"a template it does not place": {"templates/extra.yaml",
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n", "extra.yaml"},
		"appVersion other than v + version": {"Chart.yaml",
			"apiVersion: v2\nname: pylon\nversion: 0.1.0\nappVersion: v0.2.0\nkubeVersion: \">=1.30.0-0\"\n", "appVersion"},
		"a role file without the Role": {"files/rbac/speaker/role.yaml",
			"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: pylon-speaker\nrules: []\n", "holds no Role"},
		"a role file with another kind": {"files/rbac/speaker/role.yaml",
			"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: pylon-speaker\n", "holds a RoleBinding"},
		"a CRD file that is no CRD": {"files/crds/zz.yaml",
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: zz\n", "is no CustomResourceDefinition"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := copyChart(t)
			if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(c.file)), []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := render(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("render = %v, want an error saying %q", err, c.want)
			}
		})
	}
}

// copyChart copies the real chart into a temporary directory.
func copyChart(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pylon")
	if err := os.CopyFS(dir, os.DirFS(realChart)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// find returns the object of kind and name, or nil.
func find(objs []map[string]any, kind, name string) map[string]any {
	for _, o := range objs {
		if m, _ := o["metadata"].(map[string]any); o["kind"] == kind && m["name"] == name {
			return o
		}
	}
	return nil
}
