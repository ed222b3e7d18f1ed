package speaker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pylonlb/pylon/speaker/bgp"
)

// BGPSpeaker is a running BGP speaker the reconciler owns: speaker/bgp's
// Speaker.
type BGPSpeaker interface {
	BGPAnnouncer
	// Changes receives a value on every session change; Close closes it.
	Changes() <-chan struct{}
	Close(context.Context) error
	// ResetPeer tears the session with the router at the address down
	// at once (BFD declared the path down); it reconnects by itself.
	ResetPeer(ctx context.Context, addr netip.Addr, reason string) error
}

// StartBGP starts a BGP speaker with the given router ID.
type StartBGP func(ctx context.Context, routerID netip.Addr) (BGPSpeaker, error)

// GoBGP returns a StartBGP that starts speaker/bgp's embedded GoBGP server,
// logging to logger.
func GoBGP(logger logr.Logger) StartBGP {
	return func(ctx context.Context, routerID netip.Addr) (BGPSpeaker, error) {
		s, err := bgp.New(ctx, bgp.Options{RouterID: routerID, Logger: logger})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// ConditionBGP on SpeakerStatus tells whether this node's BGP speaker runs
// and with which router ID. Present only when BGP is on (--bgp).
const ConditionBGP = "BGP"

// Reasons of ConditionBGP.
const (
	ReasonBGPRunning     = "Running"
	ReasonNoRouterID     = "NoRouterID"
	ReasonRouterIDKept   = "RouterIDKept"
	ReasonBGPStartFailed = "StartFailed"
)

// closeWait bounds closing a speaker whose router ID changed.
const closeWait = 2 * time.Second

// ensureBGP returns the BGP speaker to use in this pass and the state of
// ConditionBGP. The router ID comes from this node's Node (RouterIDFor);
// the speaker starts once it can be derived and is replaced (its sessions
// restart) when it changes. When it cannot be derived the speaker, if
// running, keeps its last router ID; if not, BGP stays off on this node
// and the condition says why, while layer 2 goes on. r.mu is held.
func (r *Reconciler) ensureBGP(ctx context.Context, snap *snapshot) (BGPSpeaker, metav1.Condition) {
	var id netip.Addr
	var source string
	err := fmt.Errorf("%w: Node %s not found", errNoRouterID, r.Node)
	for _, n := range snap.nodes {
		if n.Name == r.Node {
			id, source, err = RouterIDFor(n)
		}
	}
	switch {
	case err != nil && r.bgp != nil:
		return r.bgp, metav1.Condition{Type: ConditionBGP, Status: metav1.ConditionTrue, Reason: ReasonRouterIDKept,
			Message: fmt.Sprintf("running with router ID %s; not changed: %v", r.routerID, err)}
	case err != nil:
		return nil, metav1.Condition{Type: ConditionBGP, Status: metav1.ConditionFalse, Reason: ReasonNoRouterID,
			Message: "BGP not started (layer 2 is not affected): " + err.Error()}
	}
	running := metav1.Condition{Type: ConditionBGP, Status: metav1.ConditionTrue, Reason: ReasonBGPRunning,
		Message: fmt.Sprintf("router ID %s (from the Node's %s)", id, source)}
	if r.bgp != nil && id == r.routerID {
		return r.bgp, running
	}
	logger := log.FromContext(ctx)
	if r.bgp != nil {
		logger.Info("BGP router ID changed: restarting the BGP speaker", "from", r.routerID, "to", id)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeWait)
		if err := r.bgp.Close(cctx); err != nil {
			logger.Error(err, "closing the BGP speaker")
		}
		cancel()
		r.bgp, r.routerID = nil, netip.Addr{}
		r.liveBGP.Store(nil)
	}
	sp, err := r.StartBGP(ctx, id)
	if err != nil {
		return nil, metav1.Condition{Type: ConditionBGP, Status: metav1.ConditionFalse, Reason: ReasonBGPStartFailed,
			Message: fmt.Sprintf("BGP not started with router ID %s (layer 2 is not affected): %v", id, err)}
	}
	logger.Info("BGP speaker started", "routerID", id, "from", source)
	r.bgp, r.routerID = sp, id
	r.liveBGP.Store(&sp)
	go func() {
		for range sp.Changes() {
			r.wake()
		}
	}()
	return sp, running
}

// CloseBGP withdraws this node's BGP routes and stops its BGP speaker, if
// one runs, then closes the BFD sessions (they send AdminDown, which the
// router takes as "BFD switched off", not as a failure); no pass starts
// them again. Call it after Freeze, when stopping.
func (r *Reconciler) CloseBGP(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bgpClosed {
		return nil
	}
	r.bgpClosed = true
	r.liveBGP.Store(nil)
	var err error
	if r.bgp != nil {
		sp := r.bgp
		r.bgp = nil
		err = sp.Close(ctx)
	}
	if r.BFD != nil {
		err = errors.Join(err, r.BFD.Close())
	}
	return err
}
