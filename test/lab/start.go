package lab

import (
	"context"
	"errors"
	"os"

	"github.com/pylonlb/pylon/test/envtest"
)

// Start builds a lab for a test and tears it down when the test ends,
// whether it passes, fails or panics; after a failure the lab's directory
// (every process's log, and each node's network state: RecordNetState) is
// kept and its path logged.
//
// Not root: the test is skipped, loudly. Tools or the test API server
// missing: skipped too, or failed when PYLON_REQUIRE_ENVTEST=1 (as `make
// test` sets), so CI cannot pass by skipping. t is a *testing.T or
// *testing.B: the package does not import testing, so that cmd/pylonlab
// links none of it.
func Start(t TB, o Options) *Lab {
	t.Helper()
	Require(t)
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	l, err := New(context.Background(), o)
	if err != nil {
		t.Fatalf("bring the lab up: %v", err)
		return nil
	}
	t.Cleanup(func() {
		if t.Failed() {
			l.KeepDir()
			if _, err := l.RecordNetState(context.Background()); err != nil {
				t.Logf("record the nodes' network state: %v", err)
			}
			t.Logf("lab %s failed: logs and each node's network state (netstate-NODE.txt) kept in %s", l.Prefix, l.Dir)
		}
		if err := l.Close(); err != nil {
			t.Errorf("tear the lab down: %v", err)
		}
	})
	t.Logf("lab %s up in %v (logs in %s)", l.Prefix, l.BringUp, l.Dir)
	return l
}

// Require skips t, loudly, unless a lab can be built here: not root, or
// tools or the test API server missing. With PYLON_REQUIRE_ENVTEST=1 (as
// `make test` sets) missing tools or binaries fail t instead, so CI cannot
// pass by skipping. Start calls it; so do tests that build a lab through
// something else (test/demo).
func Require(t TB) {
	t.Helper()
	err := Preflight()
	if errors.Is(err, ErrNotRoot) {
		t.Skipf("SKIPPED: %v; run the end-to-end tests as root (`sudo -E make test`; CI runs as root)", err)
	}
	if err == nil && os.Getenv(envtest.AssetsEnv) == "" {
		err = envtest.ErrNoAssets
	}
	if err == nil {
		_, err = nodeStackOf(nil)
	}
	if err != nil {
		if os.Getenv(envtest.RequireEnv) == "1" {
			t.Fatalf("%v (%s=1 requires the lab)", err, envtest.RequireEnv)
		}
		t.Skipf("SKIPPED: %v; `make test` sets it up", err)
	}
}
