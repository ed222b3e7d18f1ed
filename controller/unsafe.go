package controller

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
)

// unsafeGatherer reads the cluster's addresses that must never be handed
// out, besides config.SpecialRanges: every Node's InternalIP and ExternalIP
// addresses and spec.podCIDRs, every networking.k8s.io/v1 ServiceCIDR, and
// the --service-cluster-ip-range blocks given to the controller.
type unsafeGatherer struct {
	client client.Reader
	// serviceCIDRs: the API server serves networking.k8s.io/v1
	// ServiceCIDR, so they are listed (and watched).
	serviceCIDRs bool
	// extra are the ServiceCIDRs given on the command line.
	extra []netip.Prefix
}

// gather lists Nodes and ServiceCIDRs from the cache.
func (g *unsafeGatherer) gather(ctx context.Context) ([]config.Unsafe, error) {
	var out []config.Unsafe
	for _, p := range g.extra {
		out = append(out, config.Unsafe{Prefix: p.Masked(), Why: "Service CIDR (--service-cluster-ip-range)"})
	}
	var nodes corev1.NodeList
	if err := g.client.List(ctx, &nodes); err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	for i := range nodes.Items {
		out = append(out, nodeUnsafe(&nodes.Items[i])...)
	}
	if g.serviceCIDRs {
		var cidrs networkingv1.ServiceCIDRList
		if err := g.client.List(ctx, &cidrs); err != nil {
			return nil, fmt.Errorf("list servicecidrs: %w", err)
		}
		for _, sc := range cidrs.Items {
			for _, c := range sc.Spec.CIDRs {
				if p, err := netip.ParsePrefix(c); err == nil {
					out = append(out, config.Unsafe{Prefix: p.Masked(), Why: "ServiceCIDR " + sc.Name})
				}
			}
		}
	}
	return out, nil
}

// nodeUnsafe returns a Node's addresses and pod CIDRs.
func nodeUnsafe(n *corev1.Node) []config.Unsafe {
	var out []config.Unsafe
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Zone() == "" {
			ip = ip.Unmap()
			out = append(out, config.Unsafe{Prefix: netip.PrefixFrom(ip, ip.BitLen()), Why: fmt.Sprintf("%s of Node %s", a.Type, n.Name)})
		}
	}
	cidrs := n.Spec.PodCIDRs
	if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
		cidrs = []string{n.Spec.PodCIDR}
	}
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, config.Unsafe{Prefix: p.Masked(), Why: "pod CIDR of Node " + n.Name})
		}
	}
	return out
}

// nodeChanged passes Node events that change what nodeUnsafe reads, so
// status heartbeats do not re-read the configuration.
func nodeChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*corev1.Node)
		n, ok2 := e.ObjectNew.(*corev1.Node)
		return !ok1 || !ok2 || !slices.Equal(nodeUnsafe(o), nodeUnsafe(n))
	}}
}

// TrimNode is a cache transform that keeps of a Node only what the
// controller reads: its name, addresses and pod CIDRs (not its images,
// labels or conditions).
func TrimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	out := &corev1.Node{TypeMeta: n.TypeMeta}
	out.Name, out.UID, out.ResourceVersion, out.DeletionTimestamp = n.Name, n.UID, n.ResourceVersion, n.DeletionTimestamp
	out.Spec.PodCIDR, out.Spec.PodCIDRs = n.Spec.PodCIDR, n.Spec.PodCIDRs
	out.Status.Addresses = n.Status.Addresses
	return out, nil
}

// unsafeMessageLimit caps the blocks an IPPool's UnsafeAddresses condition
// lists, so a 0.0.0.0/0 pool in a cluster of thousands of Nodes keeps a
// readable condition.
const unsafeMessageLimit = 20

// unsafeMessage writes an IPPool's UnsafeAddresses message: the blocks
// in the pool and why, then the unsafe addresses Services kept.
func unsafeMessage(blocks []config.Unsafe, held map[netip.Addr][]string) string {
	parts := make([]string, 0, min(len(blocks), unsafeMessageLimit))
	for i, b := range blocks {
		if i == unsafeMessageLimit {
			parts = append(parts, fmt.Sprintf("and %d more", len(blocks)-i))
			break
		}
		parts = append(parts, b.String())
	}
	msg := "never handed out: " + strings.Join(parts, "; ")
	if len(held) > 0 {
		var kept []string
		for _, ip := range slices.SortedFunc(maps.Keys(held), netip.Addr.Compare) {
			kept = append(kept, fmt.Sprintf("%s (%s)", ip, strings.Join(held[ip], ", ")))
		}
		msg += "; held from before they became unsafe, kept (never renumbered): " + strings.Join(kept, ", ")
	}
	return msg
}

// unsafeCondition is an IPPool's UnsafeAddresses condition.
func (r *ConfigReconciler) unsafeCondition(p *v1alpha1.IPPool) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.ConditionUnsafeAddresses, Status: metav1.ConditionFalse, Reason: "NoUnsafeAddresses", ObservedGeneration: p.Generation}
	if blocks, held := r.State.poolUnsafe(p.Name); len(blocks) > 0 {
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, "UnsafeAddressesSkipped", unsafeMessage(blocks, held)
	}
	return c
}
