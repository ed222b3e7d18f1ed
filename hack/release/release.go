package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/pylonlb/pylon/test/images"
)

// options are the command's flags.
type options struct {
	chart, manifest string
	version         string // "" = the chart's appVersion
	revision        string
	out             string
	archs           []string
}

// sumsFile lists the other artifacts' digests.
const sumsFile = "SHA256SUMS"

// components are the images, each named by the chart's image.<component>
// value; test/images builds them from ./cmd/<component>.
func components() []string { return []string{"controller", "speaker"} }

// release writes the artifacts into o.out and returns their paths,
// SHA256SUMS last. On an error o.out is left empty: no partial release.
func release(ctx context.Context, o options) (_ []string, err error) {
	ch, err := loader.LoadDir(o.chart)
	if err != nil {
		return nil, fmt.Errorf("load the chart: %w", err)
	}
	version, err := chartVersion(ch.Metadata, o.version)
	if err != nil {
		return nil, err
	}
	if len(o.archs) == 0 || slices.Contains(o.archs, "") {
		return nil, fmt.Errorf("architectures %q: want a comma-separated list such as amd64,arm64", o.archs)
	}
	refs, err := imageRefs(ch, version)
	if err != nil {
		return nil, err
	}
	manifest, err := os.ReadFile(o.manifest)
	if err != nil {
		return nil, err
	}
	if err := checkManifest(manifest, refs); err != nil {
		return nil, fmt.Errorf("%s: %w", o.manifest, err)
	}
	if err := emptyDir(o.out); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, emptyOut(o.out))
		}
	}()

	var files []string
	p := filepath.Join(o.out, "pylon.yaml")
	if err := os.WriteFile(p, manifest, 0o644); err != nil {
		return nil, err
	}
	files = append(files, p)
	if p, err = chartutil.Save(ch, o.out); err != nil {
		return nil, fmt.Errorf("package the chart: %w", err)
	}
	files = append(files, p)
	imgs, err := writeImages(ctx, o, version, refs)
	if err != nil {
		return nil, err
	}
	files = append(files, imgs...)
	p, err = writeSums(o.out, files)
	if err != nil {
		return nil, err
	}
	return append(files, p), nil
}

// chartVersion is the release's version, the chart's appVersion, after
// checking that it is the chart's version with a leading v and that want,
// when given, is it.
func chartVersion(meta *chart.Metadata, want string) (string, error) {
	if meta.AppVersion != "v"+meta.Version {
		return "", fmt.Errorf("the chart's appVersion %q is not its version %q with a leading v (Chart.yaml)", meta.AppVersion, meta.Version)
	}
	if want != "" && want != meta.AppVersion {
		return "", fmt.Errorf("version %s is not the chart's appVersion %s: to release %s, set version and appVersion in Chart.yaml and run `make generate`", want, meta.AppVersion, want)
	}
	return meta.AppVersion, nil
}

// imageRefs are the images the chart installs by default: its
// image.<component> values tagged with version, by component.
func imageRefs(ch *chart.Chart, version string) (map[string]string, error) {
	image, _ := ch.Values["image"].(map[string]any)
	refs := map[string]string{}
	for _, c := range components() {
		repo, _ := image[c].(string)
		if repo == "" {
			return nil, fmt.Errorf("the chart's values have no image.%s", c)
		}
		refs[c] = repo + ":" + version
	}
	return refs, nil
}

// imageLine is an image a manifest's container runs.
var imageLine = regexp.MustCompile(`(?m)^\s*(?:- )?image: *"?([^"\s]+)"?\s*$`)

// checkManifest says whether the manifest's containers run exactly the
// images in refs: when the chart's version changed without `make
// generate`, they run the old tag.
func checkManifest(manifest []byte, refs map[string]string) error {
	var got, want []string
	for _, m := range imageLine.FindAllSubmatch(manifest, -1) {
		if s := string(m[1]); !slices.Contains(got, s) {
			got = append(got, s)
		}
	}
	for _, r := range refs {
		want = append(want, r)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("its containers run %q, the chart's images are %q: run `make generate`", got, want)
	}
	return nil
}

// emptyDir makes dir, which must be absent or empty.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty: the artifacts of one release go into an empty directory", dir)
	}
	return os.MkdirAll(dir, 0o755)
}

// emptyOut removes everything in dir, which emptyDir found empty.
func emptyOut(dir string) error {
	entries, err := os.ReadDir(dir)
	for _, e := range entries {
		err = errors.Join(err, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return err
}

// writeImages builds each component for each of o.archs and writes one
// multi-platform OCI archive per component into o.out.
func writeImages(ctx context.Context, o options, version string, refs map[string]string) ([]string, error) {
	tmp, err := os.MkdirTemp("", "pylon-release-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	byComponent := map[string][]images.Image{}
	for _, arch := range o.archs {
		b := images.Build{Arch: arch, Version: version, Revision: o.revision}
		// The images as the Dockerfile makes them (test/images checks
		// that), named as the chart's values say.
		imgs, err := b.Pylon(ctx, filepath.Join(tmp, arch), "")
		if err != nil {
			return nil, err
		}
		for _, im := range imgs {
			c := filepath.Base(im.Binary)
			if refs[c] == "" {
				return nil, fmt.Errorf("test/images built %s, which the chart does not install", c)
			}
			im.Ref = refs[c]
			byComponent[c] = append(byComponent[c], im)
		}
	}
	var files []string
	for _, c := range components() {
		p := filepath.Join(o.out, "pylon-"+c+"-"+version+".oci.tar")
		if err := images.WriteOCIArchive(p, byComponent[c]...); err != nil {
			return nil, err
		}
		files = append(files, p)
	}
	return files, nil
}

// writeSums writes SHA256SUMS into dir: one line per file, its digest and
// base name as sha256sum writes them, sorted by name.
func writeSums(dir string, files []string) (string, error) {
	var lines []string
	for _, f := range files {
		sum, err := sha256File(f)
		if err != nil {
			return "", err
		}
		lines = append(lines, sum+"  "+filepath.Base(f)+"\n")
	}
	slices.SortFunc(lines, func(a, b string) int { return strings.Compare(a[66:], b[66:]) })
	p := filepath.Join(dir, sumsFile)
	return p, os.WriteFile(p, []byte(strings.Join(lines, "")), 0o644)
}

// sha256File is the hex SHA-256 digest of the file at p.
func sha256File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
