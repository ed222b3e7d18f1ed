package layer2

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
)

// Defaults for WatchOptions' zero values.
const (
	DefaultCoalesce = 50 * time.Millisecond
	DefaultRetryMin = 100 * time.Millisecond
	DefaultRetryMax = 5 * time.Second
)

// WatchOptions tune WatchLinks. The zero value gives the defaults.
type WatchOptions struct {
	// Coalesce is how long the watch gathers a burst of changes (deleting
	// and making an interface again is a dozen messages) before it
	// signals once: 0 means DefaultCoalesce. It bounds the delay a change
	// sees.
	Coalesce time.Duration
	// RetryMin and RetryMax bound the wait before subscribing again after
	// the subscription broke: it starts at RetryMin, doubles at every
	// failure in a row and stays at RetryMax. 0 means the defaults.
	RetryMin, RetryMax time.Duration
	// Clock is for tests; nil means the real one.
	Clock clock.Clock
}

func (o WatchOptions) withDefaults() WatchOptions {
	if o.Coalesce <= 0 {
		o.Coalesce = DefaultCoalesce
	}
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax <= 0 {
		o.RetryMax = DefaultRetryMax
	}
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o
}

// changeSource is one subscription to the kernel's link and address
// notifications. The watch only needs to know that something changed, so
// messages are not parsed: any of them is a reason to read the links again.
type changeSource interface {
	// Next blocks until the next notification, or an overflow (some were
	// lost, which is a change too), and returns nil; or it returns the
	// error that broke the subscription. Close makes it return.
	Next() error
	Close() error
}

// watcher turns subscriptions into coalesced signals on out, subscribing
// again with backoff when one breaks.
type watcher struct {
	opts WatchOptions
	log  logr.Logger
	// open subscribes; first is the subscription WatchLinks made before
	// returning (so that a failure to subscribe at all is its error).
	open  func() (changeSource, error)
	first changeSource
	out   chan struct{}
}

func newWatcher(ctx context.Context, opts WatchOptions, open func() (changeSource, error)) *watcher {
	return &watcher{
		opts: opts.withDefaults(),
		log:  logr.FromContextOrDiscard(ctx).WithName("linkwatch"),
		open: open,
		out:  make(chan struct{}, 1),
	}
}

// run follows subscriptions until ctx ends, then closes out.
func (w *watcher) run(ctx context.Context) {
	defer close(w.out)
	delay := w.opts.RetryMin
	sub := w.first
	for {
		if sub == nil {
			var err error
			if sub, err = w.open(); err != nil {
				w.log.Error(err, "subscribing to link changes failed; trying again", "after", delay)
				if !w.sleep(ctx, delay) {
					return
				}
				delay = min(2*delay, w.opts.RetryMax)
				continue
			}
			// Changes made while there was no subscription were missed.
			w.signal()
		}
		began := w.opts.Clock.Now()
		err := w.follow(ctx, sub)
		sub = nil
		if ctx.Err() != nil {
			return
		}
		if w.opts.Clock.Since(began) >= w.opts.RetryMax {
			delay = w.opts.RetryMin
		}
		w.log.Error(err, "link change subscription broke; subscribing again", "after", delay)
		if !w.sleep(ctx, delay) {
			return
		}
		delay = min(2*delay, w.opts.RetryMax)
	}
}

// follow reads sub until it breaks or ctx ends, and signals each burst of
// changes once, Coalesce after its first message. It closes sub.
func (w *watcher) follow(ctx context.Context, sub changeSource) error {
	changed := make(chan struct{}, 1)
	done := make(chan struct{})
	var readErr error
	go func() {
		defer close(done)
		for {
			if readErr = sub.Next(); readErr != nil {
				return
			}
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}()
	defer func() {
		_ = sub.Close()
		<-done
	}()
	var timer clock.Timer
	var fire <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			if fire != nil {
				w.signal()
			}
			return readErr
		case <-changed:
			if fire == nil {
				timer = w.opts.Clock.NewTimer(w.opts.Coalesce)
				fire = timer.C()
			}
		case <-fire:
			timer, fire = nil, nil
			w.signal()
		}
	}
}

// signal tells the reader, without blocking: one pending signal stands for
// any number of changes.
func (w *watcher) signal() {
	select {
	case w.out <- struct{}{}:
	default:
	}
}

func (w *watcher) sleep(ctx context.Context, d time.Duration) bool {
	t := w.opts.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}
