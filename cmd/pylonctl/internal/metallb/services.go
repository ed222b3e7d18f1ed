package metallb

import (
	"cmp"
	"github.com/pylonlb/pylon/api/v1alpha1"
	"maps"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/config"
)

// MetalLB's Service annotations, current and deprecated prefix. Where both
// are set the current one wins, as in MetalLB.
const (
	prefix           = "metallb.io/"
	deprecatedPrefix = "metallb.universe.tf/"

	annPool      = "address-pool"
	annIPs       = "loadBalancerIPs"
	annShare     = "allow-shared-ip"
	annAllocated = "ip-allocated-from-pool"
)

// ServiceChange is what a Service that MetalLB serves needs for pylon.
type ServiceChange struct {
	Namespace, Name string
	// ResourceVersion is the version the change was computed from: Apply
	// patches only that version.
	ResourceVersion string
	// Add are pylon's annotations the Service lacks, with their values.
	// MetalLB's annotations stay (MetalLB keeps working until it is
	// removed, and a way back stays open).
	Add   map[string]string
	Notes []Note
}

func (s *ServiceChange) note(field string, v Verdict, msg string) {
	s.Notes = append(s.Notes, Note{Field: field, Verdict: v, Message: msg})
}

// convertServices lists the changes of every Service MetalLB serves: type
// LoadBalancer, of MetalLB's class.
func (c *converter) convertServices() {
	pools := c.poolRanges()
	for i := range c.services {
		svc := &c.services[i]
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || !sameClass(svc.Spec.LoadBalancerClass, c.opts.Class) {
			continue
		}
		ch := ServiceChange{Namespace: svc.Namespace, Name: svc.Name, ResourceVersion: svc.ResourceVersion, Add: map[string]string{}}
		c.serviceAnnotations(svc, &ch)
		if ip := svc.Spec.LoadBalancerIP; ip != "" && lookup(svc.Annotations, annIPs) == "" {
			ch.note("spec.loadBalancerIP", Info, ip+": kept, pylon reads spec.loadBalancerIP as one requested address")
		}
		for _, in := range svc.Status.LoadBalancer.Ingress {
			ip, err := netip.ParseAddr(in.IP)
			if err != nil || slices.ContainsFunc(pools, func(r config.Range) bool { return r.Contains(ip) }) {
				continue
			}
			ch.note("status.loadBalancer.ingress", Unmapped, in.IP+" is in no converted IPPool: pylon keeps it on the Service (IPOutsidePools warning) but announces it nowhere")
		}
		if len(ch.Add) > 0 || len(ch.Notes) > 0 {
			c.res.Services = append(c.res.Services, ch)
		}
	}
	slices.SortFunc(c.res.Services, func(a, b ServiceChange) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
}

func sameClass(got *string, class string) bool {
	if got == nil {
		return class == ""
	}
	return *got == class
}

// lookup returns MetalLB's annotation name, current prefix first.
func lookup(anns map[string]string, name string) string {
	if v, ok := anns[prefix+name]; ok {
		return v
	}
	return anns[deprecatedPrefix+name]
}

// serviceAnnotations maps each MetalLB annotation of svc.
func (c *converter) serviceAnnotations(svc *corev1.Service, ch *ServiceChange) {
	for _, key := range slices.Sorted(maps.Keys(svc.Annotations)) {
		name, current := strings.CutPrefix(key, prefix)
		if !current {
			var old bool
			if name, old = strings.CutPrefix(key, deprecatedPrefix); !old {
				continue
			}
			if _, both := svc.Annotations[prefix+name]; both {
				ch.note("metadata.annotations."+key, Info, "ignored: "+prefix+name+" is set too and wins, as in MetalLB")
				continue
			}
		}
		value := svc.Annotations[key]
		field := "metadata.annotations." + key
		switch name {
		case annPool:
			c.want(svc, ch, field, v1alpha1.AnnotationPool, value)
			if _, ok := c.made["IPPool "+value]; !ok {
				ch.note(field, Changed, "pool "+value+" is not among the converted IPPools: the Service gets no address until it exists (PoolNotFound)")
			}
		case annIPs:
			var ips []string
			for _, p := range strings.Split(value, ",") {
				ips = append(ips, strings.TrimSpace(p))
			}
			c.want(svc, ch, field, v1alpha1.AnnotationIPs, strings.Join(ips, ","))
			if svc.Spec.LoadBalancerIP != "" {
				ch.note(field, Changed, "spec.loadBalancerIP is set too: MetalLB refuses such a Service (no address); pylon takes the annotation and ignores spec.loadBalancerIP")
			}
		case annShare:
			if value != "" {
				c.want(svc, ch, field, v1alpha1.AnnotationSharing, value)
			}
		case annAllocated:
			ch.note(field, Info, "MetalLB's record of the pool the address came from: not needed, pylon finds the pool from the address")
		default:
			ch.note(field, Unmapped, "a MetalLB annotation pylonctl does not know; not carried over")
		}
	}
}

// want asks for pylon's annotation key=value; a Service that has it with
// another value is left alone, and that is reported.
func (c *converter) want(svc *corev1.Service, ch *ServiceChange, field, key, value string) {
	have, ok := svc.Annotations[key]
	switch {
	case !ok:
		ch.Add[key] = value
		ch.note(field, Info, "add "+key+"="+value)
	case have != value:
		ch.note(field, Unmapped, key+" is "+have+" already, not "+value+": left alone, decide which is right")
	}
}

// poolRanges returns every range of the converted pools.
func (c *converter) poolRanges() []config.Range {
	var out []config.Range
	for _, p := range c.res.Resources.Pools {
		for _, a := range p.Spec.Addresses {
			if r, err := config.ParseAddressRange(string(a)); err == nil {
				out = append(out, r)
			}
		}
	}
	return out
}
