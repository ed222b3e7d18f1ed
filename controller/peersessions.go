package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// PeerSessionsReconciler writes each BGPPeer's status.sessions: how many
// speakers have a session with the peer and how many of those sessions are
// Established, as the speakers' SpeakerStatuses report them. It works per
// BGPPeer and apart from ConfigReconciler, so a failing write here holds up
// neither another peer's nor the configuration's status; it writes only
// status.sessions (a merge patch), and only when the counts changed.
type PeerSessionsReconciler struct {
	Client client.Client
}

// PeerSessions counts the sessions with peer across the speakers.
func PeerSessions(peer string, speakers []v1alpha1.SpeakerStatus) v1alpha1.BGPPeerSessions {
	var s v1alpha1.BGPPeerSessions
	for i := range speakers {
		for _, sess := range speakers[i].Status.BGPSessions {
			if sess.Peer != peer {
				continue
			}
			s.Total++
			if sess.State == "Established" {
				s.Established++
			}
		}
	}
	s.Summary = fmt.Sprintf("%d/%d", s.Established, s.Total)
	return s
}

// Reconcile recounts one BGPPeer's sessions.
func (r *PeerSessionsReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var peer v1alpha1.BGPPeer
	if err := r.Client.Get(ctx, req.NamespacedName, &peer); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	var speakers v1alpha1.SpeakerStatusList
	if err := r.Client.List(ctx, &speakers); err != nil {
		return reconcile.Result{}, fmt.Errorf("list SpeakerStatuses: %w", err)
	}
	want := PeerSessions(peer.Name, speakers.Items)
	if peer.Status.Sessions != nil && equality.Semantic.DeepEqual(*peer.Status.Sessions, want) {
		return reconcile.Result{}, nil
	}
	patch := client.MergeFrom(peer.DeepCopy())
	peer.Status.Sessions = &want
	if err := r.Client.Status().Patch(ctx, &peer, patch); err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, fmt.Errorf("write BGPPeer %s status.sessions: %w", peer.Name, err)
	}
	return reconcile.Result{}, nil
}

// setupPeerSessions adds the PeerSessionsReconciler: a BGPPeer is
// recounted when it changes and when any SpeakerStatus does.
func setupPeerSessions(mgr ctrl.Manager) error {
	c := mgr.GetClient()
	everyPeer := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
		var peers v1alpha1.BGPPeerList
		if err := c.List(ctx, &peers); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "list BGPPeers to recount their sessions")
			return nil
		}
		out := make([]reconcile.Request, 0, len(peers.Items))
		for _, p := range peers.Items {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: p.Name}})
		}
		return out
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("pylon-peer-sessions").
		For(&v1alpha1.BGPPeer{}).
		Watches(&v1alpha1.SpeakerStatus{}, everyPeer).
		Complete(&PeerSessionsReconciler{Client: c})
}
