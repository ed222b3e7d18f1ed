package speaker

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/config"
)

// serviceMemo keeps, from one pass to the next, what planServices derived
// from each cached Service and EndpointSlice, keyed by the object itself.
// The cache replaces an object when it changes and never changes one in
// place (a pass relies on that already: it reads the cache's own objects),
// so an object that was there at the last pass gives the same result, and
// a pass reads only the objects that are new to it: with 50,000 Services a
// pass with nothing to do no longer parses 50,000 ingress addresses and
// builds 50,000 node sets. An entry holds its object until the first pass
// that no longer sees it, so an address is never reused for another object
// while it is remembered.
//
// changes counts the passes whose Services, as the plan sees them, differ
// from the pass before: a new object that only replaces one with the same
// result (an annotation edit, an endpoint's address) is not a change. The
// plans are remembered against it (planMemo).
type serviceMemo struct {
	// gen counts planServices calls; an entry not seen in the current one
	// is dropped at its end.
	gen      uint64
	changes  uint64
	class    string
	slices   map[*discoveryv1.EndpointSlice]*sliceEntry
	services map[*corev1.Service]*serviceEntry
	// nodeSets interns the slices' ready-node sets: most slices of a
	// cluster have one of a few.
	nodeSets map[string]*nodeSet
	// fresh are the entries made in this pass.
	freshSlices   []*sliceEntry
	freshServices []*serviceEntry
	// out is what planServices made of the entries when changes was last
	// counted.
	out []Service
}

// sliceEntry is one EndpointSlice's contribution: its Service's key and the
// nodes with a ready endpoint in it (nil: none, or no Service).
type sliceEntry struct {
	gen   uint64
	key   string
	nodes *nodeSet
}

// nodeSet is an interned set of node names; id is its sorted names.
type nodeSet struct {
	gen   uint64
	id    string
	nodes map[string]bool
}

// serviceEntry is one Service in the plan's form, without its endpoint
// nodes (they come from the slices); served is false for a Service this
// speaker does not serve or that has no address.
type serviceEntry struct {
	gen    uint64
	served bool
	plan   Service
}

// begin starts a pass; a change of class forgets everything.
func (m *serviceMemo) begin(class string) {
	if m.slices == nil || m.class != class {
		m.slices = map[*discoveryv1.EndpointSlice]*sliceEntry{}
		m.services = map[*corev1.Service]*serviceEntry{}
		m.nodeSets = map[string]*nodeSet{}
		m.class, m.out = class, nil
	}
	m.gen++
	m.freshSlices, m.freshServices = m.freshSlices[:0], m.freshServices[:0]
}

// end drops the entries of objects this pass did not see, and counts a
// change, and reports one, unless every new entry stands for a dropped one
// with the same result.
func (m *serviceMemo) end() bool {
	var goneSlices []*sliceEntry
	for k, e := range m.slices {
		if e.gen != m.gen {
			delete(m.slices, k)
			goneSlices = append(goneSlices, e)
		}
	}
	var goneServices []*serviceEntry
	for k, e := range m.services {
		if e.gen != m.gen {
			delete(m.services, k)
			goneServices = append(goneServices, e)
		}
	}
	for k, s := range m.nodeSets {
		if s.gen != m.gen {
			delete(m.nodeSets, k)
		}
	}
	if !sameEntries(m.freshSlices, goneSlices, func(e *sliceEntry) string { return e.key }, sameSlice) ||
		!sameEntries(m.freshServices, goneServices, func(e *serviceEntry) string { return e.plan.Key }, sameService) {
		m.changes++
		return true
	}
	return false
}

// sameEntries reports whether fresh and gone hold the same results, each
// fresh entry matched to one gone entry of the same key.
func sameEntries[E any](fresh, gone []E, key func(E) string, same func(a, b E) bool) bool {
	if len(fresh) != len(gone) {
		return false
	}
	if len(fresh) == 0 {
		return true
	}
	byKey := map[string][]E{}
	for _, e := range gone {
		byKey[key(e)] = append(byKey[key(e)], e)
	}
	for _, e := range fresh {
		list := byKey[key(e)]
		i := slices.IndexFunc(list, func(g E) bool { return same(e, g) })
		if i < 0 {
			return false
		}
		byKey[key(e)] = slices.Delete(list, i, i+1)
	}
	return true
}

func sameSlice(a, b *sliceEntry) bool { return a.key == b.key && a.nodes == b.nodes }

func sameService(a, b *serviceEntry) bool {
	return a.served == b.served && a.plan.Key == b.plan.Key && a.plan.Local == b.plan.Local &&
		slices.Equal(a.plan.IPs, b.plan.IPs) && maps.Equal(a.plan.Labels, b.plan.Labels)
}

func (m *serviceMemo) slice(sl *discoveryv1.EndpointSlice) *sliceEntry {
	e, ok := m.slices[sl]
	if !ok {
		e = m.readSlice(sl)
		m.slices[sl] = e
		m.freshSlices = append(m.freshSlices, e)
	}
	e.gen = m.gen
	if e.nodes != nil {
		e.nodes.gen = m.gen
	}
	return e
}

func (m *serviceMemo) readSlice(sl *discoveryv1.EndpointSlice) *sliceEntry {
	e := &sliceEntry{}
	name := sl.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return e
	}
	e.key = sl.Namespace + "/" + name
	var nodes []string
	for _, ep := range sl.Endpoints {
		if ep.NodeName == nil || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) {
			continue
		}
		nodes = append(nodes, *ep.NodeName)
	}
	if len(nodes) == 0 {
		return e
	}
	slices.Sort(nodes)
	nodes = slices.Compact(nodes)
	id := strings.Join(nodes, "\x00")
	set, ok := m.nodeSets[id]
	if !ok {
		set = &nodeSet{id: id, nodes: make(map[string]bool, len(nodes))}
		for _, n := range nodes {
			set.nodes[n] = true
		}
		m.nodeSets[id] = set
	}
	e.nodes = set
	return e
}

func (m *serviceMemo) service(svc *corev1.Service) *serviceEntry {
	e, ok := m.services[svc]
	if !ok {
		e = readService(svc, m.class)
		m.services[svc] = e
		m.freshServices = append(m.freshServices, e)
	}
	e.gen = m.gen
	return e
}

func readService(svc *corev1.Service, class string) *serviceEntry {
	key := svc.Namespace + "/" + svc.Name
	if !served(svc, class) {
		return &serviceEntry{plan: Service{Key: key}}
	}
	ips := config.IngressIPs(svc)
	if len(ips) == 0 {
		return &serviceEntry{plan: Service{Key: key}}
	}
	return &serviceEntry{served: true, plan: Service{
		Key: key, IPs: ips,
		Local:  svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal,
		Labels: labels.Set(svc.Labels),
	}}
}
