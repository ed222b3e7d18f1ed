package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/pylonlb/pylon/test/images"
)

// The real chart and manifest, from this package's directory.
const (
	realChart    = "../../deploy/charts/pylon"
	realManifest = "../../deploy/pylon.yaml"
)

// machine is the ELF machine of a release architecture.
func machine(arch string) elf.Machine {
	switch arch {
	case "amd64":
		return elf.EM_X86_64
	case "arm64":
		return elf.EM_AARCH64
	}
	return elf.EM_NONE
}

// testArchs are the architectures TestRelease builds: amd64 and arm64, as
// `make release` does, with PYLON_RELEASE_ARM64=1; amd64 alone otherwise.
// The arm64 build compiles every dependency a second time (about 8 minutes
// on a cold cache, beside the e2e labs on 2 cores), so make test leaves it
// to that knob (the index then holds one platform); `make release`
// builds both.
func testArchs() []string {
	if os.Getenv("PYLON_RELEASE_ARM64") == "1" {
		return []string{"amd64", "arm64"}
	}
	return []string{"amd64"}
}

// TestRelease builds the release of the real chart into a scratch directory
// and reads every artifact back: the chart package loads with the Helm SDK
// and carries the chart's version; pylon.yaml is deploy/pylon.yaml, its
// containers running the chart's images tagged v<version>; each image
// archive is an OCI layout whose one index, named by the tag, holds a
// linux/amd64 and (PYLON_RELEASE_ARM64=1) a linux/arm64 image, each with that platform in its
// config, the Dockerfile's entrypoint and nonroot user, and one layer
// holding one static ELF binary for that machine (this machine's runs and
// prints the version and revision); the controller's index, pushed to an
// in-memory registry, gives each platform's image back by platform;
// SHA256SUMS lists the other four files with their digests.
func TestRelease(t *testing.T) {
	meta, err := chartutil.LoadChartfile(filepath.Join(realChart, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := loader.LoadDir(realChart)
	if err != nil {
		t.Fatal(err)
	}
	version := meta.AppVersion
	out := filepath.Join(t.TempDir(), "dist")
	const revision = "0123456789abcdef"
	files, err := release(t.Context(), options{
		chart: realChart, manifest: realManifest, version: version, revision: revision,
		out: out, archs: testArchs(),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SHA256SUMS", "pylon-" + meta.Version + ".tgz", "pylon-controller-" + version + ".oci.tar",
		"pylon-speaker-" + version + ".oci.tar", "pylon.yaml"}
	var got []string
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s holds %q, want %q", out, got, want)
	}
	if len(files) != len(want) || filepath.Base(files[len(files)-1]) != "SHA256SUMS" {
		t.Errorf("release returned %q, want the %d files, SHA256SUMS last", files, len(want))
	}

	ch, err := loader.Load(filepath.Join(out, "pylon-"+meta.Version+".tgz"))
	if err != nil {
		t.Fatal(err)
	}
	if ch.Metadata.Version != meta.Version || ch.Metadata.AppVersion != version {
		t.Errorf("packaged chart: version %q appVersion %q, want %q %q", ch.Metadata.Version, ch.Metadata.AppVersion, meta.Version, version)
	}
	if len(ch.Templates) != len(src.Templates) || len(ch.Files) != len(src.Files) || len(ch.Templates) == 0 {
		t.Errorf("packaged chart: %d templates, %d files; the chart has %d, %d", len(ch.Templates), len(ch.Files), len(src.Templates), len(src.Files))
	}

	image := src.Values["image"].(map[string]any)
	refs := map[string]string{}
	for _, c := range []string{"controller", "speaker"} {
		refs[c] = image[c].(string) + ":" + version
	}
	checkManifestCopy(t, filepath.Join(out, "pylon.yaml"), refs)
	for c, ref := range refs {
		idx := checkImage(t, filepath.Join(out, "pylon-"+c+"-"+version+".oci.tar"), c, ref, version, revision)
		if c == "controller" {
			checkPush(t, idx, version)
		}
	}
	checkSums(t, out, want[1:])
}

// checkManifestCopy: the file is deploy/pylon.yaml, and its containers run
// the images of refs and no other.
func checkManifestCopy(t *testing.T, path string, refs map[string]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(realManifest)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, orig) {
		t.Errorf("pylon.yaml is not deploy/pylon.yaml")
	}
	var runs []string
	for line := range strings.Lines(string(data)) {
		if ref, ok := strings.CutPrefix(strings.TrimPrefix(strings.TrimSpace(line), "- "), "image: "); ok {
			runs = append(runs, ref)
		}
	}
	slices.Sort(runs)
	want := []string{refs["controller"], refs["speaker"]}
	slices.Sort(want)
	if !slices.Equal(slices.Compact(runs), want) {
		t.Errorf("pylon.yaml's containers run %q, want %q", runs, want)
	}
}

// checkImage reads the OCI archive of component c back (see TestRelease)
// and returns its image index.
func checkImage(t *testing.T, path, c, ref, version, revision string) v1.ImageIndex {
	t.Helper()
	a, err := images.OpenOCIArchive(path, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if d := a.Entry; d.MediaType != types.OCIImageIndex || d.Annotations["org.opencontainers.image.ref.name"] != version ||
		d.Annotations["io.containerd.image.name"] != ref {
		t.Errorf("%s: index.json's entry %s %v, want an OCI index named %s, %s", path, d.MediaType, d.Annotations, version, ref)
	}
	var platforms []string
	for platform, img := range a.Images {
		platforms = append(platforms, platform)
		_, arch, _ := strings.Cut(platform, "/")
		checkPlatformImage(t, path+" "+platform, img, c, arch, version, revision)
	}
	slices.Sort(platforms)
	var want []string
	for _, a := range testArchs() {
		want = append(want, "linux/"+a)
	}
	if !slices.Equal(platforms, want) {
		t.Errorf("%s: platforms %q, want %q", path, platforms, want)
	}
	return a.Index
}

// checkPush pushes idx to an in-memory registry on loopback, as `crane
// push` does, and pulls each platform's image back by its platform, as a
// node of that architecture does: it must be the index's image for it.
func checkPush(t *testing.T, idx v1.ImageIndex, version string) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://")+"/pylon/pylon-controller:"+version, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("push to %s: %v", ref, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		img, err := remote.Image(ref, remote.WithContext(t.Context()), remote.WithPlatform(*d.Platform))
		if err != nil {
			t.Fatalf("pull %s for %s: %v", ref, d.Platform, err)
		}
		if got, err := img.Digest(); err != nil || got != d.Digest {
			t.Errorf("pull %s for %s: %s %v, want %s", ref, d.Platform, got, err, d.Digest)
		}
	}
}

// checkPlatformImage checks one platform's image of component c.
func checkPlatformImage(t *testing.T, what string, img v1.Image, c, arch, version, revision string) {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != arch {
		t.Errorf("%s: config's platform %s/%s", what, cfg.OS, cfg.Architecture)
	}
	if !slices.Equal(cfg.Config.Entrypoint, []string{"/" + c}) || cfg.Config.User != "65532:65532" {
		t.Errorf("%s: entrypoint %q user %q, want [/%s] 65532:65532", what, cfg.Config.Entrypoint, cfg.Config.User, c)
	}
	if mt, err := img.MediaType(); err != nil || mt != types.OCIManifestSchema1 {
		t.Errorf("%s: manifest media type %s %v, want %s", what, mt, err, types.OCIManifestSchema1)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%s: %d layers, want 1", what, len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Name != c || hdr.Mode != 0o755 {
		t.Errorf("%s: layer holds %q mode %o, want %q 0755", what, hdr.Name, hdr.Mode, c)
	}
	bin := filepath.Join(t.TempDir(), c)
	data, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("%s: layer holds more than %s (%v)", what, c, err)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s: %s is no ELF binary: %v", what, c, err)
	}
	defer f.Close()
	if f.Machine != machine(arch) {
		t.Errorf("%s: %s is for %s, want %s", what, c, f.Machine, machine(arch))
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: %s has a program interpreter: it is dynamically linked", what, c)
		}
	}
	if runtime.GOOS == "linux" && arch == runtime.GOARCH {
		out, err := exec.CommandContext(t.Context(), bin, "--version").CombinedOutput()
		if want := c + " " + version + " (" + revision + ", "; err != nil || !strings.HasPrefix(string(out), want) {
			t.Errorf("%s: %s --version: %v %q, want %q first", what, c, err, out, want)
		}
	}
}

// checkSums: SHA256SUMS in dir lists exactly names, each with its file's
// digest, as `sha256sum -c` reads them.
func checkSums(t *testing.T, dir string, names []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", sc.Text())
		}
		listed = append(listed, name)
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%x", sha256.Sum256(data)); got != sum {
			t.Errorf("SHA256SUMS: %s %s, the file's digest is %s", name, sum, got)
		}
	}
	slices.Sort(listed)
	if !slices.Equal(listed, names) {
		t.Errorf("SHA256SUMS lists %q, want %q", listed, names)
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.CommandContext(t.Context(), "sha256sum", "-c", "--strict", "SHA256SUMS")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
}

// TestReleaseRefuses: a version other than the chart's, a manifest whose
// images are not the chart's (the chart bumped without `make generate`), no
// architecture and an output directory holding something are errors found
// before anything is written; a build that fails (an unknown architecture)
// leaves the output directory empty, though the chart and pylon.yaml were
// written before it.
func TestReleaseRefuses(t *testing.T) {
	dir := t.TempDir()
	meta, err := chartutil.LoadChartfile(filepath.Join(realChart, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(realManifest)
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "stale.yaml")
	if err := os.WriteFile(stale, bytes.ReplaceAll(manifest, []byte(":"+meta.AppVersion+"\n"), []byte(":v0.0.1\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "old.tgz"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := options{chart: realChart, manifest: realManifest, archs: []string{"amd64", "arm64"}}
	for name, c := range map[string]struct {
		change func(*options)
		says   string
	}{
		"another version": {func(o *options) { o.version = "v9.9.9" }, "not the chart's appVersion"},
		"stale manifest":  {func(o *options) { o.manifest = stale }, "run `make generate`"},
		"no architecture": {func(o *options) { o.archs = []string{""} }, "architectures"},
		"full directory":  {func(o *options) { o.out = full }, "is not empty"},
		"failed build":    {func(o *options) { o.archs = []string{"nosucharch"} }, "linux/nosucharch"},
	} {
		o := good
		o.out = filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		c.change(&o)
		files, err := release(t.Context(), o)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.says)
		}
		if entries, _ := os.ReadDir(o.out); len(files) > 0 || (o.out != full && len(entries) > 0) {
			t.Errorf("%s: wrote %q (%d entries in %s)", name, files, len(entries), o.out)
		}
	}
}
