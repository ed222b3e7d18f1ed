package images

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestWriteOCIArchive writes one name for two architectures and reads the
// layout back: index.json lists one OCI index, annotated with the tag and
// the whole name, whose images are linux/amd64 and linux/arm64, each with
// that platform in its config, OCI media types and its own binary; a second
// write of the same images gives the same bytes.
func TestWriteOCIArchive(t *testing.T) {
	dir := t.TempDir()
	for _, a := range []string{"amd64", "arm64"} {
		if err := os.Mkdir(filepath.Join(dir, a), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	amd := writeFile(t, filepath.Join(dir, "amd64", "speaker"), "amd64's bytes")
	arm := writeFile(t, filepath.Join(dir, "arm64", "speaker"), "arm64's bytes")
	imgs := []Image{
		{Ref: "pylon.local/speaker:v1.2.3", Binary: amd, Arch: "amd64", User: "65532:65532"},
		{Ref: "pylon.local/speaker:v1.2.3", Binary: arm, Arch: "arm64", User: "65532:65532"},
	}
	path := filepath.Join(dir, "speaker.oci.tar")
	if err := WriteOCIArchive(path, imgs...); err != nil {
		t.Fatal(err)
	}
	a, err := OpenOCIArchive(path, filepath.Join(dir, "layout"))
	if err != nil {
		t.Fatal(err)
	}
	d := a.Entry
	if d.MediaType != types.OCIImageIndex || d.Annotations[refNameAnnotation] != "v1.2.3" || d.Annotations[imageNameAnnotation] != "pylon.local/speaker:v1.2.3" {
		t.Errorf("index.json's entry: %s %v", d.MediaType, d.Annotations)
	}
	var got []string
	for platform, img := range a.Images {
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		mt, _ := img.MediaType()
		layers, _ := img.Layers()
		if len(layers) != 1 {
			t.Fatalf("%s: %d layers", platform, len(layers))
		}
		lmt, _ := layers[0].MediaType()
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		files := readTar(t, rc)
		rc.Close()
		got = append(got, strings.Join([]string{platform, cfg.OS + "/" + cfg.Architecture, cfg.Config.User,
			string(mt), string(lmt), files[0].hdr.Name, string(files[0].data)}, " "))
	}
	slices.Sort(got)
	want := []string{
		"linux/amd64 linux/amd64 65532:65532 " + string(types.OCIManifestSchema1) + " " + string(types.OCILayer) + " speaker amd64's bytes",
		"linux/arm64 linux/arm64 65532:65532 " + string(types.OCIManifestSchema1) + " " + string(types.OCILayer) + " speaker arm64's bytes",
	}
	if !slices.Equal(got, want) {
		t.Errorf("images:\n%q\nwant\n%q", got, want)
	}

	again := filepath.Join(dir, "again.oci.tar")
	if err := WriteOCIArchive(again, imgs...); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	second, _ := os.ReadFile(again)
	if len(first) == 0 || !bytes.Equal(first, second) {
		t.Error("the same images gave another archive")
	}
}

// TestWriteOCIArchiveRefusals: no images, two names, one architecture twice
// and a missing binary are errors, and no archive is left.
func TestWriteOCIArchiveRefusals(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, filepath.Join(dir, "speaker"), "x")
	for name, imgs := range map[string][]Image{
		"no images":      nil,
		"two names":      {{Ref: "pylon.local/a:dev", Binary: bin, Arch: "amd64"}, {Ref: "pylon.local/b:dev", Binary: bin, Arch: "arm64"}},
		"arch twice":     {{Ref: "pylon.local/a:dev", Binary: bin, Arch: "arm64"}, {Ref: "pylon.local/a:dev", Binary: bin, Arch: "arm64"}},
		"missing binary": {{Ref: "pylon.local/a:dev", Binary: filepath.Join(dir, "nothing"), Arch: "amd64"}},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".tar")
		if err := WriteOCIArchive(path, imgs...); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s: %s written", name, path)
		}
	}
}
