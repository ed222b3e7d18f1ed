package layer2

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pylonlb/pylon/test/poll"
)

// fakeSource is a subscription the test drives: a nil on events is a
// change, an error breaks it.
type fakeSource struct {
	events chan error
	closed chan struct{}
	once   sync.Once
}

func newFakeSource() *fakeSource {
	return &fakeSource{events: make(chan error), closed: make(chan struct{})}
}

func (s *fakeSource) Next() error {
	select {
	case err := <-s.events:
		return err
	case <-s.closed:
		return os.ErrClosed
	}
}

func (s *fakeSource) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// fakeOpen hands out, on each call, what the test sends on results; calls
// tells the test when the watcher subscribes.
type fakeOpen struct {
	calls   chan struct{}
	results chan openResult
}

type openResult struct {
	src *fakeSource
	err error
}

func (f *fakeOpen) open() (changeSource, error) {
	f.calls <- struct{}{}
	r := <-f.results
	if r.err != nil {
		return nil, r.err
	}
	return r.src, nil
}

// watchHarness runs a watcher on a fake clock with a first subscription.
type watchHarness struct {
	t     *testing.T
	clk   *clocktesting.FakeClock
	w     *watcher
	first *fakeSource
	open  *fakeOpen
}

func startWatch(t *testing.T, ctx context.Context) *watchHarness {
	h := &watchHarness{
		t:     t,
		clk:   clocktesting.NewFakeClock(time.Unix(1e9, 0)),
		first: newFakeSource(),
		open:  &fakeOpen{calls: make(chan struct{}), results: make(chan openResult)},
	}
	h.w = newWatcher(ctx, WatchOptions{Clock: h.clk, Coalesce: 50 * time.Millisecond, RetryMin: 100 * time.Millisecond, RetryMax: time.Second}, h.open.open)
	h.w.first = h.first
	go h.w.run(ctx)
	return h
}

// step waits for the watcher to wait on the clock, then moves it on.
func (h *watchHarness) step(d time.Duration) {
	h.t.Helper()
	poll.Eventually(h.t, time.Millisecond, 2*time.Second, "the watcher to wait on its clock", h.clk.HasWaiters)
	h.clk.Step(d)
}

// signalled reports whether a signal comes within wait (real time).
func (h *watchHarness) signalled(wait time.Duration) bool {
	select {
	case _, ok := <-h.w.out:
		return ok
	case <-time.After(wait):
		return false
	}
}

// subscribed reports whether the watcher subscribes within wait.
func (h *watchHarness) subscribed(wait time.Duration) bool {
	select {
	case <-h.open.calls:
		return true
	case <-time.After(wait):
		return false
	}
}

// TestWatchCoalesces: a burst of changes is one signal, Coalesce after the
// first of them, not before.
func TestWatchCoalesces(t *testing.T) {
	h := startWatch(t, t.Context())
	for range 3 {
		h.first.events <- nil
	}
	if h.signalled(100 * time.Millisecond) {
		t.Fatal("signalled before Coalesce passed")
	}
	h.step(49 * time.Millisecond)
	if h.signalled(100 * time.Millisecond) {
		t.Fatal("signalled 49 ms after the first change, want 50 ms")
	}
	h.clk.Step(time.Millisecond)
	if !h.signalled(2 * time.Second) {
		t.Fatal("no signal Coalesce after the burst")
	}
	if h.signalled(100 * time.Millisecond) {
		t.Fatal("a burst of three changes gave two signals without the clock moving")
	}
}

// TestWatchResubscribes: a broken subscription is made again after
// RetryMin, doubling at every failure in a row; the new one signals at once
// (changes may have been missed); one that lasted RetryMax starts the
// backoff over. Ending the context closes the channel and the subscription.
func TestWatchResubscribes(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	h := startWatch(t, ctx)
	h.first.events <- errors.New("broken")
	h.step(99 * time.Millisecond)
	if h.subscribed(100 * time.Millisecond) {
		t.Fatal("subscribed again before RetryMin")
	}
	h.clk.Step(time.Millisecond)
	if !h.subscribed(2 * time.Second) {
		t.Fatal("did not subscribe again after RetryMin")
	}
	h.open.results <- openResult{err: errors.New("refused")}
	h.step(199 * time.Millisecond)
	if h.subscribed(100 * time.Millisecond) {
		t.Fatal("after a second failure in a row, subscribed again before 2×RetryMin")
	}
	h.clk.Step(time.Millisecond)
	if !h.subscribed(2 * time.Second) {
		t.Fatal("did not subscribe again after 2×RetryMin")
	}
	second := newFakeSource()
	h.open.results <- openResult{src: second}
	if !h.signalled(2 * time.Second) {
		t.Fatal("no signal after subscribing again")
	}

	// It lasted RetryMax: the next failure waits RetryMin again.
	h.clk.Step(time.Second)
	second.events <- errors.New("broken again")
	h.step(100 * time.Millisecond)
	if !h.subscribed(2 * time.Second) {
		t.Fatal("after a subscription that lasted RetryMax, did not subscribe again after RetryMin")
	}
	third := newFakeSource()
	h.open.results <- openResult{src: third}

	cancel()
	for end := time.After(2 * time.Second); ; {
		select {
		case _, ok := <-h.w.out:
			if ok {
				continue
			}
		case <-end:
			t.Fatal("the channel did not close when the context ended")
		}
		break
	}
	select {
	case <-third.closed:
	case <-time.After(2 * time.Second):
		t.Fatal("the subscription was not closed when the context ended")
	}
}
