package images

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestWriteTarball writes two images into one tarball and reads each back:
// its tag in the archive's manifest, platform, entrypoint (given and
// defaulted), user, and one layer holding exactly the binary at /<name>,
// mode 0755, owned by root.
func TestWriteTarball(t *testing.T) {
	dir := t.TempDir()
	speaker := writeFile(t, filepath.Join(dir, "speaker"), "speaker's bytes")
	controller := writeFile(t, filepath.Join(dir, "controller"), "controller's bytes")
	path := filepath.Join(dir, "images.tar")
	imgs := []Image{
		{Ref: "pylon.local/speaker:dev", Binary: speaker},
		{Ref: "pylon.local/controller:dev", Binary: controller, Entrypoint: []string{"/controller", "--leader-elect"}, User: "65532:65532"},
	}
	if err := WriteTarball(path, imgs...); err != nil {
		t.Fatal(err)
	}

	var manifest []struct{ RepoTags []string }
	readMember(t, path, "manifest.json", &manifest)
	var tags []string
	for _, m := range manifest {
		tags = append(tags, m.RepoTags...)
	}
	slices.Sort(tags)
	if want := []string{"pylon.local/controller:dev", "pylon.local/speaker:dev"}; !slices.Equal(tags, want) {
		t.Errorf("tags in manifest.json: %q, want %q", tags, want)
	}

	for _, c := range []struct {
		ref, file, content, user string
		entrypoint               []string
	}{
		{"pylon.local/speaker:dev", "speaker", "speaker's bytes", "", []string{"/speaker"}},
		{"pylon.local/controller:dev", "controller", "controller's bytes", "65532:65532", []string{"/controller", "--leader-elect"}},
	} {
		tag, err := name.NewTag(c.ref)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(path, &tag)
		if err != nil {
			t.Fatalf("%s: %v", c.ref, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
			t.Errorf("%s: platform %s/%s, want linux/%s", c.ref, cfg.OS, cfg.Architecture, runtime.GOARCH)
		}
		if !slices.Equal(cfg.Config.Entrypoint, c.entrypoint) {
			t.Errorf("%s: entrypoint %q, want %q", c.ref, cfg.Config.Entrypoint, c.entrypoint)
		}
		if cfg.Config.User != c.user {
			t.Errorf("%s: user %q, want %q", c.ref, cfg.Config.User, c.user)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		if len(layers) != 1 || len(cfg.RootFS.DiffIDs) != 1 {
			t.Fatalf("%s: %d layers, %d diff IDs, want 1", c.ref, len(layers), len(cfg.RootFS.DiffIDs))
		}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		files := readTar(t, rc)
		rc.Close()
		if len(files) != 1 {
			t.Fatalf("%s: layer holds %d entries, want 1", c.ref, len(files))
		}
		f := files[0]
		if f.hdr.Name != c.file || f.hdr.Typeflag != tar.TypeReg || f.hdr.Mode != 0o755 || f.hdr.Uid != 0 || f.hdr.Gid != 0 {
			t.Errorf("%s: layer entry %q type %c mode %o uid %d gid %d, want %q regular 0755 root", c.ref, f.hdr.Name, f.hdr.Typeflag, f.hdr.Mode, f.hdr.Uid, f.hdr.Gid, c.file)
		}
		if string(f.data) != c.content {
			t.Errorf("%s: layer's file holds %q, want %q", c.ref, f.data, c.content)
		}
	}
}

// TestWriteTarballRefusals: no images, a bad reference, a tag named twice
// and a missing binary are errors, and no tarball is left claiming success.
func TestWriteTarballRefusals(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, filepath.Join(dir, "speaker"), "x")
	for name, imgs := range map[string][]Image{
		"no images":      nil,
		"bad reference":  {{Ref: "Not A Ref", Binary: bin}},
		"tag twice":      {{Ref: "pylon.local/a:dev", Binary: bin}, {Ref: "pylon.local/a:dev", Binary: bin}},
		"missing binary": {{Ref: "pylon.local/a:dev", Binary: filepath.Join(dir, "nothing")}},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".tar")
		if err := WriteTarball(path, imgs...); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s: %s written", name, path)
		}
	}
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

type tarFile struct {
	hdr  *tar.Header
	data []byte
}

func readTar(t *testing.T, r io.Reader) []tarFile {
	t.Helper()
	var out []tarFile
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarFile{hdr, data})
	}
}

// readMember decodes the JSON file member of the tarball at path into v.
func readMember(t *testing.T, path, member string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tf := range readTar(t, f) {
		if tf.hdr.Name == member {
			if err := json.NewDecoder(bytes.NewReader(tf.data)).Decode(v); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("%s has no %s", path, member)
}
