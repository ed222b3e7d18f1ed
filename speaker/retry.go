package speaker

import "time"

// A pass that could not apply everything it planned (an interface missing,
// made again between reading the links and opening it, a socket that would
// not open), or that owns addresses it has no interface to answer on, runs
// again after a capped exponential backoff: applyRetryMin after the first
// such pass, doubling with every one in a row, at most applyRetryMax. The
// link watch (layer2.WatchLinks) wakes the reconciler as soon as an
// interface comes back; the backoff covers what the watch does not see (a
// socket that fails for another reason) and a watch that is broken.
//
// It is an explicit RequeueAfter rather than an error returned to
// controller-runtime: the pass still writes the SpeakerStatus that says
// what failed (an error return skips it), the wait stays short for a local
// condition that usually clears in seconds (controller-runtime's default
// limiter grows to 1000 s), and a missing interface is not logged as a
// reconciler error at every try.
const (
	applyRetryMin = 100 * time.Millisecond
	applyRetryMax = 5 * time.Second
)

// backoff is a capped exponential backoff over attempts in a row: the
// passes that could not apply everything (applyRetryMin to applyRetryMax),
// the SpeakerStatus writes that failed (writeRetryMin to writeRetryMax).
type backoff struct {
	min, max time.Duration
	failures int
}

// next returns how long until the next attempt after one that failed, or 0
// (no retry needed) after one that did not, which starts the backoff over.
func (b *backoff) next(failed bool) time.Duration {
	if !failed {
		b.failures = 0
		return 0
	}
	d := b.max
	if b.failures < 16 {
		d = min(b.min<<b.failures, b.max)
	}
	b.failures++
	return d
}
