package generated

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pylonlb/pylon/test/envtest"
)

// TestDeployIsCurrent regenerates the RBAC roles (controller-gen rbac from
// controller/rbac.go and speaker/rbac.go) into a scratch directory, then
// runs hack/manifests on a scratch copy of the chart: it copies those roles
// and the committed CRDs into the chart's files/ and renders
// deploy/pylon.yaml and deploy/kustomize from the chart. It fails if what
// is committed differs, or if a committed file is no longer written.
func TestDeployIsCurrent(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := envtest.RepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	rbac := filepath.Join(scratch, "rbac")
	out := filepath.Join(scratch, "deploy")
	chart := filepath.Join(out, "charts", "pylon")
	if err := os.CopyFS(chart, os.DirFS(filepath.Join(root, "deploy", "charts", "pylon"))); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"tool", "controller-gen", "rbac:roleName=pylon-controller", "paths=./controller/...", "output:rbac:artifacts:config=" + filepath.Join(rbac, "controller")},
		{"tool", "controller-gen", "rbac:roleName=pylon-speaker", "paths=./speaker/...", "output:rbac:artifacts:config=" + filepath.Join(rbac, "speaker")},
		{"run", "./hack/manifests", "-crds", filepath.Join(root, "deploy", "crds"), "-rbac", rbac, "-chart", chart, "-out", out},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, b)
		}
	}
	compareTrees(t, rbac, filepath.Join(root, "deploy", "rbac"), "deploy/rbac")
	compareTrees(t, out, filepath.Join(root, "deploy"), "deploy",
		"kustomize", "charts/pylon/files", "pylon.yaml")
}

// compareTrees checks that every file under fresh is committed, byte for
// byte, under committed; and, when owned names directories (or files)
// relative to both, that committed holds nothing there that fresh lacks.
// With no owned, all of committed is owned.
func compareTrees(t *testing.T, fresh, committed, label string, owned ...string) {
	t.Helper()
	if len(owned) == 0 {
		owned = []string{"."}
	}
	n := 0
	err := filepath.WalkDir(fresh, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		rel, _ := filepath.Rel(fresh, p)
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Join(committed, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s/%s is stale or missing: run `make generate` and commit the result", label, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("the generators wrote nothing under %s: %v", fresh, err)
	}
	for _, o := range owned {
		_ = filepath.WalkDir(filepath.Join(committed, o), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(committed, p)
			if _, err := os.Stat(filepath.Join(fresh, rel)); err != nil {
				t.Errorf("%s/%s is committed but no longer generated: run `make generate` and commit the removal", label, filepath.ToSlash(rel))
			}
			return nil
		})
	}
}
