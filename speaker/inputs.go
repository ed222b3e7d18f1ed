package speaker

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/speaker/election"
)

// snapshot is one read of everything the speaker reacts to, from the cache.
// The Nodes, Services and EndpointSlices are the cache's own objects, not
// copies: a pass reads them and never changes them.
type snapshot struct {
	nodes    []*corev1.Node
	services []*corev1.Service
	slices   []*discoveryv1.EndpointSlice
	speakers []v1alpha1.SpeakerStatus
	secrets  []corev1.Secret
	cfg      *config.Config
	// byKey finds a Service by namespace/name (service); made on first
	// use, by the pass's goroutine only.
	byKey map[string]*corev1.Service
	// memo is the reconciler's memory of what planServices derived from
	// each object; nil reads every object afresh.
	memo *serviceMemo
}

func (r *Reconciler) read(ctx context.Context) (*snapshot, error) {
	s := &snapshot{}
	var spk v1alpha1.SpeakerStatusList
	var pools v1alpha1.IPPoolList
	var l2 v1alpha1.L2AdvertisementList
	var peers v1alpha1.BGPPeerList
	var bgp v1alpha1.BGPAdvertisementList
	var secrets corev1.SecretList
	lists := []struct {
		list client.ObjectList
		opts []client.ListOption
	}{
		{&spk, nil}, {&pools, nil}, {&l2, nil}, {&peers, nil}, {&bgp, nil},
		{&secrets, []client.ListOption{client.InNamespace(r.Namespace)}},
	}
	for _, l := range lists {
		// A pass only reads what it lists (the status writer copies its
		// own object before changing it), so the cache's objects are used
		// as they are.
		opts := append(l.opts, client.UnsafeDisableDeepCopy)
		if err := r.Client.List(ctx, l.list, opts...); err != nil {
			return nil, fmt.Errorf("list %T: %w", l.list, err)
		}
	}
	s.speakers, s.secrets = spk.Items, secrets.Items
	s.nodes, s.services, s.slices = storeItems[corev1.Node](r.Stores.Nodes),
		storeItems[corev1.Service](r.Stores.Services), storeItems[discoveryv1.EndpointSlice](r.Stores.EndpointSlices)
	s.cfg = config.Parse(config.Resources{
		Pools: pools.Items, L2Advertisements: l2.Items, BGPPeers: peers.Items, BGPAdvertisements: bgp.Items,
		Secrets: secrets.Items, Namespace: r.Namespace, Last: r.cfg,
	})
	// What this pass parsed is what is in force from now on: a rejected
	// edit keeps its object's version from it (or from status.inForce).
	r.cfg = s.cfg
	return s, nil
}

// service returns the Service namespace/name of the snapshot, or nil.
func (s *snapshot) service(key string) *corev1.Service {
	if s.byKey == nil {
		s.byKey = make(map[string]*corev1.Service, len(s.services))
		for _, svc := range s.services {
			s.byKey[svc.Namespace+"/"+svc.Name] = svc
		}
	}
	return s.byKey[key]
}

// served reports whether svc is a LoadBalancer of the class this speaker
// serves.
func served(svc *corev1.Service, class string) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return false
	}
	if svc.Spec.LoadBalancerClass == nil {
		return class == ""
	}
	return *svc.Spec.LoadBalancerClass == class
}

// planServices turns the served Services with addresses into the plan's
// form, each with the nodes that have a ready endpoint of it. With a memo
// (the speaker's own passes) only objects the cache did not hold at the
// last pass are read, and when the Services come out as the last pass's
// the last pass's slice is returned (serviceMemo): the slice is shared,
// read-only.
func (s *snapshot) planServices(class string) []Service {
	m := s.memo
	if m == nil {
		m = &serviceMemo{}
	}
	m.begin(class)
	for _, sl := range s.slices {
		m.slice(sl)
	}
	for _, svc := range s.services {
		m.service(svc)
	}
	if !m.end() && m.out != nil {
		return m.out
	}
	ready := make(map[string]map[string]bool, len(s.slices))
	var merged map[string]bool // keys whose node set is a union made here
	for _, sl := range s.slices {
		e := m.slices[sl]
		if e.nodes == nil {
			continue
		}
		prev, ok := ready[e.key]
		if !ok {
			ready[e.key] = e.nodes.nodes
			continue
		}
		// A Service with several slices: a union of its own, never a
		// change to a slice's remembered set.
		if !merged[e.key] {
			if merged == nil {
				merged = map[string]bool{}
			}
			merged[e.key] = true
			prev = maps.Clone(prev)
			ready[e.key] = prev
		}
		maps.Copy(prev, e.nodes.nodes)
	}
	out := make([]Service, 0, len(s.services))
	for _, svc := range s.services {
		e := m.services[svc]
		if !e.served {
			continue
		}
		p := e.plan
		p.EndpointNodes = ready[p.Key]
		out = append(out, p)
	}
	m.out = out
	return out
}

// electionNodes converts the Nodes, marking those whose speaker is live,
// sorted by name: election.Eligible, which runs for every address, then
// need not sort.
func (s *snapshot) electionNodes(live map[string]bool) []election.Node {
	out := make([]election.Node, 0, len(s.nodes))
	for _, n := range s.nodes {
		en := election.Node{Name: n.Name, Labels: labels.Set(n.Labels), Alive: live[n.Name]}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeNetworkUnavailable && c.Status == corev1.ConditionTrue {
				en.NetworkUnavailable = true
			}
		}
		out = append(out, en)
	}
	slices.SortFunc(out, func(a, b election.Node) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// noInterface returns the addresses each known speaker (a SpeakerStatus
// on an existing node) published as owned with no usable interface.
func (s *snapshot) noInterface() map[string]map[netip.Addr]bool {
	var out map[string]map[netip.Addr]bool
	for _, st := range s.speakers {
		if len(st.Status.NoInterface) == 0 || !s.hasNode(st.Name) {
			continue
		}
		ips := make(map[netip.Addr]bool, len(st.Status.NoInterface))
		for _, a := range st.Status.NoInterface {
			if ip, err := netip.ParseAddr(a); err == nil {
				ips[ip] = true
			}
		}
		if out == nil {
			out = map[string]map[netip.Addr]bool{}
		}
		out[st.Name] = ips
	}
	return out
}

// nodeIPs returns the InternalIP addresses of the named node.
func (s *snapshot) nodeIPs(name string) []netip.Addr {
	var out []netip.Addr
	for _, n := range s.nodes {
		if n.Name != name {
			continue
		}
		for _, a := range n.Status.Addresses {
			if a.Type != corev1.NodeInternalIP {
				continue
			}
			if ip, err := netip.ParseAddr(a.Address); err == nil {
				out = append(out, ip)
			}
		}
	}
	return out
}
