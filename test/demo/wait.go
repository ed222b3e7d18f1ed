package demo

import (
	"context"
	"fmt"
	"time"
)

// pollEvery is how often until checks a condition.
const pollEvery = 50 * time.Millisecond

// until checks cond every pollEvery until it holds or ctx ends. cond says
// whether it holds and what it saw; a non-nil error from cond ends the
// wait at once. When ctx ends first, the error names what was awaited and
// what was last seen.
func until(ctx context.Context, what string, cond func(ctx context.Context) (bool, string, error)) error {
	last := ""
	for {
		ok, seen, err := cond(ctx)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok && err == nil {
			return nil
		}
		if seen != "" {
			last = seen
		} else if err != nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			if last == "" {
				last = "nothing"
			}
			return fmt.Errorf("waiting for %s; last seen: %s: %w", what, last, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}
