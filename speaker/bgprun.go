package speaker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
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

// StartBGP starts a BGP speaker with the given router ID, listening on port
// 179 of the listen addresses for passive peers (none: it only dials).
type StartBGP func(ctx context.Context, routerID netip.Addr, listen []netip.Addr) (BGPSpeaker, error)

// GoBGP returns a StartBGP that starts speaker/bgp's embedded GoBGP server,
// logging to logger.
func GoBGP(logger logr.Logger) StartBGP {
	return func(ctx context.Context, routerID netip.Addr, listen []netip.Addr) (BGPSpeaker, error) {
		opts := bgp.Options{RouterID: routerID, Logger: logger}
		if len(listen) > 0 {
			opts.ListenPort, opts.ListenAddresses = bgpPort, listen
		}
		s, err := bgp.New(ctx, opts)
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
	ReasonListenFailed   = "ListenFailed"
)

// closeWait bounds closing a speaker whose router ID changed.
const closeWait = 2 * time.Second

// ensureBGP returns the BGP speaker to use in this pass and the state of
// ConditionBGP. The router ID comes from this node's Node (RouterIDFor);
// the speaker starts once it can be derived and is replaced (its sessions
// restart) when it changes, or when the addresses it must listen on for
// passive peers (listen, see passiveListen) change. When it cannot be
// derived the speaker, if running, keeps its last router ID; if not, BGP
// stays off on this node and the condition says why, while layer 2 goes
// on. A speaker that cannot listen (no NET_BIND_SERVICE, an address in
// use) runs without listening, so that the active peers keep their
// sessions, and the condition says ListenFailed until the listen
// addresses change. r.mu is held.
func (r *Reconciler) ensureBGP(ctx context.Context, snap *snapshot, listen []netip.Addr) (BGPSpeaker, metav1.Condition) {
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
	if len(listen) > 0 {
		running.Message += fmt.Sprintf("; listening on port %d of %v for passive peers", bgpPort, listen)
	}
	if r.bgp != nil && id == r.routerID && slices.Equal(listen, r.listen) {
		if r.listenErr != nil {
			return r.bgp, listenFailed(id, source, listen, r.listenErr)
		}
		return r.bgp, running
	}
	logger := log.FromContext(ctx)
	if r.bgp != nil {
		logger.Info("BGP router ID or listen addresses changed: restarting the BGP speaker", "from", r.routerID, "to", id, "listen", listen)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeWait)
		if err := r.bgp.Close(cctx); err != nil {
			logger.Error(err, "closing the BGP speaker")
		}
		cancel()
		r.bgp, r.routerID, r.listen = nil, netip.Addr{}, nil
		r.liveBGP.Store(nil)
	}
	r.listenErr = nil
	sp, err := r.StartBGP(ctx, id, listen)
	if err != nil && len(listen) > 0 {
		if plain, perr := r.StartBGP(ctx, id, nil); perr == nil {
			logger.Error(err, "BGP speaker cannot listen for passive peers: started without listening", "routerID", id, "listen", listen)
			r.bgp, r.routerID, r.listen, r.listenErr = plain, id, listen, err
			r.liveBGP.Store(&plain)
			r.watchBGP(plain)
			return plain, listenFailed(id, source, listen, err)
		}
	}
	if err != nil {
		return nil, metav1.Condition{Type: ConditionBGP, Status: metav1.ConditionFalse, Reason: ReasonBGPStartFailed,
			Message: fmt.Sprintf("BGP not started with router ID %s (layer 2 is not affected): %v", id, err)}
	}
	logger.Info("BGP speaker started", "routerID", id, "from", source, "listen", listen)
	r.bgp, r.routerID, r.listen = sp, id, listen
	r.liveBGP.Store(&sp)
	r.watchBGP(sp)
	return sp, running
}

// watchBGP starts a pass on every session change of sp, until it closes.
func (r *Reconciler) watchBGP(sp BGPSpeaker) {
	go func() {
		for range sp.Changes() {
			r.wake()
		}
	}()
}

// listenFailed is ConditionBGP for a speaker running without the listener
// its passive peers need.
func listenFailed(id netip.Addr, source string, listen []netip.Addr, err error) metav1.Condition {
	return metav1.Condition{Type: ConditionBGP, Status: metav1.ConditionTrue, Reason: ReasonListenFailed,
		Message: fmt.Sprintf("router ID %s (from the Node's %s); not listening on port %d of %v, so passive peers cannot connect (the chart's bgp.passivePeers adds the capability it needs): %v",
			id, source, bgpPort, listen, err)}
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
