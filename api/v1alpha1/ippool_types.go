package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// AddressRange is one block of addresses in a pool: a CIDR such as
// "198.51.100.0/24" or "2001:db8:1::/64" (a single address is "/32" or
// "/128"), or an inclusive range of one family written "first-last", such as
// "198.51.100.10-198.51.100.20".
//
// The ordering rule compares the two ends bit by bit: for the first prefix
// length p at which they part, the first address must lie in the lower half of
// their common /p block. CEL has no ordering on IP values, so this is how the
// API server can check it for both families.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=90
// +kubebuilder:validation:XValidation:rule="self.contains('-') || isCIDR(self)",message="must be a CIDR such as 198.51.100.0/24 or 2001:db8::/64 (a single address is 198.51.100.7/32), or a range first-last such as 198.51.100.10-198.51.100.20"
// +kubebuilder:validation:XValidation:rule="self.contains('-') || !isCIDR(self) || cidr(self) == cidr(self).masked()",messageExpression="'the CIDR has host bits set; the block it names is ' + string(cidr(self).masked())"
// +kubebuilder:validation:XValidation:rule="!self.contains('-') || (self.split('-').size() == 2 && isIP(self.split('-')[0]) && isIP(self.split('-')[1]))",message="a range must be two IP addresses joined by '-' without spaces, such as 198.51.100.10-198.51.100.20"
// +kubebuilder:validation:XValidation:rule="!self.contains('-') || self.split('-').size() != 2 || !isIP(self.split('-')[0]) || !isIP(self.split('-')[1]) || ip(self.split('-')[0]).family() == ip(self.split('-')[1]).family()",message="both ends of a range must be of the same IP family"
// +kubebuilder:validation:XValidation:rule="!self.contains('-') || self.split('-').size() != 2 || !isIP(self.split('-')[0]) || !isIP(self.split('-')[1]) || ip(self.split('-')[0]).family() != ip(self.split('-')[1]).family() || cel.bind(a, self.split('-')[0], cel.bind(b, self.split('-')[1], cel.bind(bits, ip(a).family() == 4 ? 32 : 128, ip(a) == ip(b) || [0, 16, 32, 48, 64, 80, 96, 112].exists(h, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].exists(o, h + o < bits && cidr(a + '/' + string(h + o)).containsIP(b) && !cidr(a + '/' + string(h + o + 1)).containsIP(b) && cidr(string(cidr(a + '/' + string(h + o)).masked().ip()) + '/' + string(h + o + 1)).containsIP(a))))))",message="the first address of a range must not be greater than the last"
type AddressRange string

// IPPoolSpec says which addresses a pool holds and which Services may take
// them.
type IPPoolSpec struct {
	// Addresses are the blocks this pool hands out. IPv4 and IPv6 may be mixed
	// in one pool. Blocks must not overlap each other or another pool.
	//
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Addresses []AddressRange `json:"addresses"`

	// AutoAssign lets Services that name no pool get addresses from this one.
	// When false, only Services that ask for this pool by name (annotation
	// pylonlb.io/pool) or for one of its addresses use it.
	//
	// +optional
	// +kubebuilder:default=true
	AutoAssign *bool `json:"autoAssign,omitempty"`

	// AvoidBuggyIPs skips IPv4 addresses ending in .0 and .255, which some
	// old client stacks mistake for network or broadcast addresses.
	//
	// +optional
	AvoidBuggyIPs bool `json:"avoidBuggyIPs,omitempty"`

	// Allocation narrows which Services may take addresses from this pool and
	// in which order pools are tried.
	//
	// +optional
	Allocation *IPPoolAllocation `json:"allocation,omitempty"`
}

// IPPoolAllocation narrows which Services a pool serves.
type IPPoolAllocation struct {
	// Priority orders pools when a Service could take from several: lower
	// values are tried first, pools without a priority after all that have
	// one, and ties go by pool name.
	//
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000
	Priority *int32 `json:"priority,omitempty"`

	// Namespaces and NamespaceSelector, when either is set, limit the pool to
	// Services in a listed namespace or in a namespace whose labels match.
	//
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +listType=set
	Namespaces []string `json:"namespaces,omitempty"`

	// NamespaceSelector: see Namespaces.
	//
	// +optional
	NamespaceSelector *LabelSelector `json:"namespaceSelector,omitempty"`

	// ServiceSelector, when set, limits the pool to Services whose labels
	// match.
	//
	// +optional
	ServiceSelector *LabelSelector `json:"serviceSelector,omitempty"`
}

// AddressCounts counts one family's addresses in a pool. Totals are decimal
// strings because an IPv6 pool can hold more than an int64 counts.
type AddressCounts struct {
	// Total is the number of usable addresses in the pool.
	Total string `json:"total"`
	// Allocated is the number of addresses held by Services.
	Allocated int64 `json:"allocated"`
	// Available is Total minus Allocated.
	Available string `json:"available"`
}

// IPPoolStatus is written by the controller.
type IPPoolStatus struct {
	// ObservedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// IPv4 counts the pool's IPv4 addresses; absent when it has none.
	// +optional
	IPv4 *AddressCounts `json:"ipv4,omitempty"`
	// IPv6 counts the pool's IPv6 addresses; absent when it has none.
	// +optional
	IPv6 *AddressCounts `json:"ipv6,omitempty"`
	// Allocated is the number of addresses held, both families together.
	// +optional
	Allocated int64 `json:"allocated,omitempty"`
	// Available is the number of addresses free, both families together, as
	// a decimal string.
	// +optional
	Available string `json:"available,omitempty"`
	// Conditions: Ready, Overlapping, Invalid.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// IPPool is a set of addresses that the controller hands out to Services of
// type LoadBalancer.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ipp,categories=pylon
// +kubebuilder:printcolumn:name="Addresses",type=string,JSONPath=`.spec.addresses`
// +kubebuilder:printcolumn:name="Auto-Assign",type=boolean,JSONPath=`.spec.autoAssign`
// +kubebuilder:printcolumn:name="Allocated",type=integer,JSONPath=`.status.allocated`
// +kubebuilder:printcolumn:name="Available",type=string,JSONPath=`.status.available`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Priority",type=integer,JSONPath=`.spec.allocation.priority`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type IPPool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec IPPoolSpec `json:"spec"`
	// +optional
	Status IPPoolStatus `json:"status,omitempty"`
}

// IPPoolList is a list of IPPools.
//
// +kubebuilder:object:root=true
type IPPoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []IPPool `json:"items"`
}
