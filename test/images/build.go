package images

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/pylonlb/pylon/test/envtest"
)

// versionPkg is where pylon's commands keep the version the linker sets
// (the Dockerfile's -X flags).
const versionPkg = "github.com/pylonlb/pylon/cmd/internal/version"

// BuildStatic builds the module's package pkg ("./cmd/speaker") into dir as
// a static binary, the way the Dockerfile does: CGO_ENABLED=0, -trimpath,
// stripped, with version baked in (`speaker --version`), and returns its
// path. It runs `go build` in the repository root; Go's build cache makes a
// second build quick.
func BuildStatic(ctx context.Context, pkg, dir, version string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := envtest.RepoRoot(wd)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	ldflags := fmt.Sprintf("-s -w -X %s.version=%s", versionPkg, version)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w: %s", pkg, err, msg)
	}
	return out, nil
}

// BuildPause builds the pause program (test/images/pause, a tiny static Go main that
// waits for SIGTERM/SIGINT and reaps zombies, as Kubernetes' pause does) into dir and
// returns its path.
func BuildPause(ctx context.Context, dir string) (string, error) {
	return BuildStatic(ctx, "./test/images/pause", dir, "dev")
}

// Pylon builds the controller and the speaker (BuildStatic, with version)
// into dir and returns their images as the Dockerfile makes them: the binary
// as the entrypoint (/controller, /speaker) and the nonroot user 65532:65532
// (the speaker's pod runs it as root with runAsUser: 0). They are named
// repo+"/pylon-controller:"+version and repo+"/pylon-speaker:"+version, as the
// Helm chart's image values expect; "ghcr.io/pylonlb" is the chart's default
// repo.
func Pylon(ctx context.Context, dir, repo, version string) ([]Image, error) {
	var imgs []Image
	for _, c := range []string{"controller", "speaker"} {
		bin, err := BuildStatic(ctx, "./cmd/"+c, dir, version)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, Image{
			Ref:        repo + "/pylon-" + c + ":" + version,
			Binary:     bin,
			Entrypoint: []string{"/" + c},
			User:       "65532:65532",
		})
	}
	return imgs, nil
}
