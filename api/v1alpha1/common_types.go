package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

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
	// ConditionUnsafeAddresses is True on an IPPool that holds addresses
	// pylon never hands out (a Node's address, a pod or Service CIDR, a
	// special range such as loopback); the message lists each block and why.
	// Only those addresses are skipped: the rest of the pool is in use.
	ConditionUnsafeAddresses = "UnsafeAddresses"
)

// LabelVersion is the label with which pylon's components say which build
// they run: each speaker on its SpeakerStatus, the controller on its leader
// election Lease (written by the replica that holds the lease). The value
// is the build's version (v0.1.0, or the module version the toolchain
// recorded) made a label value: characters a label value cannot hold
// become '_', it is cut to 63 characters and loses non-alphanumeric ends
// ("(devel)" is "devel").
const LabelVersion = "pylonlb.io/version"

// ControllerLease is the name of the Lease the controller's replicas elect
// their leader with, in the namespace pylon runs in; pylonctl reads the
// leader and its version from it.
const ControllerLease = "pylon-controller.pylonlb.io"

// InForce records which generation of an object's spec pylon's components
// use, with a copy of that spec. It equals the current generation while the
// spec is accepted; while a newer generation is rejected it stays at the last
// accepted one (condition Ready=False says why), and a controller or speaker
// that starts then uses this copy, so a rejected edit never takes away what
// was in force. The copy is the spec as it was accepted: the API server does
// not check it again, pylon's own validation does.
type InForce struct {
	// Generation is the generation of the spec in force.
	Generation int64 `json:"generation"`
	// Spec is that generation's spec.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Spec runtime.RawExtension `json:"spec"`
}

// LabelSelector is a Kubernetes label selector: every matchLabels pair and
// every matchExpressions requirement must hold. It has the fields and meaning
// of metav1.LabelSelector, but declares bounds (at most 64 labels and 32
// requirements of 64 values) so that the API server can afford to check every
// key, value and operator: CEL rules whose estimated cost is unbounded are
// refused, and metav1.LabelSelector declares no bounds.
type LabelSelector struct {
	// MatchLabels: each key must have exactly this value.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$') && (!k.contains('/') || k.split('/')[0].size() <= 253))",message="keys must be label keys: an optional DNS subdomain prefix and '/', then 1 to 63 letters, digits, '-', '_' or '.' that begin and end with a letter or digit"
	MatchLabels map[string]LabelValue `json:"matchLabels,omitempty"`

	// MatchExpressions: each requirement must hold.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is one requirement of a LabelSelector.
//
// +kubebuilder:validation:XValidation:rule="(self.operator in ['In', 'NotIn']) == (has(self.values) && size(self.values) > 0)",message="values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist",fieldPath=".values"
type LabelSelectorRequirement struct {
	// Key is the label key the requirement applies to.
	// +required
	Key LabelKey `json:"key"`
	// Operator is In, NotIn, Exists or DoesNotExist.
	// +required
	// +kubebuilder:validation:Enum=In;NotIn;Exists;DoesNotExist
	Operator metav1.LabelSelectorOperator `json:"operator"`
	// Values for In and NotIn; empty for Exists and DoesNotExist.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Values []LabelValue `json:"values,omitempty"`
}

// LabelKey is a label key: an optional DNS subdomain prefix and '/', then a
// name of 1 to 63 characters.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=317
// +kubebuilder:validation:XValidation:rule="self.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$') && (!self.contains('/') || self.split('/')[0].size() <= 253)",message="must be a label key: an optional DNS subdomain prefix and '/', then 1 to 63 letters, digits, '-', '_' or '.' that begin and end with a letter or digit"
type LabelKey string

// LabelValue is a label value: empty, or 1 to 63 letters, digits, '-', '_'
// or '.' that begin and end with a letter or digit.
//
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:XValidation:rule="self.matches('^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$')",message="must be a label value: empty, or up to 63 letters, digits, '-', '_' or '.' that begin and end with a letter or digit"
type LabelValue string

// AsMetav1 returns the selector as the Kubernetes libraries take it.
func (s *LabelSelector) AsMetav1() *metav1.LabelSelector {
	if s == nil {
		return nil
	}
	out := &metav1.LabelSelector{}
	for k, v := range s.MatchLabels {
		if out.MatchLabels == nil {
			out.MatchLabels = map[string]string{}
		}
		out.MatchLabels[k] = string(v)
	}
	for _, e := range s.MatchExpressions {
		r := metav1.LabelSelectorRequirement{Key: string(e.Key), Operator: e.Operator}
		for _, v := range e.Values {
			r.Values = append(r.Values, string(v))
		}
		out.MatchExpressions = append(out.MatchExpressions, r)
	}
	return out
}

// ObjectName is the name of another pylon object (an IPPool or a BGPPeer).
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
type ObjectName string
