package deploy

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pylonlb/pylon/test/envtest"
)

// TestImageBuildRecipe checks the Dockerfile without a docker daemon (CI
// has none): its build stage's `go build`, run here with the same
// environment and flags, gives static binaries that print the version and
// revision passed in; and each image stage copies its binary onto the
// distroless static base as the nonroot user, with the binary as the
// entrypoint. What it cannot check is the base image itself.
func TestImageBuildRecipe(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := envtest.RepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := strings.ReplaceAll(string(data), "\\\n", " ")

	if !regexp.MustCompile(`(?m)^ENV .*\bCGO_ENABLED=0\b`).MatchString(df) {
		t.Fatal("the build stage does not set CGO_ENABLED=0: the binaries would not be static")
	}
	m := regexp.MustCompile(`go build((?:\s+-[\w=.-]+)*)\s+-ldflags\s+"([^"]+)"\s+-o /out/((?:\s+\./cmd/\w+)+)`).FindStringSubmatch(df)
	if m == nil {
		t.Fatal("no `go build ... -ldflags \"...\" -o /out/ ./cmd/...` in the Dockerfile's build stage")
	}
	const version, revision = "v9.8.7-test", "0123456789abcdef"
	ldflags := strings.NewReplacer("${VERSION}", version, "${REVISION}", revision).Replace(m[2])
	pkgs := strings.Fields(m[3])
	out := t.TempDir()
	args := append(append([]string{"build"}, strings.Fields(m[1])...), "-ldflags", ldflags, "-o", out+"/")
	cmd := exec.CommandContext(t.Context(), "go", append(args, pkgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, b)
	}

	for _, pkg := range pkgs {
		name := filepath.Base(pkg)
		bin := filepath.Join(out, name)
		t.Run(name, func(t *testing.T) {
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Fatalf("%s has a program interpreter: it is dynamically linked", name)
				}
			}
			if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
				t.Fatalf("%s needs shared libraries %v", name, libs)
			}
			got, err := exec.CommandContext(t.Context(), bin, "--version").CombinedOutput()
			if err != nil {
				t.Fatalf("%s --version: %v\n%s", name, err, got)
			}
			if s := string(got); !strings.HasPrefix(s, name+" "+version) || !strings.Contains(s, revision) {
				t.Fatalf("%s --version printed %q; want %q with revision %s", name, s, name+" "+version, revision)
			}

			// Its image stage: distroless static, nonroot, the binary as
			// the entrypoint.
			stage := regexp.MustCompile(`(?s)FROM (\S+) AS ` + name + `\n(.*?)(?:\nFROM |\z)`).FindStringSubmatch(df)
			if stage == nil {
				t.Fatalf("no image stage %q in the Dockerfile", name)
			}
			if !strings.HasPrefix(stage[1], "gcr.io/distroless/static") || !strings.HasSuffix(stage[1], ":nonroot") {
				t.Errorf("stage %s is based on %s; want distroless static, nonroot", name, stage[1])
			}
			for _, want := range []string{"COPY --from=build /out/" + name + " /" + name, "USER 65532:65532", `ENTRYPOINT ["/` + name + `"]`} {
				if !strings.Contains(stage[2], want) {
					t.Errorf("stage %s lacks %q", name, want)
				}
			}
		})
	}
}
