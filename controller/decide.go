package controller

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller/allocator"
)

// outcome is what decide wants done for one Service.
type outcome struct {
	// ips are the Service's addresses, in its family order.
	ips []netip.Addr
	// pools[i] is the pool ips[i] came from ("" when no pool holds it).
	pools []string
	// problem is why the Service did not get everything it asked for, as
	// an event reason and message; "" when it did.
	reason, message string
	// conflict says which shared addresses the Service gave up on this
	// pass because, as it is now, it clashes with their other holders (an
	// IPConflict warning); "" when none.
	conflict string
}

// pending reports whether the Service still waits for an address.
func (o outcome) pending() bool {
	return o.reason != "" && o.reason != v1alpha1.ReasonOrphaned && o.reason != v1alpha1.ReasonUnsafeHeld && o.reason != v1alpha1.ReasonCrossNamespace
}

// waitsForRelease reports whether another Service releasing an address
// could end the wait (a full pool, a requested address held by another);
// otherwise only a configuration change can.
func (o outcome) waitsForRelease() bool {
	return o.reason == v1alpha1.ReasonPoolExhausted || o.reason == v1alpha1.ReasonIPConflict
}

// decide brings a's holdings for the Service in line with req and returns
// its addresses. It is the only place that changes allocations for a
// Service, and it never takes an address from another Service.
func decide(a *allocator.Allocator, req request) outcome {
	key := req.svc.Key
	if !req.served {
		a.Release(key)
		return outcome{}
	}
	var o outcome
	fail := func(reason, msg string) {
		if o.reason == "" {
			o.reason, o.message = reason, msg
		}
	}
	// A Service that changed (ports, protocol, key, traffic policy,
	// selector) is checked against the other holders of each shared
	// address as they were accepted: on a clash the one that changed lets
	// go and is served below like a newcomer; the others keep the address.
	var lost []string
	for _, ip := range a.IPs(key) {
		if err := a.Recheck(req.svc, ip); err != nil {
			a.ReleaseIP(key, ip)
			lost = append(lost, fmt.Sprintf("%s given up: the Service changed and may no longer share it: %v", ip, err))
		}
	}
	o.conflict = strings.Join(lost, "; ")
	held := a.IPs(key)

	if len(req.ips) > 0 {
		for _, ip := range held {
			if !slices.Contains(req.ips, ip) {
				a.ReleaseIP(key, ip)
			}
		}
		for _, ip := range req.ips {
			if slices.Contains(held, ip) {
				o.ips = append(o.ips, ip) // kept even if a pool edit left it outside
				continue
			}
			if _, err := a.Assign(req.svc, ip); err != nil {
				fail(reasonFor(err), fmt.Sprintf("requested address %s: %v", ip, err))
				continue
			}
			o.ips = append(o.ips, ip)
		}
		return o.withPools(a).orphans().tenants(a, key).unsafeHeld(a)
	}

	var fresh []netip.Addr
	for _, fam := range req.families {
		ip, ok := heldOf(held, fam)
		if from := a.Pool(ip); ok && req.pool != "" && from != "" && from != req.pool {
			// The operator asked for another pool: move. (An address that
			// a pool edit left outside every pool stays: see orphans.)
			a.ReleaseIP(key, ip)
			ok = false
		}
		if ok {
			o.ips = append(o.ips, ip)
			continue
		}
		ip, _, err := a.Allocate(req.svc, fam, req.pool)
		if err != nil {
			fail(reasonFor(err), fmt.Sprintf("no %s address: %v", fam, err))
			continue
		}
		o.ips = append(o.ips, ip)
		fresh = append(fresh, ip)
	}
	if req.require && len(o.ips) < len(req.families) {
		// RequireDualStack: both families or none of the new ones.
		for _, ip := range fresh {
			a.ReleaseIP(key, ip)
		}
		o.ips = slices.DeleteFunc(o.ips, func(ip netip.Addr) bool { return slices.Contains(fresh, ip) })
	}
	// Families the Service no longer wants.
	for _, ip := range held {
		if !slices.Contains(req.families, familyOf(ip)) {
			a.ReleaseIP(key, ip)
		}
	}
	return o.withPools(a).orphans().tenants(a, key).unsafeHeld(a)
}

// unsafeHeld reports addresses the Service holds that have become unsafe
// since it got them (a Node with that address joined): they stay assigned,
// with a warning; nothing is renumbered.
func (o outcome) unsafeHeld(a *allocator.Allocator) outcome {
	if o.reason != "" {
		return o
	}
	for _, ip := range o.ips {
		if why := a.Unsafe(ip); len(why) > 0 {
			parts := make([]string, len(why))
			for i, u := range why {
				parts[i] = u.String()
			}
			o.reason, o.message = v1alpha1.ReasonUnsafeHeld, fmt.Sprintf("%s must never be handed out (%s) but this Service held it first: it stays assigned (pylon never renumbers a Service); to move the Service, ask for another address (%s) or recreate it", ip, strings.Join(parts, "; "), AnnotationIPs)
			return o
		}
	}
	return o
}

// orphans reports addresses that no pool holds any more (a pool edit left
// them outside): they stay assigned, with a warning.
func (o outcome) orphans() outcome {
	if o.reason != "" {
		return o
	}
	for i, ip := range o.ips {
		if o.pools[i] == "" {
			o.reason, o.message = v1alpha1.ReasonOrphaned, fmt.Sprintf("%s is no longer in any IPPool; it stays assigned (pylon never renumbers a Service on a pool edit): restore the pool's range, or recreate the Service to get a new address", ip)
		}
	}
	return o
}

// tenants reports addresses the Service shares with an older Service of
// another namespace although their pool no longer allows it (the sharing
// predates the rule, or the pool turned it off): they stay shared, with a
// warning.
func (o outcome) tenants(a *allocator.Allocator, key string) outcome {
	if o.reason != "" {
		return o
	}
	for _, ip := range o.ips {
		if why := a.SharedAcrossNamespaces(key, ip); why != "" {
			o.reason, o.message = v1alpha1.ReasonCrossNamespace, why+"; it stays shared until this Service lets it go (pylon never renumbers a Service on a pool edit): recreate the Service for an address of its own, or allow sharing across namespaces on the pool"
			break
		}
	}
	return o
}

func (o outcome) withPools(a *allocator.Allocator) outcome {
	o.pools = o.pools[:0]
	for _, ip := range o.ips {
		o.pools = append(o.pools, a.Pool(ip))
	}
	return o
}

func heldOf(held []netip.Addr, fam allocator.Family) (netip.Addr, bool) {
	for _, ip := range held {
		if familyOf(ip) == fam {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// reasonFor maps allocator errors to event reasons.
func reasonFor(err error) string {
	switch {
	case errors.Is(err, allocator.ErrPoolExhausted):
		return v1alpha1.ReasonPoolExhausted
	case errors.Is(err, allocator.ErrNoPool):
		return v1alpha1.ReasonNoPool
	case errors.Is(err, allocator.ErrPoolNotFound):
		return v1alpha1.ReasonPoolNotFound
	case errors.Is(err, allocator.ErrNotInPool):
		return v1alpha1.ReasonIPNotInPool
	case errors.Is(err, allocator.ErrInUse):
		return v1alpha1.ReasonIPConflict
	case errors.Is(err, allocator.ErrUnsafe):
		return v1alpha1.ReasonUnsafeAddress
	case errors.Is(err, allocator.ErrNotAllowed), errors.Is(err, allocator.ErrBuggyIP), errors.Is(err, allocator.ErrPoolUnusable):
		return v1alpha1.ReasonIPNotAllowed
	}
	return v1alpha1.ReasonAllocationError
}

// describe writes "198.51.100.7 (IPPool default), 2001:db8::7 (IPPool v6)".
func (o outcome) describe() string {
	var parts []string
	for i, ip := range o.ips {
		from := "no IPPool"
		if o.pools[i] != "" {
			from = "IPPool " + o.pools[i]
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", ip, from))
	}
	return strings.Join(parts, ", ")
}
