package speaker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pylonlb/pylon/test/poll"
)

// handoffLog records the handoff's steps in order; its methods are the
// handoff's parts. closeBGP, when set, is what CloseBGP does.
type handoffLog struct {
	mu       sync.Mutex
	steps    []string
	leaveErr error
	closeBGP func(context.Context) error
}

func (l *handoffLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = append(l.steps, s)
}

func (l *handoffLog) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.steps)
}

func (l *handoffLog) Freeze() { l.add("freeze") }
func (l *handoffLog) CloseBGP(ctx context.Context) error {
	l.add("withdraw")
	if l.closeBGP != nil {
		return l.closeBGP(ctx)
	}
	return nil
}
func (l *handoffLog) Leave(time.Duration) error { l.add("leave"); return l.leaveErr }
func (l *handoffLog) Close() error              { l.add("stop answering"); return nil }

// runHandoff runs h with l as every part on a fake clock and returns the
// clock and a channel closed when Run returns.
func runHandoff(l *handoffLog, delay, withdraw time.Duration) (*clocktesting.FakeClock, chan struct{}) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC))
	h := DefaultHandoff(delay)
	h.Speaker, h.Members, h.Announcer, h.Clock, h.Log, h.WithdrawTimeout = l, l, l, fc, logr.Discard(), withdraw
	done := make(chan struct{})
	go func() { h.Run(); close(done) }()
	return fc, done
}

// waitSteps waits (real time, generous) until l has recorded n steps.
func waitSteps(t *testing.T, l *handoffLog, n int) {
	t.Helper()
	poll.Eventually(t, time.Millisecond, 10*time.Second, fmt.Sprintf("%d steps", n), func() (bool, string) {
		return len(l.got()) >= n, fmt.Sprint(l.got())
	})
}

// TestHandoff: freeze, leave memberlist, withdraw BGP, then keep answering
// for the delay, not a moment less, and only then stop answering; a failed
// leave does not stop the handoff.
func TestHandoff(t *testing.T) {
	l := &handoffLog{leaveErr: errors.New("no peers to tell")}
	fc, done := runHandoff(l, time.Second, 2*time.Second)
	waitSteps(t, l, 3)
	for !fc.HasWaiters() {
		select {
		case <-done:
			t.Fatalf("steps %v: stopped answering without waiting for the delay", l.got())
		case <-time.After(time.Millisecond):
		}
	}
	// The withdrawal returned: the handoff waits the delay.
	fc.Step(time.Second - time.Nanosecond)
	time.Sleep(10 * time.Millisecond)
	if got := l.got(); len(got) != 3 {
		t.Fatalf("before the delay ended: %v; want still answering", got)
	}
	fc.Step(time.Nanosecond)
	<-done
	if got, want := l.got(), []string{"freeze", "leave", "withdraw", "stop answering"}; !slices.Equal(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
}

// TestHandoffWithdrawalHangs: a withdrawal that does not return holds the
// handoff for the withdraw timeout (its context ends then) and a second
// more, then the handoff goes on.
func TestHandoffWithdrawalHangs(t *testing.T) {
	ctxDone := make(chan struct{})
	l := &handoffLog{closeBGP: func(ctx context.Context) error {
		<-ctx.Done()
		close(ctxDone)
		select {} // never returns
	}}
	began := time.Now()
	_, done := runHandoff(l, 0, 50*time.Millisecond)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the handoff waits for a withdrawal that hangs: %v", l.got())
	}
	if took := time.Since(began); took < time.Second+50*time.Millisecond {
		t.Errorf("the handoff went on after %v, before the withdraw timeout and its grace second", took)
	}
	select {
	case <-ctxDone:
	default:
		t.Error("CloseBGP's context never ended")
	}
	if got := l.got(); got[len(got)-1] != "stop answering" {
		t.Fatalf("steps %v: the node still answers", got)
	}
}
