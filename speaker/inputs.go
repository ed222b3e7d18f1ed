package speaker

import (
	"context"
	"fmt"
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
	// byKey finds a Service by namespace/name.
	byKey map[string]*corev1.Service
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
	s.byKey = make(map[string]*corev1.Service, len(s.services))
	for _, svc := range s.services {
		s.byKey[svc.Namespace+"/"+svc.Name] = svc
	}
	s.cfg = config.Parse(config.Resources{
		Pools: pools.Items, L2Advertisements: l2.Items, BGPPeers: peers.Items, BGPAdvertisements: bgp.Items,
		Secrets: secrets.Items, Namespace: r.Namespace, Last: r.cfg,
	})
	// What this pass parsed is what is in force from now on: a rejected
	// edit keeps its object's version from it (or from status.inForce).
	r.cfg = s.cfg
	return s, nil
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

// services turns the served Services with addresses into the plan's form;
// endpoint nodes are gathered only for Local Services.
func (s *snapshot) planServices(class string) []Service {
	ready := map[string]map[string]bool{} // namespace/name -> nodes
	for _, sl := range s.slices {
		name := sl.Labels[discoveryv1.LabelServiceName]
		if name == "" {
			continue
		}
		key := sl.Namespace + "/" + name
		for _, ep := range sl.Endpoints {
			if ep.NodeName == nil || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) {
				continue
			}
			if ready[key] == nil {
				ready[key] = map[string]bool{}
			}
			ready[key][*ep.NodeName] = true
		}
	}
	var out []Service
	for _, svc := range s.services {
		if !served(svc, class) {
			continue
		}
		ips := config.IngressIPs(svc)
		if len(ips) == 0 {
			continue
		}
		key := svc.Namespace + "/" + svc.Name
		out = append(out, Service{
			Key: key, IPs: ips,
			Local:         svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal,
			EndpointNodes: ready[key],
			Labels:        labels.Set(svc.Labels),
		})
	}
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
