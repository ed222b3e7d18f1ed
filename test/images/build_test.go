package images

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPylonMatchesDockerfile builds the controller and speaker images'
// binaries and checks each image against its Dockerfile stage (USER and
// ENTRYPOINT), its name against the Helm chart's default repository, and its
// binary: static (no interpreter, no shared libraries) and printing the
// version it was built with.
func TestPylonMatchesDockerfile(t *testing.T) {
	// go test runs in the package's directory, test/images.
	df, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	const version = "v9.8.7-test"
	imgs, err := Pylon(t.Context(), t.TempDir(), "ghcr.io/pylonlb", version)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 {
		t.Fatalf("%d images, want 2", len(imgs))
	}
	for _, im := range imgs {
		name := filepath.Base(im.Binary)
		if want := "ghcr.io/pylonlb/pylon-" + name + ":" + version; im.Ref != want {
			t.Errorf("%s: ref %q, want %q", name, im.Ref, want)
		}
		stage := regexp.MustCompile(`(?s)FROM \S+ AS ` + name + `\n(.*?)(?:\nFROM |\z)`).FindStringSubmatch(string(df))
		if stage == nil {
			t.Fatalf("no image stage %q in the Dockerfile", name)
		}
		user := regexp.MustCompile(`(?m)^USER (\S+)$`).FindStringSubmatch(stage[1])
		if user == nil || user[1] != im.User {
			t.Errorf("%s: user %q, the Dockerfile's stage says %q", name, im.User, user)
		}
		ep := regexp.MustCompile(`(?m)^ENTRYPOINT (\[.*\])$`).FindStringSubmatch(stage[1])
		var want []string
		if ep == nil || json.Unmarshal([]byte(ep[1]), &want) != nil || !slices.Equal(im.Entrypoint, want) {
			t.Errorf("%s: entrypoint %q, the Dockerfile's stage says %q", name, im.Entrypoint, ep)
		}

		f, err := elf.Open(im.Binary)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s has a program interpreter: it is dynamically linked", name)
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("%s needs shared libraries %v", name, libs)
		}
		f.Close()
		out, err := exec.CommandContext(t.Context(), im.Binary, "--version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), name+" "+version) {
			t.Errorf("%s --version: %v %q, want %q first", name, err, out, name+" "+version)
		}
	}
}
