package config

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// parseSelector turns an optional selector into labels.Selector: nil when
// unset.
func parseSelector(s *v1alpha1.LabelSelector, path *field.Path) (labels.Selector, *field.Error) {
	if s == nil {
		return nil, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(s.AsMetav1())
	if err != nil {
		return nil, field.Invalid(path, metav1.FormatLabelSelector(s.AsMetav1()), err.Error())
	}
	return sel, nil
}

// parseNodeSelector is parseSelector where unset means every node.
func parseNodeSelector(s *v1alpha1.LabelSelector, path *field.Path) (labels.Selector, *field.Error) {
	sel, err := parseSelector(s, path)
	if sel == nil && err == nil {
		sel = labels.Everything()
	}
	return sel, err
}

// parseServiceSelectors parses an advertisement's serviceSelectors; nil
// when there are none.
func parseServiceSelectors(in []v1alpha1.LabelSelector, path *field.Path) ([]labels.Selector, field.ErrorList) {
	var out []labels.Selector
	var errs field.ErrorList
	for i := range in {
		sel, err := parseSelector(&in[i], path.Index(i))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, sel)
	}
	return out, errs
}
