package generated

import (
	"bytes"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pylonlb/pylon/test/envtest"
)

// TestGeneratedFilesAreCurrent regenerates into a scratch copy of the module
// and compares with what is committed, so it never touches the work tree.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := envtest.RepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		copyFile(t, filepath.Join(root, f), filepath.Join(scratch, f))
	}
	if err := os.CopyFS(filepath.Join(scratch, "api"), os.DirFS(filepath.Join(root, "api"))); err != nil {
		t.Fatal(err)
	}
	crds := filepath.Join(scratch, "crds")
	for _, args := range [][]string{
		{"tool", "controller-gen", "object", "paths=./api/..."},
		{"tool", "controller-gen", "crd", "paths=./api/...", "output:crd:artifacts:config=" + crds},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = scratch
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}

	compare := func(committed, fresh string, gofmt bool) {
		t.Helper()
		want, err := os.ReadFile(fresh)
		if err != nil {
			t.Fatalf("generator did not write %s: %v", fresh, err)
		}
		if gofmt {
			if want, err = format.Source(want); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(committed)
		if err != nil || !bytes.Equal(got, want) {
			rel, _ := filepath.Rel(root, committed)
			t.Errorf("%s is stale or missing: run `make generate` and commit the result", rel)
		}
	}
	compare(filepath.Join(root, "api/v1alpha1/zz_generated.deepcopy.go"), filepath.Join(scratch, "api/v1alpha1/zz_generated.deepcopy.go"), true)

	fresh, err := filepath.Glob(filepath.Join(crds, "*.yaml"))
	if err != nil || len(fresh) == 0 {
		t.Fatalf("controller-gen wrote no CRDs: %v", err)
	}
	committed, _ := filepath.Glob(filepath.Join(root, "deploy/crds/*.yaml"))
	if len(committed) != len(fresh) {
		t.Errorf("deploy/crds holds %d files, the generator writes %d: run `make generate`", len(committed), len(fresh))
	}
	for _, f := range fresh {
		compare(filepath.Join(root, "deploy/crds", filepath.Base(f)), f, false)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
