package config

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// What Parse keeps when a newer generation is rejected.
//
// Every object in the model remembers the version it came from (its UID,
// generation and spec). When Parse rejects an object, the last accepted
// version of it is looked up, in Resources.Last (what the caller had in
// force) and in the object's own status.inForce (what the controller
// recorded, for components that have just started), and the newer of the
// two is parsed in its place: the object stays in the model as it was, and
// its Problem says which generation is rejected and which stays in force.
//
// An object whose spec did not change can also be rejected because of
// another object's edit: an IPPool edit that breaks a BGPAdvertisement's
// aggregation, or an edit that makes an older BGPPeer describe a newer one's
// session. Then the edit is what is rejected: the edited object keeps its
// last accepted generation and carries the Problem, and the unchanged object
// keeps working.

// objKey names one object of one kind.
type objKey struct {
	kind Kind
	name string
}

// source is the version of an object that the model holds.
type source struct {
	uid        types.UID
	generation int64
	// spec is the kind's spec type (v1alpha1.IPPoolSpec, ...) as a value.
	spec any
}

// blame names another object whose edit may be the cause of a problem, and
// the field of it that is concerned.
type blame struct {
	key  objKey
	path *field.Path
}

// keep is a substitution: key's last accepted version, parsed in place of
// the rejected current one, and the Problem that says so.
type keep struct {
	src     source
	problem Problem
}

// InForce returns the generation of an object that the model holds and a
// copy of its spec, as status.inForce records it; false when the object is
// not in the model.
func (c *Config) InForce(kind Kind, name string) (*v1alpha1.InForce, bool) {
	s, ok := c.sources[objKey{kind, name}]
	if !ok {
		return nil, false
	}
	raw, err := json.Marshal(s.spec)
	if err != nil {
		return nil, false // the spec types always marshal
	}
	return &v1alpha1.InForce{Generation: s.generation, Spec: runtime.RawExtension{Raw: raw}}, true
}

// keepAccepted runs after a first parse of res that gave cfg: it parses the
// last accepted version of each rejected object in its place, and returns
// the final Config and the resources it was parsed from.
func keepAccepted(res Resources, cfg *Config) (*Config, Resources) {
	objs := index(res)
	kept := chooseKept(res.Last, objs, cfg.Problems)
	for len(kept) > 0 {
		sub := substitute(res, kept)
		next := parseOnce(sub)
		failed := false
		for k := range kept {
			if next.rejected(k) {
				delete(kept, k) // its old version does not fit either: leave it out
				failed = true
			}
		}
		if failed {
			continue
		}
		for _, k := range kept {
			next.Problems = append(next.Problems, k.problem)
		}
		return next, sub
	}
	return cfg, res
}

// chooseKept picks, for each rejected object, the version to parse instead.
func chooseKept(last *Config, objs map[objKey]object, problems []Problem) map[objKey]keep {
	kept := map[objKey]keep{}
	for _, pr := range problems {
		if !pr.Rejected {
			continue
		}
		key := objKey{pr.Kind, pr.Name}
		cur, ok := objs[key]
		if !ok {
			continue
		}
		prev, ok := previous(last, key, cur)
		if !ok {
			continue
		}
		if prev.generation != cur.generation {
			pr.KeptGeneration = prev.generation
			kept[key] = keep{src: prev, problem: pr}
			continue
		}
		// Unchanged and rejected now: the edit of another object is the
		// cause. Reject that edit instead, where it has an older version.
		for _, b := range pr.blames {
			bcur, ok := objs[b.key]
			if !ok {
				continue
			}
			bprev, ok := previous(last, b.key, bcur)
			if !ok || bprev.generation == bcur.generation {
				continue
			}
			if _, done := kept[b.key]; done {
				continue
			}
			kept[b.key] = keep{src: bprev, problem: Problem{
				Kind: b.key.kind, Name: b.key.name, Reason: pr.Reason, Rejected: true, KeptGeneration: bprev.generation,
				Errors: field.ErrorList{field.Forbidden(b.path, fmt.Sprintf("this change would make %s %s invalid (%s)", pr.Kind, pr.Name, pr.Message()))},
			}}
		}
	}
	return kept
}

// previous returns the newest accepted version of an object: from the
// configuration the caller had (same UID) or from its status.inForce.
func previous(last *Config, key objKey, cur object) (source, bool) {
	var best source
	found := false
	if last != nil {
		if s, ok := last.sources[key]; ok && s.uid == cur.uid {
			best, found = s, true
		}
	}
	if in := cur.inForce; in != nil && (!found || in.Generation > best.generation) {
		if spec, err := cur.decode(in.Spec.Raw); err == nil {
			best, found = source{uid: cur.uid, generation: in.Generation, spec: spec}, true
		}
	}
	return best, found
}

// object is what keep needs of one object in Resources.
type object struct {
	uid        types.UID
	generation int64
	inForce    *v1alpha1.InForce
	decode     func([]byte) (any, error)
}

func decodeAs[T any](raw []byte) (any, error) {
	var spec T
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, err
	}
	return spec, nil
}

// index lists every object of res by kind and name.
func index(res Resources) map[objKey]object {
	out := map[objKey]object{}
	for _, o := range res.Pools {
		out[objKey{KindIPPool, o.Name}] = object{o.UID, o.Generation, o.Status.InForce, decodeAs[v1alpha1.IPPoolSpec]}
	}
	for _, o := range res.L2Advertisements {
		out[objKey{KindL2Advertisement, o.Name}] = object{o.UID, o.Generation, o.Status.InForce, decodeAs[v1alpha1.L2AdvertisementSpec]}
	}
	for _, o := range res.BGPPeers {
		out[objKey{KindBGPPeer, o.Name}] = object{o.UID, o.Generation, o.Status.InForce, decodeAs[v1alpha1.BGPPeerSpec]}
	}
	for _, o := range res.BGPAdvertisements {
		out[objKey{KindBGPAdvertisement, o.Name}] = object{o.UID, o.Generation, o.Status.InForce, decodeAs[v1alpha1.BGPAdvertisementSpec]}
	}
	return out
}

// substitute returns res with each kept object's spec and generation
// replaced by its kept version. res's slices are not changed.
func substitute(res Resources, kept map[objKey]keep) Resources {
	res.Pools = substituteIn(res.Pools, KindIPPool, kept, func(o *v1alpha1.IPPool, s source) {
		o.Generation, o.Spec = s.generation, s.spec.(v1alpha1.IPPoolSpec)
	})
	res.L2Advertisements = substituteIn(res.L2Advertisements, KindL2Advertisement, kept, func(o *v1alpha1.L2Advertisement, s source) {
		o.Generation, o.Spec = s.generation, s.spec.(v1alpha1.L2AdvertisementSpec)
	})
	res.BGPPeers = substituteIn(res.BGPPeers, KindBGPPeer, kept, func(o *v1alpha1.BGPPeer, s source) {
		o.Generation, o.Spec = s.generation, s.spec.(v1alpha1.BGPPeerSpec)
	})
	res.BGPAdvertisements = substituteIn(res.BGPAdvertisements, KindBGPAdvertisement, kept, func(o *v1alpha1.BGPAdvertisement, s source) {
		o.Generation, o.Spec = s.generation, s.spec.(v1alpha1.BGPAdvertisementSpec)
	})
	return res
}

type named interface{ GetName() string }

func substituteIn[T any, PT interface {
	*T
	named
}](items []T, kind Kind, kept map[objKey]keep, set func(PT, source)) []T {
	out := make([]T, len(items))
	copy(out, items)
	for i := range out {
		if k, ok := kept[objKey{kind, PT(&out[i]).GetName()}]; ok {
			set(PT(&out[i]), k.src)
		}
	}
	return out
}

// record notes, for every object of res in the model, the version it came
// from.
func (c *Config) record(res Resources) {
	c.sources = map[objKey]source{}
	add := func(kind Kind, name string, uid types.UID, gen int64, spec any) {
		key := objKey{kind, name}
		if !c.rejected(key) {
			c.sources[key] = source{uid: uid, generation: gen, spec: spec}
		}
	}
	for _, o := range res.Pools {
		add(KindIPPool, o.Name, o.UID, o.Generation, o.Spec)
	}
	for _, o := range res.L2Advertisements {
		add(KindL2Advertisement, o.Name, o.UID, o.Generation, o.Spec)
	}
	for _, o := range res.BGPPeers {
		add(KindBGPPeer, o.Name, o.UID, o.Generation, o.Spec)
	}
	for _, o := range res.BGPAdvertisements {
		add(KindBGPAdvertisement, o.Name, o.UID, o.Generation, o.Spec)
	}
}

// rejected reports whether key was left out of the model.
func (c *Config) rejected(key objKey) bool {
	for _, p := range c.Problems {
		if p.Kind == key.kind && p.Name == key.name && p.Rejected && p.KeptGeneration == 0 {
			return true
		}
	}
	return false
}
