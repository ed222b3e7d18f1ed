package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/netlab"
)

// ErrNotRoot is returned by Preflight (and New) when not running as root
// (netlab.ErrNotRoot).
var ErrNotRoot = netlab.ErrNotRoot

// Preflight checks that a lab can be built here: root, and every tool the
// lab runs (netlab's, FRR's, nft, arping and ndisc6). The error names what
// is missing and how to install it.
func Preflight() error {
	return netlab.Preflight(append(netlab.FRRTools(),
		netlab.Tool{Path: "nft", Package: "nftables"},
		netlab.Tool{Path: "arping", Package: "arping"},
		netlab.Tool{Path: "ndisc6", Package: "ndisc6"})...)
}

// BuildCommand builds the module's package pkg ("./cmd/controller") into
// dir and returns the binary's path. It runs `go build` in the repository
// root; Go's build cache makes a second build quick.
func BuildCommand(ctx context.Context, pkg, dir string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := envtest.RepoRoot(wd)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w: %s", pkg, err, msg)
	}
	return out, nil
}
