package speaker

import (
	"context"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// statusJob is the SpeakerStatus a pass wants written, with the cache
// snapshot it was planned from (writeStatus compares against it).
type statusJob struct {
	snap *snapshot
	want v1alpha1.SpeakerStatusStatus
}

// statusWriter writes this node's SpeakerStatus in its own goroutine, so
// that neither a pass nor the next one ever waits on the API server: a
// pass hands over the status it wants (submit) and returns; the writer
// writes the latest one handed over, with a timeout per call, holds a
// change back as writeStatus says (statusEvery), and retries a failed
// write with capped exponential backoff. A newer status replaces one not
// yet written: during an API outage only the last one is written when the
// API server answers again.
type statusWriter struct {
	mu      sync.Mutex
	pending *statusJob
	wake    chan struct{}
}

func newStatusWriter() *statusWriter { return &statusWriter{wake: make(chan struct{}, 1)} }

// submit hands over the status a pass wants written.
func (w *statusWriter) submit(j *statusJob) {
	w.mu.Lock()
	w.pending = j
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// take returns the latest status handed over, nil if none is.
func (w *statusWriter) take() *statusJob {
	w.mu.Lock()
	defer w.mu.Unlock()
	j := w.pending
	w.pending = nil
	return j
}

// putBack returns an unwritten job, unless a newer one was handed over
// meanwhile.
func (w *statusWriter) putBack(j *statusJob) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending == nil {
		w.pending = j
	}
}

// Backoff of failed status writes: the first retry after writeRetryMin,
// doubling up to writeRetryMax.
const (
	writeRetryMin = 200 * time.Millisecond
	writeRetryMax = 10 * time.Second
)

// runStatusWriter writes what passes hand over until ctx ends.
func (r *Reconciler) runStatusWriter(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("status")
	w := r.writer
	failures := backoff{min: writeRetryMin, max: writeRetryMax}
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
		case <-retry:
		}
		retry = nil
		j := w.take()
		if j == nil {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, apiTimeout)
		later, err := r.writeStatus(wctx, j.snap, j.want)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Error(err, "writing the SpeakerStatus; retrying")
			w.putBack(j)
			retry = time.After(failures.next(true))
		case later > 0:
			w.putBack(j)
			retry = time.After(later)
		default:
			failures.next(false)
		}
	}
}
