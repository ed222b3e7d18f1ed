package allocator

import (
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/labels"
)

// Port is one port of a Service, as far as sharing an address goes.
type Port struct {
	Protocol string // TCP, UDP or SCTP
	Port     int32
}

// String writes the port as "TCP/80".
func (p Port) String() string { return fmt.Sprintf("%s/%d", p.Protocol, p.Port) }

// Service is what the allocator needs to know of a Kubernetes Service.
type Service struct {
	// Key is "namespace/name"; it identifies the Service in the Allocator.
	Key string
	// Namespace is the Service's namespace, for pools limited to some
	// namespaces, and NamespaceLabels that namespace's labels, for
	// namespace selectors.
	Namespace       string
	NamespaceLabels map[string]string
	// Labels are the Service's own labels, for service selectors.
	Labels map[string]string
	// SharingKey is the pylonlb.io/allow-shared-ip annotation; "" means the
	// Service shares its addresses with nobody.
	SharingKey string
	// Ports are the Service's ports; two Services sharing an address must
	// not have a (Protocol, Port) in common.
	Ports []Port
	// Local is externalTrafficPolicy: Local. Local Services share only with
	// Local Services that have an equal pod Selector, so that the nodes
	// announcing the address serve every one of them.
	Local    bool
	Selector map[string]string
}

// share is what one hold remembers of its Service for sharing: the data it
// was last accepted with.
type share struct {
	key      string
	ns       string
	ports    []Port
	local    bool
	selector map[string]string
}

// shareOf copies what sharing needs, so callers may reuse their maps; nil
// for a Service that shares with nobody.
func shareOf(svc Service) *share {
	if svc.SharingKey == "" {
		return nil
	}
	return &share{key: svc.SharingKey, ns: svc.Namespace, ports: slices.Clone(svc.Ports), local: svc.Local, selector: maps.Clone(svc.Selector)}
}

// crossTenant explains why a (a newcomer) may not join b (a holder) at an
// address of pool p because they are of different namespaces and p does not
// allow sharing across namespaces, or returns "" when that rule does not
// stand in the way. It applies when a Service joins an address, not to
// holds already in place: see Restore and Recheck.
func crossTenant(a, b share, p *poolState) string {
	if a.key == "" || a.key != b.key || a.ns == b.ns || p != nil && p.cfg.AllowSharingAcrossNamespaces {
		return ""
	}
	where := "the address is in no IPPool"
	if p != nil {
		where = fmt.Sprintf("IPPool %q does not allow sharing across namespaces (spec.allocation.allowSharingAcrossNamespaces)", p.cfg.Name)
	}
	return fmt.Sprintf("the sharing key %q is private to namespace %q: %s", b.key, b.ns, where)
}

// conflict explains why a (a newcomer) and b (a holder) may not share an
// address, or returns "" when they may.
func conflict(a, b share) string {
	switch {
	case a.key == "" || b.key == "":
		return "they do not both allow sharing"
	case a.key != b.key:
		return fmt.Sprintf("their sharing keys differ (%q, %q)", a.key, b.key)
	}
	for _, p := range a.ports {
		if slices.Contains(b.ports, p) {
			return "both use port " + p.String()
		}
	}
	switch {
	case a.local != b.local:
		return "only one has externalTrafficPolicy Local"
	case a.local && !maps.Equal(a.selector, b.selector):
		return fmt.Sprintf("both are externalTrafficPolicy Local but their pod selectors differ (%q, %q)",
			labels.Set(a.selector).String(), labels.Set(b.selector).String())
	}
	return ""
}
