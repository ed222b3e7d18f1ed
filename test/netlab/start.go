package netlab

import (
	"context"
	"errors"
)

// TB is what Start needs of a test: *testing.T and *testing.B have it. The
// package takes it instead of importing testing, so that commands
// (cmd/pylonlab) link the same code without the testing package.
type TB interface {
	Helper()
	Cleanup(func())
	Failed() bool
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}

// Start starts a lab for a test (New) and tears it down when the test
// ends, whether it passes, fails or panics; after a failure the lab's
// directory is kept and its path logged. Not root: the test is skipped,
// loudly; a missing tool fails it.
func Start(t TB, o Options) *Lab {
	t.Helper()
	if err := Preflight(); errors.Is(err, ErrNotRoot) {
		t.Skipf("SKIPPED: %v; run the lab tests as root (`sudo -E make test`; CI runs as root)", err)
		return nil
	} else if err != nil {
		t.Fatalf("%v", err)
		return nil
	}
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	l, err := New(context.Background(), o)
	if err != nil {
		t.Fatalf("start the lab: %v", err)
		return nil
	}
	t.Cleanup(func() {
		if t.Failed() {
			l.KeepDir()
			t.Logf("lab %s failed: logs kept in %s", l.Prefix, l.Dir)
		}
		if err := l.Close(); err != nil {
			t.Errorf("tear the lab down: %v", err)
		}
	})
	return l
}
