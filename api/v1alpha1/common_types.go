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
// they need and the syntax of matchLabels keys, which a plain
// metav1.LabelSelector in a custom resource does not get. The syntax of
// matchExpressions keys and of matchLabels values is checked by pylon (the
// object's Invalid condition names the field), not by the API server.
//
// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist'])",message="matchExpressions[].operator must be one of In, NotIn, Exists, DoesNotExist",fieldPath=".matchExpressions"
// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, (e.operator in ['In', 'NotIn']) == (has(e.values) && size(e.values) > 0))",message="matchExpressions[].values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist",fieldPath=".matchExpressions"
// +kubebuilder:validation:XValidation:rule="!has(self.matchLabels) || self.matchLabels.all(k, k.matches('^([a-z0-9][-a-z0-9.]*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$'))",message="matchLabels keys must be label keys: an optional DNS prefix and '/', then up to 63 letters, digits, '-', '_' or '.'",fieldPath=".matchLabels"
type LabelSelector struct {
	metav1.LabelSelector `json:",inline"`
}

// Why the API server checks less of a LabelSelector than it could: CEL rules
// are refused when their estimated cost is too high, and the estimate of a
// regex check on a string without maxLength, in a list or map without
// maxItems, is unbounded. metav1.LabelSelector declares no bounds, so only
// matchLabels keys (whose size the estimator bounds) are matched against a
// pattern, a short one that leaves the DNS prefix loosely checked. Declaring
// our own bounded fields instead of embedding metav1.LabelSelector would let
// the API server check all of it.

// ObjectName is the name of another pylon object (an IPPool or a BGPPeer).
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
type ObjectName string
