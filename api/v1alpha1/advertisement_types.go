package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// AdvertisementStatus is written by the controller on L2Advertisements and
// BGPAdvertisements.
type AdvertisementStatus struct {
	// ObservedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// InForce is the generation of the spec in use and a copy of it; see
	// InForce.
	// +optional
	InForce *InForce `json:"inForce,omitempty"`
	// Conditions: Ready, Invalid.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// InterfaceName is a network interface name as Linux allows it: 1 to 15
// characters, no '/', no whitespace, not "." or "..".
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=15
// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_@.-]+$`
// +kubebuilder:validation:XValidation:rule="self != '.' && self != '..'",message="must be an interface name, not '.' or '..'"
type InterfaceName string

// L2AdvertisementSpec says which pools are announced with ARP (IPv4) and NDP
// (IPv6), from which nodes and interfaces. With neither ipPools nor
// ipPoolSelector set, it covers every pool.
type L2AdvertisementSpec struct {
	// IPPools names the pools announced.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +listType=set
	IPPools []ObjectName `json:"ipPools,omitempty"`

	// IPPoolSelector selects further pools by label.
	// +optional
	IPPoolSelector *LabelSelector `json:"ipPoolSelector,omitempty"`

	// NodeSelector limits the nodes that may answer for these addresses;
	// unset means every node.
	// +optional
	NodeSelector *LabelSelector `json:"nodeSelector,omitempty"`

	// Interfaces limits the interfaces answers go out of. Unset: the
	// interfaces whose subnet covers the address, else the one holding the
	// node's InternalIP.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	Interfaces []InterfaceName `json:"interfaces,omitempty"`

	// ServiceSelectors limit the Services answered for to those that at
	// least one of these selects (by the Service's labels); unset or
	// empty: every Service of the pools covered. An address whose Services
	// no L2Advertisement covering its pool selects has no node answering
	// for it.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	ServiceSelectors []LabelSelector `json:"serviceSelectors,omitempty"`
}

// L2Advertisement announces pools on the local segment: one node per
// address answers ARP or NDP for it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=l2adv,categories=pylon
// +kubebuilder:printcolumn:name="IP-Pools",type=string,JSONPath=`.spec.ipPools`
// +kubebuilder:printcolumn:name="Interfaces",type=string,JSONPath=`.spec.interfaces`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type L2Advertisement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec L2AdvertisementSpec `json:"spec,omitempty"`
	// +optional
	Status AdvertisementStatus `json:"status,omitempty"`
}

// L2AdvertisementList is a list of L2Advertisements.
//
// +kubebuilder:object:root=true
type L2AdvertisementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []L2Advertisement `json:"items"`
}

// Community is a BGP community: standard "65000:100" (two numbers
// 0..65535), large "large:64512:1:2" (three numbers 0..4294967295), or one
// of the well-known names no-export, no-advertise, no-export-subconfed,
// no-peer.
//
// +kubebuilder:validation:MaxLength=40
// +kubebuilder:validation:XValidation:rule="self in ['no-export', 'no-advertise', 'no-export-subconfed', 'no-peer'] || (self.matches('^[0-9]{1,5}:[0-9]{1,5}$') && self.split(':').all(n, int(n) <= 65535)) || (self.matches('^large:[0-9]{1,10}:[0-9]{1,10}:[0-9]{1,10}$') && self.split(':').all(n, n == 'large' || int(n) <= 4294967295))",message="must be a standard community 0..65535:0..65535 such as 65000:100, a large community large:A:B:C with each part 0..4294967295, or one of no-export, no-advertise, no-export-subconfed, no-peer"
type Community string

// BGPAdvertisementSpec says how pools are announced over BGP. With neither
// ipPools nor ipPoolSelector set, it covers every pool.
type BGPAdvertisementSpec struct {
	// IPPools names the pools announced.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +listType=set
	IPPools []ObjectName `json:"ipPools,omitempty"`

	// IPPoolSelector selects further pools by label.
	// +optional
	IPPoolSelector *LabelSelector `json:"ipPoolSelector,omitempty"`

	// AggregationLength is the prefix length announced for an IPv4 address:
	// 32 announces each address alone; shorter announces the block that holds
	// it. The block must lie inside the pool.
	// +optional
	// +kubebuilder:default=32
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=32
	AggregationLength *int32 `json:"aggregationLength,omitempty"`

	// AggregationLengthV6 is AggregationLength for IPv6 addresses.
	// +optional
	// +kubebuilder:default=128
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=128
	AggregationLengthV6 *int32 `json:"aggregationLengthV6,omitempty"`

	// LocalPref sets the LOCAL_PREF attribute. It is meaningful to iBGP peers
	// only; for an eBGP peer it is reported and not sent.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967295
	LocalPref *int64 `json:"localPref,omitempty"`

	// Communities are attached to every route this advertisement makes.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	Communities []Community `json:"communities,omitempty"`

	// Peers names the BGPPeers these routes go to; unset means all.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +listType=set
	Peers []ObjectName `json:"peers,omitempty"`

	// NodeSelector limits the nodes that announce; unset means every node.
	// +optional
	NodeSelector *LabelSelector `json:"nodeSelector,omitempty"`

	// ServiceSelectors limit the Services announced to those that at least
	// one of these selects (by the Service's labels); unset or empty: every
	// Service of the pools covered. An address shared by several Services
	// is announced when one of them is selected.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	ServiceSelectors []LabelSelector `json:"serviceSelectors,omitempty"`
}

// BGPAdvertisement announces pools to BGP peers from every eligible node.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=bgpadv,categories=pylon
// +kubebuilder:printcolumn:name="IP-Pools",type=string,JSONPath=`.spec.ipPools`
// +kubebuilder:printcolumn:name="Peers",type=string,JSONPath=`.spec.peers`
// +kubebuilder:printcolumn:name="Aggregation",type=integer,JSONPath=`.spec.aggregationLength`,priority=1
// +kubebuilder:printcolumn:name="Communities",type=string,JSONPath=`.spec.communities`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BGPAdvertisement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec BGPAdvertisementSpec `json:"spec,omitempty"`
	// +optional
	Status AdvertisementStatus `json:"status,omitempty"`
}

// BGPAdvertisementList is a list of BGPAdvertisements.
//
// +kubebuilder:object:root=true
type BGPAdvertisementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BGPAdvertisement `json:"items"`
}
