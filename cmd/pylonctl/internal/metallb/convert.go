package metallb

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/cmd/pylonctl/internal/manifests"
	"github.com/pylonlb/pylon/config"
)

// Options tune the conversion.
type Options struct {
	// PylonNamespace is the namespace pylon runs in: password Secrets are
	// written there, the only namespace pylon's speakers read Secrets from.
	PylonNamespace string
	// Class is the spec.loadBalancerClass of the Services MetalLB serves
	// (its --lb-class); "" for Services that set none, MetalLB's default.
	Class string
}

// Result is the converted configuration and what became of each object.
type Result struct {
	// Resources are the pylon objects and the Secrets they reference, as
	// config.Parse takes them (Namespace is Options.PylonNamespace).
	Resources config.Resources
	// Outcomes, one per MetalLB object (and per Secret copied), sorted by
	// kind, namespace and name.
	Outcomes []Outcome
	// Services lists the Services MetalLB serves that need a change or
	// have something to say, sorted by namespace and name.
	Services []ServiceChange
}

// Exact reports whether nothing was lost: no note says Unmapped or
// Invalid, on an object or on a Service.
func (r *Result) Exact() bool {
	for _, o := range r.Outcomes {
		if lossy(o.Notes) {
			return false
		}
	}
	for _, s := range r.Services {
		if lossy(s.Notes) {
			return false
		}
	}
	return true
}

func lossy(notes []Note) bool {
	return slices.ContainsFunc(notes, func(n Note) bool { return n.Verdict == Unmapped || n.Verdict == Invalid })
}

// source is one MetalLB object read.
type source struct {
	ref     Ref
	version string
	obj     map[string]any
	labels  map[string]string
	out     *Outcome
	track   *tracker
}

// converter carries the conversion's state.
type converter struct {
	opts Options
	res  *Result

	byKind      map[string][]*source
	secrets     map[string]corev1.Secret // namespace/name
	services    []corev1.Service
	namespaces  []corev1.Namespace
	nsKnown     bool
	communities map[string]string // alias → value
	// peerNames maps a MetalLB BGPPeer's name to the pylon BGPPeers made
	// from it (several when its node selectors had to be split).
	peerNames map[string][]string
	// made maps "Kind name" of each pylon object to the outcome of the
	// object it came from.
	made map[string]*Outcome
	// bfd holds the BFDProfiles by namespace/name (readBFDProfiles).
	bfd map[string]*bfdProfile
}

// Convert converts the MetalLB objects among objs. It also reads the
// Secrets named by BGPPeers' passwordSecret, the Services (for their
// annotations) and Namespaces (to resolve namespace selectors that pylon
// cannot express); other objects are ignored, other metallb.io kinds
// reported.
func Convert(objs []manifests.Object, opts Options) *Result {
	c := &converter{
		opts: opts, res: &Result{Resources: config.Resources{Namespace: opts.PylonNamespace}},
		byKind: map[string][]*source{}, secrets: map[string]corev1.Secret{}, communities: map[string]string{},
		peerNames: map[string][]string{}, made: map[string]*Outcome{},
	}
	c.sort(objs)
	c.convertCommunities()
	c.convertPools()
	c.readBFDProfiles()
	c.convertPeers()
	c.reportBFDProfiles()
	c.convertL2Advertisements()
	c.convertBGPAdvertisements()
	c.convertServices()
	c.validate()

	for _, list := range c.byKind {
		for _, s := range list {
			c.reportMetadata(s)
			s.track.finish()
			c.res.Outcomes = append(c.res.Outcomes, *s.out)
		}
	}
	slices.SortStableFunc(c.res.Outcomes, func(a, b Outcome) int { return compareRefs(a.Source, b.Source) })
	r := &c.res.Resources
	slices.SortFunc(r.Pools, func(a, b v1alpha1.IPPool) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(r.L2Advertisements, func(a, b v1alpha1.L2Advertisement) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(r.BGPPeers, func(a, b v1alpha1.BGPPeer) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(r.BGPAdvertisements, func(a, b v1alpha1.BGPAdvertisement) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(r.Secrets, func(a, b corev1.Secret) int { return cmp.Compare(a.Name, b.Name) })
	return c.res
}

// sort files the objects read by kind. MetalLB's own status kinds and
// metallb.io kinds this package does not know get an outcome that says so.
func (c *converter) sort(objs []manifests.Object) {
	defer c.order()
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		switch {
		case gvk.Group == Group:
			c.addMetalLB(o, gvk)
		case strings.HasSuffix(gvk.Group, "."+Group):
			out := &Outcome{Source: Ref{Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}}
			out.note("", Unmapped, "%s belongs to a MetalLB companion (%s), which pylon has no equivalent of; not converted", gvk.Kind, gvk.Group)
			c.res.Outcomes = append(c.res.Outcomes, *out)
		case gvk == corev1.SchemeGroupVersion.WithKind("Secret"):
			var s corev1.Secret
			if decodeInto(o.Object, &s) == nil {
				for k, v := range s.StringData {
					if s.Data == nil {
						s.Data = map[string][]byte{}
					}
					s.Data[k] = []byte(v)
				}
				c.secrets[s.Namespace+"/"+s.Name] = s
			}
		case gvk == corev1.SchemeGroupVersion.WithKind("Service"):
			var s corev1.Service
			if decodeInto(o.Object, &s) == nil {
				c.services = append(c.services, s)
			}
		case gvk == corev1.SchemeGroupVersion.WithKind("Namespace"):
			var n corev1.Namespace
			if decodeInto(o.Object, &n) == nil {
				c.namespaces = append(c.namespaces, n)
				c.nsKnown = true
			}
		case gvk == corev1.SchemeGroupVersion.WithKind("ConfigMap") && isLegacyConfig(o.Object):
			ref := Ref{Kind: "ConfigMap", Namespace: o.GetNamespace(), Name: o.GetName()}
			out := &Outcome{Source: ref}
			out.note("data.config", Unmapped, "MetalLB's configuration file of before v0.13 is not read: convert it to MetalLB's custom resources first (MetalLB's configmaptocrs), then convert those")
			c.res.Outcomes = append(c.res.Outcomes, *out)
		}
	}
}

func (c *converter) addMetalLB(o manifests.Object, gvk schema.GroupVersionKind) {
	ref := Ref{Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}
	out := &Outcome{Source: ref}
	switch gvk.Kind {
	case KindIPAddressPool, KindL2Advertisement, KindBGPAdvertisement, KindBGPPeer, KindCommunity, KindBFDProfile:
	default:
		if isStatusKind(gvk.Kind) {
			return // MetalLB's own status, no configuration
		}
		out.note("", Unmapped, "%s is not a MetalLB configuration kind pylonctl knows; not converted", gvk.GroupKind())
		c.res.Outcomes = append(c.res.Outcomes, *out)
		return
	}
	s := &source{ref: ref, version: gvk.Version, obj: o.Object, labels: o.GetLabels(), out: out}
	s.track = newTracker(o.Object, out)
	c.byKind[gvk.Kind] = append(c.byKind[gvk.Kind], s)
}

// order sorts each kind's objects by namespace and name, so that the same
// objects in another order convert the same where the first of two wins (a
// duplicate alias, a name made twice), and sets aside the second of two
// objects of one kind and name: pylon's objects have no namespace.
func (c *converter) order() {
	for kind, list := range c.byKind {
		slices.SortStableFunc(list, func(a, b *source) int { return compareRefs(a.ref, b.ref) })
		var keep []*source
		for _, s := range list {
			if i := slices.IndexFunc(keep, func(k *source) bool { return k.ref.Name == s.ref.Name }); i >= 0 {
				s.out.note("", Unmapped, "%s %s was read from namespace %q too: pylon's objects have no namespace, so only that one is converted", kind, s.ref.Name, keep[i].ref.Namespace)
				c.res.Outcomes = append(c.res.Outcomes, *s.out)
				continue
			}
			keep = append(keep, s)
		}
		c.byKind[kind] = keep
	}
}

// isLegacyConfig reports whether a ConfigMap looks like MetalLB's
// configuration file of before v0.13.
func isLegacyConfig(obj map[string]any) bool {
	data, _ := obj["data"].(map[string]any)
	text, _ := data["config"].(string)
	return strings.Contains(text, "address-pools")
}

// spec decodes s's spec into v. A spec that does not decode (a field of
// the wrong type) is reported and the object is not converted.
func (c *converter) spec(s *source, v any) bool {
	if err := decodeInto(s.obj["spec"], v); err != nil {
		s.out.note("spec", Unmapped, "does not decode as MetalLB's %s: %v; not converted", s.ref.Kind, err)
		s.track.use("spec")
		return false
	}
	return true
}

func decodeInto(in, v any) error {
	if in == nil {
		return nil
	}
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// claim records that s makes the pylon object "Kind name"; false (and a
// note) when another object made it already.
func (c *converter) claim(s *source, kind, name string) bool {
	key := kind + " " + name
	if prev, ok := c.made[key]; ok {
		s.out.note("", Unmapped, "would make %s, which %s made already; not converted", key, prev.Source)
		return false
	}
	c.made[key] = s.out
	s.out.Targets = append(s.out.Targets, key)
	return true
}

// meta is the metadata of a pylon object made from s: the name given and
// s's labels (advertisements select pools by label).
func meta(s *source, name string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: name}
	if len(s.labels) > 0 {
		m.Labels = maps.Clone(s.labels)
	}
	return m
}

func (c *converter) reportMetadata(s *source) {
	md, _ := s.obj["metadata"].(map[string]any)
	m, _ := md["annotations"].(map[string]any)
	var keys []string
	for k := range m {
		if k != "kubectl.kubernetes.io/last-applied-configuration" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) > 0 {
		s.out.note("metadata.annotations", Changed, "%s: annotations are not copied to pylon's objects (labels are)", strings.Join(keys, ", "))
	}
}

// plural writes "1 pool" or "2 pools".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
