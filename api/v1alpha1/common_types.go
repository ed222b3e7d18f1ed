package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Condition types that pylon sets on its resources' status.
const (
	// ConditionReady is True when the object is valid and in use.
	ConditionReady = "Ready"
	// ConditionInvalid is True when the object, or something it names, is
	// wrong; the message says which field.
	ConditionInvalid = "Invalid"
	// ConditionOverlapping is True on an IPPool whose addresses overlap an
	// older pool's: no new address is given out from it.
	ConditionOverlapping = "Overlapping"
)

// LabelSelector is a Kubernetes label selector (matchLabels and
// matchExpressions, ANDed). The API server checks the operators, the values
// they need and the syntax of keys and values, which a plain
// metav1.LabelSelector in a custom resource does not get.
//
// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist'])",message="matchExpressions[].operator must be one of In, NotIn, Exists, DoesNotExist",fieldPath=".matchExpressions"
// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, (e.operator in ['In', 'NotIn']) == (has(e.values) && size(e.values) > 0))",message="matchExpressions[].values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist",fieldPath=".matchExpressions"
// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.key.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$'))",message="matchExpressions[].key must be a label key: an optional DNS prefix and '/', then up to 63 letters, digits, '-', '_' or '.'",fieldPath=".matchExpressions"
// +kubebuilder:validation:XValidation:rule="!has(self.matchLabels) || self.matchLabels.all(k, k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$'))",message="matchLabels keys must be label keys: an optional DNS prefix and '/', then up to 63 letters, digits, '-', '_' or '.'",fieldPath=".matchLabels"
// +kubebuilder:validation:XValidation:rule="!has(self.matchLabels) || self.matchLabels.all(k, self.matchLabels[k].matches('^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$'))",message="matchLabels values must be label values: empty, or up to 63 letters, digits, '-', '_' or '.' that begin and end with a letter or digit",fieldPath=".matchLabels"
type LabelSelector struct {
	metav1.LabelSelector `json:",inline"`
}

// ObjectName is the name of another pylon object (an IPPool or a BGPPeer).
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
type ObjectName string
