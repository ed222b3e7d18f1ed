package poll

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// T is what Eventually needs of a test; testing.TB has both methods.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Cond is a condition Eventually checks: it says whether what is awaited
// holds, and how it does not when it does not. A func() bool gives no
// reason; a func() (bool, string) gives the string; a func() error holds
// when it returns nil and gives the error as the reason.
type Cond interface {
	func() bool | func() (bool, string) | func() error
}

// Until checks cond at once and then every interval until it holds, cond
// returns an error, within passes or ctx ends (within 0: ctx alone bounds
// the wait). cond says whether what is awaited holds and what it saw
// instead; an error from cond ends the wait at once, unless ctx has ended,
// when it is what cond saw. Until returns how long it waited and, when time
// ran out, an error "waiting for what; last seen: ..." that wraps ctx's
// error (context.DeadlineExceeded when within passed).
func Until(ctx context.Context, interval, within time.Duration, what string, cond func(ctx context.Context) (ok bool, seen string, err error)) (time.Duration, error) {
	start := time.Now()
	if within > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, within)
		defer cancel()
	}
	last := ""
	var failed error
	err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		ok, seen, err := cond(ctx)
		if err != nil && ctx.Err() == nil {
			failed = err
			return false, err
		}
		if ok && err == nil {
			return true, nil
		}
		if seen != "" {
			last = seen
		} else if err != nil {
			last = err.Error()
		}
		return false, nil
	})
	took := time.Since(start)
	switch {
	case err == nil:
		return took, nil
	case failed != nil:
		return took, fmt.Errorf("%s: %w", what, failed)
	case last == "":
		return took, fmt.Errorf("waiting for %s: %w", what, err)
	}
	return took, fmt.Errorf("waiting for %s; last seen: %s: %w", what, last, err)
}

// Eventually is Until for a test: it checks cond every interval for up to
// within and returns how long that took; when cond does not hold by then, it
// fails t with what cond last saw.
func Eventually[C Cond](t T, interval, within time.Duration, what string, cond C) time.Duration {
	t.Helper()
	check := reasons(cond)
	took, err := Until(context.Background(), interval, within, what, func(context.Context) (bool, string, error) {
		ok, seen := check()
		return ok, seen, nil
	})
	if err != nil {
		t.Fatalf("timed out after %v %v", within, err)
	}
	return took
}

// reasons turns any Cond into one that gives its reason as a string.
func reasons[C Cond](cond C) func() (bool, string) {
	switch c := any(cond).(type) {
	case func() bool:
		return func() (bool, string) { return c(), "" }
	case func() (bool, string):
		return c
	case func() error:
		return func() (bool, string) {
			if err := c(); err != nil {
				return false, err.Error()
			}
			return true, ""
		}
	}
	panic(fmt.Sprintf("poll: condition of type %T", cond))
}
