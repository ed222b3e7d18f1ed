package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMain runs the tests, then removes what they built (buildDir).
func TestMain(m *testing.M) {
	code := m.Run()
	if err := os.RemoveAll(buildRoot()); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: remove %s: %v\n", buildRoot(), err)
	}
	os.Exit(code)
}

// buildTimeout bounds building images and binaries for a lab: the first
// build on a cold Go cache compiles the static binaries' dependencies
// afresh, and took more than 2 minutes in a cold CI run while the other
// packages' tests ran.
const buildTimeout = 10 * time.Minute

// buildRoot holds what this test binary builds: one directory a process.
func buildRoot() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("pylon-e2e-%d", os.Getpid()))
}

// buildDir is the directory under buildRoot where the tests build name
// (pylon's binaries, an image set of one tag). The same output path each
// time lets go build find a binary up to date and skip the link: from the
// second lab on, a build takes about a second instead of 5 to 13.
func buildDir(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(buildRoot(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
