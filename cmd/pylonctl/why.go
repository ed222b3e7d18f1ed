package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/speaker"
)

func (a *app) whyCommand() *cobra.Command {
	var class string
	cmd := &cobra.Command{
		Use:   "why svc/NAME",
		Short: "A Service's addresses, their pool, why one is missing, and which nodes announce them",
		Long: `why explains one LoadBalancer Service: its addresses and the IPPool each comes
from; when it has none, the controller's reason; for each address announced
over layer 2, the node that answers ARP/NDP for it, recomputed the way every
speaker computes it (speaker/election, from the Nodes, the speakers' memberlist
views, the L2Advertisements and, for externalTrafficPolicy Local, the ready
endpoints) and checked against what the speakers report; for each address
announced over BGP, the nodes announcing it and their sessions.

A speaker's SpeakerStatus lists only its first 256 announcements. For an
address beyond them the owner is checked, in turn, by the owner's latest
Announcing or StoppedAnnouncing event on the Service (newer than its speaker
pod), then by recomputing every Service the owner announces and comparing
with the count and the first entries its SpeakerStatus reports; when none of
them can tell, the answer says "Unverified" and why.

Exit status 1 when the Service has no address, or an announcement is
contradicted by what the speakers report.`,
		Example: `  pylonctl why svc/web -n shop
  kubectl pylon why web -n shop -o yaml`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeServices,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := serviceName(args[0])
			if err != nil {
				return err
			}
			ns, err := a.namespace()
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			w := &world{c: c, class: class, pylonNS: a.pylonNamespace}
			r, err := w.why(cmd.Context(), ns, name)
			if err != nil {
				return err
			}
			if err := a.print(r, r.table(a.clock.Now())); err != nil {
				return err
			}
			if len(r.Problems) > 0 {
				return exitCode(exitProblem)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&class, "load-balancer-class", "", "the spec.loadBalancerClass pylon serves (its --load-balancer-class); unset: Services with no class")
	return cmd
}

// serviceName reads svc/NAME (or service/, services/, or a bare NAME).
func serviceName(arg string) (string, error) {
	kind, name, found := strings.Cut(arg, "/")
	if !found {
		return arg, nil
	}
	switch strings.ToLower(kind) {
	case "svc", "service", "services":
		return name, nil
	}
	return "", fmt.Errorf("%q is not a Service: give svc/NAME", arg)
}

// completeServices completes svc/NAME from the Services of the namespace.
func (a *app) completeServices(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, err := a.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	ns, err := a.namespace()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var l corev1.ServiceList
	if err := c.List(cmd.Context(), &l, client.InNamespace(ns)); err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var out []string
	for _, s := range l.Items {
		if s.Spec.Type == corev1.ServiceTypeLoadBalancer {
			out = append(out, "svc/"+s.Name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// world is what why reads from the cluster, read once and kept for the
// rest of the answer.
type world struct {
	c       client.Client
	class   string
	pylonNS string

	svc *corev1.Service
	// events are the Service's events, newest last.
	events   []corev1.Event
	nodes    []*corev1.Node
	speakers []v1alpha1.SpeakerStatus
	// speakerPods are the speaker pods by node; nil when pods could not
	// be read.
	speakerPods map[string]*corev1.Pod
	cfg         *config.Config
	// observed holds the Services sharing an address with svc (and svc)
	// with their EndpointSlices: enough to recompute svc's owners.
	observed speaker.Observed
	// everything is observed with every Service and EndpointSlice of the
	// cluster, read only when an owner must be checked by count (nil
	// until then).
	everything *speaker.Observed
}

// read reads the Service and what explaining it needs.
func (w *world) read(ctx context.Context, ns, name string) error {
	w.svc = &corev1.Service{}
	if err := w.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, w.svc); err != nil {
		return fmt.Errorf("read Service %s/%s: %w", ns, name, err)
	}
	var events corev1.EventList
	err := w.c.List(ctx, &events, client.InNamespace(ns),
		client.MatchingFields{"involvedObject.kind": "Service", "involvedObject.name": name})
	if err != nil {
		return fmt.Errorf("list the Service's events: %w", err)
	}
	for _, e := range events.Items {
		if e.InvolvedObject.UID == "" || e.InvolvedObject.UID == w.svc.UID {
			w.events = append(w.events, e)
		}
	}
	slices.SortStableFunc(w.events, func(a, b corev1.Event) int { return eventTime(&a).Compare(eventTime(&b)) })

	var nodes corev1.NodeList
	var spk v1alpha1.SpeakerStatusList
	if err := w.c.List(ctx, &nodes); err != nil {
		return fmt.Errorf("list Nodes: %w", err)
	}
	if err := w.c.List(ctx, &spk); err != nil {
		return fmt.Errorf("list SpeakerStatuses: %w", err)
	}
	for i := range nodes.Items {
		w.nodes = append(w.nodes, &nodes.Items[i])
	}
	w.speakers = spk.Items
	switch p, err := pods(ctx, w.c, w.pylonNS, "speaker"); {
	case apierrors.IsForbidden(err):
	case err != nil:
		return err
	default:
		w.speakerPods = map[string]*corev1.Pod{}
		for i := range p {
			w.speakerPods[p[i].Spec.NodeName] = &p[i]
		}
	}
	if w.cfg, err = readConfig(ctx, w.c, w.pylonNS); err != nil {
		return err
	}
	sharers, err := w.sharers(ctx)
	if err != nil {
		return err
	}
	w.observed = speaker.Observed{Nodes: w.nodes, Services: sharers, Speakers: w.speakers, Config: w.cfg}
	for _, s := range sharers {
		var l discoveryv1.EndpointSliceList
		if err := w.c.List(ctx, &l, client.InNamespace(s.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: s.Name}); err != nil {
			return fmt.Errorf("list the EndpointSlices of %s/%s: %w", s.Namespace, s.Name, err)
		}
		for i := range l.Items {
			w.observed.EndpointSlices = append(w.observed.EndpointSlices, &l.Items[i])
		}
	}
	return nil
}

// sharers returns svc and the Services that hold one of its addresses.
// Only Services with a sharing key (pylonlb.io/allow-shared-ip) share
// addresses, so a Service without one is alone and nothing else is read.
func (w *world) sharers(ctx context.Context) ([]*corev1.Service, error) {
	if w.svc.Annotations[v1alpha1.AnnotationSharing] == "" || len(w.svc.Status.LoadBalancer.Ingress) == 0 {
		return []*corev1.Service{w.svc}, nil
	}
	all, err := w.allServices(ctx)
	if err != nil {
		return nil, err
	}
	out := []*corev1.Service{w.svc}
	for _, s := range all {
		if s.UID != w.svc.UID && sharesAddress(s, w.svc) {
			out = append(out, s)
		}
	}
	return out, nil
}

func sharesAddress(a, b *corev1.Service) bool {
	for _, x := range a.Status.LoadBalancer.Ingress {
		for _, y := range b.Status.LoadBalancer.Ingress {
			if x.IP != "" && x.IP == y.IP {
				return true
			}
		}
	}
	return false
}

// allServices lists every Service of the cluster, in pages.
func (w *world) allServices(ctx context.Context) ([]*corev1.Service, error) {
	var out []*corev1.Service
	err := listPages(ctx, w.c, func() *corev1.ServiceList { return &corev1.ServiceList{} }, func(l *corev1.ServiceList) {
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	})
	if err != nil {
		return nil, fmt.Errorf("list Services: %w", err)
	}
	return out, nil
}

// readConfig reads pylon's resources and parses them as the speakers do.
// pylonctl reads no Secret: each password Secret key a BGPPeer names is
// given to config.Parse as a placeholder. Whether a peer's password works
// shows in its sessions, which the speakers report.
func readConfig(ctx context.Context, c client.Client, ns string) (*config.Config, error) {
	var pools v1alpha1.IPPoolList
	var l2 v1alpha1.L2AdvertisementList
	var peers v1alpha1.BGPPeerList
	var bgp v1alpha1.BGPAdvertisementList
	for _, l := range []client.ObjectList{&pools, &l2, &peers, &bgp} {
		if err := c.List(ctx, l); err != nil {
			return nil, fmt.Errorf("list %T: %w", l, err)
		}
	}
	return config.Parse(config.Resources{
		Pools: pools.Items, L2Advertisements: l2.Items, BGPPeers: peers.Items, BGPAdvertisements: bgp.Items,
		Secrets: placeholderSecrets(peers.Items, ns), Namespace: ns,
	}), nil
}

// placeholderSecrets stands in for the password Secrets the peers name:
// one Secret per name, with every key named.
func placeholderSecrets(peers []v1alpha1.BGPPeer, ns string) []corev1.Secret {
	byName := map[string]*corev1.Secret{}
	var out []*corev1.Secret
	for _, p := range peers {
		ref := p.Spec.PasswordSecretRef
		if ref == nil {
			continue
		}
		sns := cmp.Or(ref.Namespace, ns)
		s := byName[sns+"/"+ref.Name]
		if s == nil {
			s = &corev1.Secret{Data: map[string][]byte{}}
			s.Name, s.Namespace = ref.Name, sns
			byName[sns+"/"+ref.Name] = s
			out = append(out, s)
		}
		s.Data[cmp.Or(ref.Key, "password")] = []byte("placeholder")
	}
	secrets := make([]corev1.Secret, len(out))
	for i, s := range out {
		secrets[i] = *s
	}
	return secrets
}
