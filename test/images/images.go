package images

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image is one image: a static binary as its entrypoint.
type Image struct {
	Ref        string   // e.g. "pylon.local/speaker:dev"
	Binary     string   // path of a static binary on this machine
	Entrypoint []string // default: ["/" + base name of Binary]
	User       string   // "" = root; e.g. "65532:65532"
	Arch       string   // the binary's GOARCH; "" = this machine's
}

// WriteTarball writes imgs into one tarball at path, importable with
// `ctr -n k8s.io images import path`.
//
// Each image is a single layer holding the binary at "/" + its base name
// (mode 0755, owned by root) on an empty base, for linux and its Arch. The
// tarball is a docker archive (manifest.json with each
// image's tag). The binaries are read into memory.
func WriteTarball(path string, imgs ...Image) error {
	if len(imgs) == 0 {
		return fmt.Errorf("write %s: no images", path)
	}
	refs := make(map[name.Reference]v1.Image, len(imgs))
	for _, im := range imgs {
		tag, err := name.NewTag(im.Ref, name.StrictValidation)
		if err != nil {
			return fmt.Errorf("image %q: %w", im.Ref, err)
		}
		if _, dup := refs[tag]; dup {
			return fmt.Errorf("image %q named twice", im.Ref)
		}
		img, err := build(im, false)
		if err != nil {
			return fmt.Errorf("image %s: %w", im.Ref, err)
		}
		refs[tag] = img
	}
	if err := tarball.MultiRefWriteToFile(path, refs); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// build makes im's image: its layer on an empty base, and a config saying
// the platform, entrypoint and user; with OCI media types when oci, Docker's
// otherwise (the docker archive WriteTarball writes).
func build(im Image, oci bool) (v1.Image, error) {
	bin, err := os.ReadFile(im.Binary)
	if err != nil {
		return nil, err
	}
	file := filepath.Base(im.Binary)
	layerTar, err := oneFileTar(file, bin)
	if err != nil {
		return nil, err
	}
	base := empty.Image
	var layerOpts []tarball.LayerOption
	if oci {
		base = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		layerOpts = append(layerOpts, tarball.WithMediaType(types.OCILayer))
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, layerOpts...)
	if err != nil {
		return nil, err
	}
	cfg, err := base.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS = "linux"
	cfg.Architecture = im.arch()
	cfg.Config.Entrypoint = im.Entrypoint
	if len(cfg.Config.Entrypoint) == 0 {
		cfg.Config.Entrypoint = []string{"/" + file}
	}
	cfg.Config.User = im.User
	img, err := mutate.ConfigFile(base, cfg)
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(img, layer)
}

// arch is im.Arch, or this machine's.
func (im Image) arch() string {
	if im.Arch == "" {
		return runtime.GOARCH
	}
	return im.Arch
}

// oneFileTar is a tar stream holding data as the file /name, mode 0755,
// owned by root.
func oneFileTar(name string, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     0o755,
		Size:     int64(len(data)),
		ModTime:  time.Unix(0, 0),
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
