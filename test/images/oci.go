package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The annotations the OCI layout's index.json gives the image index: its
// tag, as `skopeo copy oci-archive:path:tag` and `oras cp
// --from-oci-layout path:tag` look it up, and its whole name, as
// `ctr images import` names what it imports.
const (
	refNameAnnotation   = "org.opencontainers.image.ref.name"
	imageNameAnnotation = "io.containerd.image.name"
)

// WriteOCIArchive writes imgs, one per architecture and all of one name,
// as one multi-platform image index into an OCI image layout, tarred at
// path: index.json lists that index (annotated with the tag and the whole
// name), which lists one image per platform (linux/<Arch>). Each image is
// built as WriteTarball builds it, with OCI media types. The tarball's
// entries are sorted, owned by root and dated 1970, so the same images give
// the same bytes. On an error nothing is left at path.
func WriteOCIArchive(path string, imgs ...Image) (err error) {
	if len(imgs) == 0 {
		return fmt.Errorf("write %s: no images", path)
	}
	tag, err := name.NewTag(imgs[0].Ref, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("image %q: %w", imgs[0].Ref, err)
	}
	var adds []mutate.IndexAddendum
	var archs []string
	for _, im := range imgs {
		if im.Ref != imgs[0].Ref {
			return fmt.Errorf("write %s: images %q and %q: one index holds one name", path, imgs[0].Ref, im.Ref)
		}
		if slices.Contains(archs, im.arch()) {
			return fmt.Errorf("write %s: two images for linux/%s", path, im.arch())
		}
		archs = append(archs, im.arch())
		img, err := build(im, true)
		if err != nil {
			return fmt.Errorf("image %s for linux/%s: %w", im.Ref, im.arch(), err)
		}
		adds = append(adds, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: im.arch()}},
		})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)

	dir, err := os.MkdirTemp("", "pylon-oci-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	l, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := l.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		refNameAnnotation:   tag.TagStr(),
		imageNameAnnotation: tag.Name(),
	})); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			os.Remove(path)
		}
	}()
	if err := tarDir(dir, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// tarDir writes the files and directories under dir into a tarball at
// path, by their path relative to dir, in lexical order, owned by root and
// dated 1970.
func tarDir(dir, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if d.IsDir() {
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, hdr.Name+"/", 0o755
			return tw.WriteHeader(hdr)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	return errors.Join(err, tw.Close(), f.Close())
}

// OCIArchive is an archive WriteOCIArchive wrote, read back.
type OCIArchive struct {
	Entry  v1.Descriptor       // index.json's one entry, the image index, with its annotations
	Index  v1.ImageIndex       // that index
	Images map[string]v1.Image // its images by platform ("linux/arm64")
}

// OpenOCIArchive unpacks the OCI layout tarball at path into dir and reads
// it as WriteOCIArchive writes it: index.json lists one entry, an image
// index, whose images each name one platform of their own.
func OpenOCIArchive(path, dir string) (*OCIArchive, error) {
	if err := untar(path, dir); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	tm, err := top.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(tm.Manifests) != 1 {
		return nil, fmt.Errorf("%s: index.json lists %d entries, want 1", path, len(tm.Manifests))
	}
	a := &OCIArchive{Entry: tm.Manifests[0], Images: map[string]v1.Image{}}
	if a.Index, err = top.ImageIndex(a.Entry.Digest); err != nil {
		return nil, err
	}
	m, err := a.Index.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Manifests {
		if d.Platform == nil {
			return nil, fmt.Errorf("%s: image %s names no platform", path, d.Digest)
		}
		if a.Images[d.Platform.String()] != nil {
			return nil, fmt.Errorf("%s: two images for %s", path, d.Platform)
		}
		if a.Images[d.Platform.String()], err = a.Index.Image(d.Digest); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// untar unpacks the tarball at path, files and directories only, into dir.
func untar(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !filepath.IsLocal(hdr.Name) {
			return fmt.Errorf("entry %q leaves the layout", hdr.Name)
		}
		p := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			err = writeEntry(p, tr)
		default:
			err = fmt.Errorf("entry %q: type %c, want a file or a directory", hdr.Name, hdr.Typeflag)
		}
		if err != nil {
			return err
		}
	}
}

// writeEntry writes r into a new file at p.
func writeEntry(p string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}
