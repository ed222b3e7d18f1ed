package images

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/pylonlb/pylon/test/envtest"
)

// versionPkg is where pylon's commands keep the version the linker sets
// (the Dockerfile's -X flags).
const versionPkg = "github.com/pylonlb/pylon/cmd/internal/version"

// Build says how BuildStatic and Pylon build binaries: for linux and
// Arch, with Version and Revision linked in as the Dockerfile's -X flags
// set them.
type Build struct {
	Arch     string // GOARCH: "amd64", "arm64"; "" = this machine's
	Version  string // e.g. "v0.1.0"
	Revision string // the commit; "" = none (the Dockerfile's default)
}

// BuildStatic builds the module's package pkg ("./cmd/speaker") into dir as
// a static binary for this machine (Build.Static).
func BuildStatic(ctx context.Context, pkg, dir, version string) (string, error) {
	return Build{Version: version}.Static(ctx, pkg, dir)
}

// Static builds the module's package pkg ("./cmd/speaker") into dir (made
// if need be) as a static binary, the way the Dockerfile does: GOOS=linux,
// GOARCH=b.Arch, CGO_ENABLED=0, -trimpath, -buildvcs=false, stripped, with
// b's version and revision baked in (`speaker --version`), and returns its
// path. It runs `go build` in the repository root; Go's build cache makes a
// second build quick.
func (b Build) Static(ctx context.Context, pkg, dir string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := envtest.RepoRoot(wd)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	ldflags := fmt.Sprintf("-s -w -X %s.version=%s", versionPkg, b.Version)
	if b.Revision != "" {
		ldflags += fmt.Sprintf(" -X %s.revision=%s", versionPkg, b.Revision)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOOS=linux", "GOARCH="+b.arch())
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s for linux/%s: %w: %s", pkg, b.arch(), err, msg)
	}
	return out, nil
}

// arch is b.Arch, or this machine's.
func (b Build) arch() string {
	if b.Arch == "" {
		return runtime.GOARCH
	}
	return b.Arch
}

// BuildPause builds the pause program (test/images/pause, a tiny static Go main that
// waits for SIGTERM/SIGINT and reaps zombies, as Kubernetes' pause does) into dir and
// returns its path.
func BuildPause(ctx context.Context, dir string) (string, error) {
	return BuildStatic(ctx, "./test/images/pause", dir, "dev")
}

// Pylon builds the controller and the speaker for this machine (Build.Pylon).
func Pylon(ctx context.Context, dir, repo, version string) ([]Image, error) {
	return Build{Version: version}.Pylon(ctx, dir, repo)
}

// Pylon builds the controller and the speaker (Build.Static) into dir and
// returns their images as the Dockerfile makes them: the binary as the
// entrypoint (/controller, /speaker) and the nonroot user 65532:65532 (the
// speaker's pod runs it as root with runAsUser: 0), for b's architecture.
// They are named repo+"/pylon-controller:"+b.Version and
// repo+"/pylon-speaker:"+b.Version, as the Helm chart's image values
// expect; "ghcr.io/pylonlb" is the chart's default repo.
func (b Build) Pylon(ctx context.Context, dir, repo string) ([]Image, error) {
	var imgs []Image
	for _, c := range []string{"controller", "speaker"} {
		bin, err := b.Static(ctx, "./cmd/"+c, dir)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, Image{
			Ref:        repo + "/pylon-" + c + ":" + b.Version,
			Binary:     bin,
			Entrypoint: []string{"/" + c},
			User:       "65532:65532",
			Arch:       b.arch(),
		})
	}
	return imgs, nil
}
