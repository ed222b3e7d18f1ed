package metallb

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The MetalLB kinds, as MetalLB's API (group metallb.io) names them.
const (
	Group                = "metallb.io"
	KindIPAddressPool    = "IPAddressPool"
	KindL2Advertisement  = "L2Advertisement"
	KindBGPAdvertisement = "BGPAdvertisement"
	KindBGPPeer          = "BGPPeer"
	KindCommunity        = "Community"
	KindBFDProfile       = "BFDProfile"
)

// isStatusKind reports whether kind is a metallb.io kind that MetalLB
// writes itself: it holds no configuration.
func isStatusKind(kind string) bool {
	switch kind {
	case "ServiceL2Status", "ServiceBGPStatus", "ConfigurationState":
		return true
	}
	return false
}

// The structs below hold the fields of MetalLB's specs that the conversion
// reads, with MetalLB's JSON names. Fields read only to be reported stay
// out: the tracker finds them in the unstructured object.

// poolSpec is IPAddressPool.spec (v1beta1).
type poolSpec struct {
	Addresses     []string           `json:"addresses"`
	AutoAssign    *bool              `json:"autoAssign"`
	AvoidBuggyIPs bool               `json:"avoidBuggyIPs"`
	Allocation    *serviceAllocation `json:"serviceAllocation"`
}

// serviceAllocation is IPAddressPool.spec.serviceAllocation.
type serviceAllocation struct {
	Priority           int                    `json:"priority"`
	Namespaces         []string               `json:"namespaces"`
	NamespaceSelectors []metav1.LabelSelector `json:"namespaceSelectors"`
	ServiceSelectors   []metav1.LabelSelector `json:"serviceSelectors"`
}

// l2Spec is L2Advertisement.spec (v1beta1).
type l2Spec struct {
	IPAddressPools         []string               `json:"ipAddressPools"`
	IPAddressPoolSelectors []metav1.LabelSelector `json:"ipAddressPoolSelectors"`
	NodeSelectors          []metav1.LabelSelector `json:"nodeSelectors"`
	Interfaces             []string               `json:"interfaces"`
	ServiceSelectors       []metav1.LabelSelector `json:"serviceSelectors"`
}

// bgpAdvSpec is BGPAdvertisement.spec (v1beta1).
type bgpAdvSpec struct {
	AggregationLength      *int32                 `json:"aggregationLength"`
	AggregationLengthV6    *int32                 `json:"aggregationLengthV6"`
	LocalPref              uint32                 `json:"localPref"`
	Communities            []string               `json:"communities"`
	IPAddressPools         []string               `json:"ipAddressPools"`
	IPAddressPoolSelectors []metav1.LabelSelector `json:"ipAddressPoolSelectors"`
	NodeSelectors          []metav1.LabelSelector `json:"nodeSelectors"`
	Peers                  []string               `json:"peers"`
	ServiceSelectors       []metav1.LabelSelector `json:"serviceSelectors"`
}

// peerSpec is BGPPeer.spec of v1beta2 and of v1beta1, which has a subset of
// its fields (v1beta1's nodeSelectors have the JSON shape of a label
// selector, and its zero holdTime and keepaliveTime mean unset).
type peerSpec struct {
	MyASN                  uint32                 `json:"myASN"`
	PeerASN                uint32                 `json:"peerASN"`
	LocalASN               uint32                 `json:"localASN"`
	DynamicASN             string                 `json:"dynamicASN"`
	PeerAddress            string                 `json:"peerAddress"`
	Interface              string                 `json:"interface"`
	SourceAddress          string                 `json:"sourceAddress"`
	PeerPort               int32                  `json:"peerPort"`
	HoldTime               *metav1.Duration       `json:"holdTime"`
	KeepaliveTime          *metav1.Duration       `json:"keepaliveTime"`
	NodeSelectors          []metav1.LabelSelector `json:"nodeSelectors"`
	Password               string                 `json:"password"`
	PasswordSecret         secretReference        `json:"passwordSecret"`
	EnableGracefulRestart  bool                   `json:"enableGracefulRestart"`
	EBGPMultiHop           bool                   `json:"ebgpMultiHop"`
	VRF                    string                 `json:"vrf"`
	DisableMP              bool                   `json:"disableMP"`
	DualStackAddressFamily bool                   `json:"dualStackAddressFamily"`
	ConnectTime            *metav1.Duration       `json:"connectTime"`
}

// secretReference is BGPPeer.spec.passwordSecret: a Secret of type
// kubernetes.io/basic-auth in MetalLB's namespace, key "password".
type secretReference struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// communitySpec is Community.spec: named aliases for BGP communities.
type communitySpec struct {
	Communities []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"communities"`
}
