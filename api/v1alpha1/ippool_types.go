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
// +kubebuilder:validation:XValidation:rule="self.contains('-') || !isCIDR(self) || cidr(self) == cidr(self).masked()",messageExpression="'the CIDR has host bits set; the block it names is %s'.format([string(cidr(self).masked())])"
// +kubebuilder:validation:XValidation:rule="!self.contains('-') || (self.split('-').size() == 2 && isIP(self.split('-')[0]) && isIP(self.split('-')[1]))",message="a range must be two IP addresses joined by '-' without spaces, such as 198.51.100.10-198.51.100.20"
// +kubebuilder:validation:XValidation:rule="!self.contains('-') || self.split('-').size() != 2 || !isIP(self.split('-')[0]) || !isIP(self.split('-')[1]) || ip(self.split('-')[0]).family() == ip(self.split('-')[1]).family()",message="both ends of a range must be of the same IP family"
// +kubebuilder:validation:XValidation:rule="!self.contains('-') || self.split('-').size() != 2 || !isIP(self.split('-')[0]) || !isIP(self.split('-')[1]) || ip(self.split('-')[0]).family() != ip(self.split('-')[1]).family() || [self.split('-')[0]].all(a, [self.split('-')[1]].all(b, ip(a) == ip(b) || {'0': '1', '1': '2', '2': '3', '3': '4', '4': '5', '5': '6', '6': '7', '7': '8', '8': '9', '9': '10', '10': '11', '11': '12', '12': '13', '13': '14', '14': '15', '15': '16', '16': '17', '17': '18', '18': '19', '19': '20', '20': '21', '21': '22', '22': '23', '23': '24', '24': '25', '25': '26', '26': '27', '27': '28', '28': '29', '29': '30', '30': '31', '31': '32', '32': '33', '33': '34', '34': '35', '35': '36', '36': '37', '37': '38', '38': '39', '39': '40', '40': '41', '41': '42', '42': '43', '43': '44', '44': '45', '45': '46', '46': '47', '47': '48', '48': '49', '49': '50', '50': '51', '51': '52', '52': '53', '53': '54', '54': '55', '55': '56', '56': '57', '57': '58', '58': '59', '59': '60', '60': '61', '61': '62', '62': '63', '63': '64', '64': '65', '65': '66', '66': '67', '67': '68', '68': '69', '69': '70', '70': '71', '71': '72', '72': '73', '73': '74', '74': '75', '75': '76', '76': '77', '77': '78', '78': '79', '79': '80', '80': '81', '81': '82', '82': '83', '83': '84', '84': '85', '85': '86', '86': '87', '87': '88', '88': '89', '89': '90', '90': '91', '91': '92', '92': '93', '93': '94', '94': '95', '95': '96', '96': '97', '97': '98', '98': '99', '99': '100', '100': '101', '101': '102', '102': '103', '103': '104', '104': '105', '105': '106', '106': '107', '107': '108', '108': '109', '109': '110', '110': '111', '111': '112', '112': '113', '113': '114', '114': '115', '115': '116', '116': '117', '117': '118', '118': '119', '119': '120', '120': '121', '121': '122', '122': '123', '123': '124', '124': '125', '125': '126', '126': '127', '127': '128'}.exists(p, q, int(p) < (ip(a).family() == 4 ? 32 : 128) && cidr(a + '/' + p).containsIP(b) && !cidr(a + '/' + q).containsIP(b) && cidr(a + '/' + q).containsIP(cidr(a + '/' + p).masked().ip()))))",message="the first address of a range must not be greater than the last"
type AddressRange string

// How the AddressRange rules fit the API server's CEL: it has no cel.bind, so
// the ordering rule binds the two ends with one-element lists
// ([x].all(a, ...)); and the cost estimate knows no size for string(int),
// string(ip) or string(cidr), so prefix lengths come from a literal map of
// p to p+1, the lower half is tested with containsIP on an ip value, and the
// host-bits message goes through format(), whose cost is that of its literal.
// test/apivalidation checks both families' ordering bit by bit.

// IPPoolSpec says which addresses a pool holds and which Services may take
// them.
type IPPoolSpec struct {
	// Addresses are the blocks this pool hands out. IPv4 and IPv6 may be mixed
	// in one pool. Blocks must not overlap each other or another pool. The
	// API server refuses a block listed twice, a CIDR inside another and a
	// range with an end inside a CIDR; pylon's own validation also refuses
	// ranges that overlap each other (the pool's last accepted version then
	// stays in force).
	//
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	// +kubebuilder:validation:XValidation:rule="self.all(a, !isCIDR(a) || self.all(b, a == b || !isCIDR(b) || !cidr(a).containsCIDR(cidr(b))))",message="blocks of one pool must not overlap: a CIDR lies inside another"
	// +kubebuilder:validation:XValidation:rule="self.all(a, !a.contains('-') || a.split('-').size() != 2 || !isIP(a.split('-')[0]) || !isIP(a.split('-')[1]) || self.all(b, !isCIDR(b) || (!cidr(b).containsIP(a.split('-')[0]) && !cidr(b).containsIP(a.split('-')[1]))))",message="blocks of one pool must not overlap: an end of a range lies inside a CIDR"
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

	// AllowSharingAcrossNamespaces lets Services of different namespaces
	// share this pool's addresses when they carry the same
	// pylonlb.io/allow-shared-ip key. When false, a sharing key is private
	// to its namespace: a Service joins only addresses held by Services of
	// its own namespace, and asking for another namespace's address is
	// refused with an IPConflict event. Sharing already in place is kept
	// when this is turned off; only new joins are refused.
	//
	// +optional
	AllowSharingAcrossNamespaces bool `json:"allowSharingAcrossNamespaces,omitempty"`
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
	// InForce is the generation of the spec in use and a copy of it; see
	// InForce.
	// +optional
	InForce *InForce `json:"inForce,omitempty"`
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
// +kubebuilder:printcolumn:name="Cross-Namespace-Sharing",type=boolean,JSONPath=`.spec.allocation.allowSharingAcrossNamespaces`,priority=1
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
