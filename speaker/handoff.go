package speaker

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
)

// Handoff is what a stopping speaker does (SIGTERM) to hand its addresses
// over without a gap: it stops applying plans (Freeze), leaves memberlist
// so that the others recompute at once and the new owners announce,
// withdraws its BGP routes (the router moves the traffic to the other
// nodes while this one still forwards what is in flight) and closes BFD,
// keeps answering ARP/NDP for Delay while the successors announce, and only
// then stops answering. No step waits for ever: leaving is bounded by
// LeaveTimeout and the withdrawal by WithdrawTimeout, and a step that
// fails is logged and the next one runs.
type Handoff struct {
	// Speaker is the reconciler: Freeze, then CloseBGP.
	Speaker interface {
		Freeze()
		CloseBGP(context.Context) error
	}
	// Members is memberlist: Leave tells the others at once.
	Members interface {
		Leave(timeout time.Duration) error
	}
	// Announcer answers ARP/NDP until it is closed.
	Announcer interface{ Close() error }
	// Delay is how long the node keeps answering after leaving.
	Delay time.Duration
	// LeaveTimeout bounds the wait for memberlist to tell the others;
	// WithdrawTimeout bounds the BGP withdrawal (and BFD's AdminDown):
	// CloseBGP's context ends then, and the handoff goes on a second later
	// if CloseBGP has not returned by then.
	LeaveTimeout, WithdrawTimeout time.Duration
	// Clock times Delay.
	Clock clock.Clock
	Log   logr.Logger
}

// DefaultHandoff is the handoff with the speaker's timings: 500 ms to
// leave, 2 s to withdraw, and delay to keep answering.
func DefaultHandoff(delay time.Duration) Handoff {
	return Handoff{Delay: delay, LeaveTimeout: 500 * time.Millisecond, WithdrawTimeout: 2 * time.Second, Clock: clock.RealClock{}}
}

// Run runs the handoff; it returns when the node no longer answers.
func (h Handoff) Run() {
	h.Log.Info("stopping: handing addresses over", "handoff", h.Delay)
	h.Speaker.Freeze()
	if err := h.Members.Leave(h.LeaveTimeout); err != nil {
		h.Log.Error(err, "leaving memberlist")
	}
	// The context bounds what CloseBGP sends; a second more bounds the
	// wait for it, in case it does not heed the context.
	ctx, cancel := context.WithTimeout(context.Background(), h.WithdrawTimeout)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- h.Speaker.CloseBGP(ctx) }()
	select {
	case err := <-closed:
		if err != nil {
			h.Log.Error(err, "withdrawing BGP routes")
		}
	case <-ctx.Done():
		select {
		case <-closed:
		case <-time.After(time.Second):
			h.Log.Info("withdrawing BGP routes did not finish in time; going on", "timeout", h.WithdrawTimeout)
		}
	}
	if h.Delay > 0 {
		// A timer, not Clock.Sleep: a fake clock's Sleep only moves it on.
		<-h.Clock.NewTimer(h.Delay).C()
	}
	if err := h.Announcer.Close(); err != nil {
		h.Log.Error(err, "closing the layer-2 announcer")
	}
}
