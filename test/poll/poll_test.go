package poll

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestUntilReturnsWhenItHolds: Until checks at once, then every interval,
// and returns as soon as the condition holds.
func TestUntilReturnsWhenItHolds(t *testing.T) {
	calls := 0
	took, err := Until(t.Context(), 10*time.Millisecond, 10*time.Second, "the third check", func(context.Context) (bool, string, error) {
		calls++
		return calls == 3, fmt.Sprint(calls), nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("Until: %v after %d checks", err, calls)
	}
	// Two intervals of 10 ms; a second is the margin of a loaded machine,
	// far below the 10 s a wait that missed the condition would take.
	if took < 20*time.Millisecond || took > time.Second {
		t.Errorf("took %v, want about 20ms", took)
	}
}

// TestUntilChecksAtOnce: a condition that holds already ends the wait
// before the first interval.
func TestUntilChecksAtOnce(t *testing.T) {
	took, err := Until(t.Context(), time.Minute, time.Hour, "now", func(context.Context) (bool, string, error) { return true, "", nil })
	if err != nil || took > 10*time.Second {
		t.Fatalf("Until: %v after %v, want nil at once", err, took)
	}
}

// TestUntilTimeoutSaysLastSeen: on a timeout the error names what was
// awaited and the last thing the condition saw (not an earlier one, not an
// empty one), and wraps context.DeadlineExceeded.
func TestUntilTimeoutSaysLastSeen(t *testing.T) {
	calls := 0
	_, err := Until(t.Context(), 5*time.Millisecond, 100*time.Millisecond, "the other thing", func(context.Context) (bool, string, error) {
		calls++
		if calls > 3 {
			return false, "", nil // says nothing: the last reason stands
		}
		return false, fmt.Sprintf("still nothing (%d)", calls), nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Until: %v, want a deadline error", err)
	}
	if want := "waiting for the other thing; last seen: still nothing (3): "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Until: %q, want it to begin %q", err, want)
	}
}

// TestUntilErrorEndsAtOnce: an error from the condition ends the wait at
// once, wrapped with what was awaited.
func TestUntilErrorEndsAtOnce(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	_, err := Until(t.Context(), time.Millisecond, 10*time.Second, "x", func(context.Context) (bool, string, error) {
		calls++
		return false, "", boom
	})
	if !errors.Is(err, boom) || calls != 1 || err.Error() != "x: boom" {
		t.Fatalf("Until: %v after %d checks, want x: boom after 1", err, calls)
	}
}

// TestUntilContextBounds: with within 0, the context's deadline ends the
// wait.
func TestUntilContextBounds(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	took, err := Until(ctx, 5*time.Millisecond, 0, "never", func(context.Context) (bool, string, error) { return false, "no", nil })
	if !errors.Is(err, context.DeadlineExceeded) || took > 5*time.Second {
		t.Fatalf("Until: %v after %v", err, took)
	}
}

// fatal records what Eventually fails a test with.
type fatal struct{ msgs []string }

func (f *fatal) Helper() {}
func (f *fatal) Fatalf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

// TestEventuallyReasons: each shape of condition is checked until it
// holds, and on a timeout its reason (the string, the error's text) is in
// the failure.
func TestEventuallyReasons(t *testing.T) {
	for _, c := range []struct {
		name  string
		check func(f *fatal, holdAt int) time.Duration
		want  string
	}{
		{"bool", func(f *fatal, holdAt int) time.Duration {
			n := 0
			return Eventually(f, time.Millisecond, 100*time.Millisecond, "a bool", func() bool { n++; return n == holdAt })
		}, "timed out after 100ms waiting for a bool: context deadline exceeded"},
		{"bool and string", func(f *fatal, holdAt int) time.Duration {
			n := 0
			return Eventually(f, time.Millisecond, 100*time.Millisecond, "a string", func() (bool, string) { n++; return n == holdAt, "saw a string" })
		}, "timed out after 100ms waiting for a string; last seen: saw a string: context deadline exceeded"},
		{"error", func(f *fatal, holdAt int) time.Duration {
			n := 0
			return Eventually(f, time.Millisecond, 100*time.Millisecond, "no error", func() error {
				if n++; n == holdAt {
					return nil
				}
				return errors.New("an error")
			})
		}, "timed out after 100ms waiting for no error; last seen: an error: context deadline exceeded"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var f fatal
			if c.check(&f, 2); len(f.msgs) != 0 {
				t.Errorf("holding at the second check: failed with %q", f.msgs)
			}
			c.check(&f, -1)
			if len(f.msgs) != 1 || f.msgs[0] != c.want {
				t.Errorf("never holding: failed with %q, want %q", f.msgs, c.want)
			}
		})
	}
}
