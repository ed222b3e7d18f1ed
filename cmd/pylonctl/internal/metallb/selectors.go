package metallb

import (
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// MetalLB takes lists of label selectors where pylon takes one: an object
// matches the list when it matches any selector in it, and an empty list
// matches everything. These functions turn such a list into pylon's form.

// selector converts one Kubernetes label selector to pylon's.
func selector(s metav1.LabelSelector) *v1alpha1.LabelSelector {
	out := &v1alpha1.LabelSelector{}
	for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
		if out.MatchLabels == nil {
			out.MatchLabels = map[string]v1alpha1.LabelValue{}
		}
		out.MatchLabels[k] = v1alpha1.LabelValue(s.MatchLabels[k])
	}
	for _, e := range s.MatchExpressions {
		r := v1alpha1.LabelSelectorRequirement{Key: v1alpha1.LabelKey(e.Key), Operator: e.Operator}
		for _, v := range e.Values {
			r.Values = append(r.Values, v1alpha1.LabelValue(v))
		}
		out.MatchExpressions = append(out.MatchExpressions, r)
	}
	return out
}

// anyOf returns one selector that matches exactly what any selector of sels
// matches, and true; nil and true means everything (an empty list, or one
// empty selector in it). It returns false when no single selector can say
// it: only lists whose selectors each require one key, the same key, to
// take one of a set of values (matchLabels k: v, or k In [...]) merge, into
// k In (the union).
func anyOf(sels []metav1.LabelSelector) (*v1alpha1.LabelSelector, bool) {
	for _, s := range sels {
		if len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
			return nil, true
		}
	}
	switch len(sels) {
	case 0:
		return nil, true
	case 1:
		return selector(sels[0]), true
	}
	var key string
	var values []string
	for i, s := range sels {
		k, vs, ok := oneKeyIn(s)
		if !ok || (i > 0 && k != key) {
			return nil, false
		}
		key = k
		values = append(values, vs...)
	}
	slices.Sort(values)
	values = slices.Compact(values)
	r := v1alpha1.LabelSelectorRequirement{Key: v1alpha1.LabelKey(key), Operator: metav1.LabelSelectorOpIn}
	for _, v := range values {
		r.Values = append(r.Values, v1alpha1.LabelValue(v))
	}
	return &v1alpha1.LabelSelector{MatchExpressions: []v1alpha1.LabelSelectorRequirement{r}}, true
}

// oneKeyIn reports whether s requires exactly one key to take one of a set
// of values, and which.
func oneKeyIn(s metav1.LabelSelector) (string, []string, bool) {
	switch {
	case len(s.MatchLabels) == 1 && len(s.MatchExpressions) == 0:
		k := slices.Collect(maps.Keys(s.MatchLabels))[0]
		return k, []string{s.MatchLabels[k]}, true
	case len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 1:
		e := s.MatchExpressions[0]
		if e.Operator == metav1.LabelSelectorOpIn && len(e.Values) > 0 {
			return e.Key, e.Values, true
		}
	}
	return "", nil, false
}

// eachOf returns pylon selectors whose union matches what the list
// matches: one (see anyOf) when that is exact, else one per selector. It
// never returns an empty slice; a nil element means everything.
func eachOf(sels []metav1.LabelSelector) []*v1alpha1.LabelSelector {
	if one, ok := anyOf(sels); ok {
		return []*v1alpha1.LabelSelector{one}
	}
	out := make([]*v1alpha1.LabelSelector, len(sels))
	for i, s := range sels {
		out[i] = selector(s)
	}
	return out
}
