package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/cmd/internal/kinds"
)

// What pylon's manifests and components name (deploy/, cmd/controller,
// the event recorders).
const (
	// componentLabel and nameLabel select pylon's pods: component
	// controller or speaker, name pylon.
	componentLabel = "app.kubernetes.io/component"
	nameLabel      = "app.kubernetes.io/name"
	// The event recorders' names: reportingController of their events.
	controllerReporter = "pylon-controller"
	speakerReporter    = "pylon-speaker"
)

// client returns a client of the cluster the flags point at. It reads
// straight from the API server: there is no cache.
func (a *app) client() (client.Client, error) {
	cfg, err := a.kube.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	// A handful of requests a command: client-go's default of 5 a second
	// would hold `why` back for a second at 5,000 Services (paged lists).
	cfg.QPS, cfg.Burst = 50, 100
	scheme, err := kinds.Scheme()
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}

// namespace is the namespace -n (or the kubeconfig context) names.
func (a *app) namespace() (string, error) {
	ns, _, err := a.kube.ToRawKubeConfigLoader().Namespace()
	return ns, err
}

// listPages lists in pages of 500, as kubectl does, each page into a new
// list from newList (its items are kept by add, so a page is never decoded
// over another), handing each page to add.
func listPages[L client.ObjectList](ctx context.Context, c client.Client, newList func() L, add func(L), opts ...client.ListOption) error {
	cont := ""
	for {
		list := newList()
		page := append(slices.Clone(opts), client.Limit(500), client.Continue(cont))
		if err := c.List(ctx, list, page...); err != nil {
			return err
		}
		add(list)
		if cont = list.GetContinue(); cont == "" {
			return nil
		}
	}
}

// pods lists pylon's pods of one component in ns.
func pods(ctx context.Context, c client.Client, ns, component string) ([]corev1.Pod, error) {
	var l corev1.PodList
	err := c.List(ctx, &l, client.InNamespace(ns), client.MatchingLabels{componentLabel: component, nameLabel: "pylon"})
	if err != nil {
		return nil, fmt.Errorf("list %s pods in %s: %w", component, ns, err)
	}
	slices.SortFunc(l.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return l.Items, nil
}

// podReady reports the pod's Ready condition.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// leader is what the controller's leader election Lease says.
type leader struct {
	// Pod is the holder's pod name (controller-runtime's identity is
	// "<pod name>_<uuid>"); "" when nobody holds the lease.
	Pod string `json:"pod,omitempty"`
	// Lease is namespace/name of the Lease.
	Lease string `json:"lease"`
	// Found: the Lease exists.
	Found bool `json:"found"`
	// Renewed is when the holder last renewed it.
	Renewed time.Time `json:"renewed,omitzero"`
	// Expired: the holder has not renewed it for longer than its duration.
	Expired bool `json:"expired,omitempty"`
	// Version is the holder's build (label pylonlb.io/version); "" when
	// it does not say.
	Version string `json:"version,omitempty"`
}

// readLeader reads the controller's Lease in ns.
func readLeader(ctx context.Context, c client.Client, ns string, now time.Time) (leader, error) {
	l := leader{Lease: ns + "/" + v1alpha1.ControllerLease}
	var lease coordinationv1.Lease
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: v1alpha1.ControllerLease}, &lease)
	if apierrors.IsNotFound(err) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("read the controller's Lease %s: %w", l.Lease, err)
	}
	l.Found = true
	l.Version = lease.Labels[v1alpha1.LabelVersion]
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		l.Pod, _, _ = strings.Cut(*h, "_")
	}
	if lease.Spec.RenewTime != nil {
		l.Renewed = lease.Spec.RenewTime.Time
	}
	if d := lease.Spec.LeaseDurationSeconds; d != nil && l.Pod != "" {
		l.Expired = now.After(l.Renewed.Add(time.Duration(*d) * time.Second))
	}
	return l, nil
}
