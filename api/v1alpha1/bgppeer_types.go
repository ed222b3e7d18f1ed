package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ASN is a BGP autonomous system number, 1..4294967295 (4-byte ASNs; 0 is
// reserved).
//
// +kubebuilder:validation:Minimum=1
// +kubebuilder:validation:Maximum=4294967295
type ASN int64

// SecretKeyReference points at one key of a Secret.
type SecretKeyReference struct {
	// Name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// Namespace of the Secret; defaults to the namespace pylon runs in.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`

	// Key in the Secret's data.
	// +optional
	// +kubebuilder:default=password
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// GracefulRestart turns on BGP graceful restart (RFC 4724) for a peer: when a
// speaker restarts, the router keeps its routes for RestartTime.
type GracefulRestart struct {
	// RestartTime is how long the router keeps routes while the speaker is
	// away: 1s..4095s.
	// +optional
	// +kubebuilder:default="120s"
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$')",message="must be a duration such as 90s, 1m30s or 500ms"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$') || (duration(self) >= duration('1s') && duration(self) <= duration('4095s'))",message="must be between 1s and 4095s"
	RestartTime *metav1.Duration `json:"restartTime,omitempty"`
}

// BGPPeerSpec describes one BGP router to peer with.
//
// +kubebuilder:validation:XValidation:rule="!has(self.keepaliveTime) || !self.keepaliveTime.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$') || (has(self.holdTime) && !self.holdTime.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$')) || duration(self.keepaliveTime) < duration(has(self.holdTime) ? self.holdTime : '90s')",message="keepaliveTime must be less than holdTime (default 90s)",fieldPath=".keepaliveTime"
// +kubebuilder:validation:XValidation:rule="!has(self.sourceAddress) || !isIP(self.sourceAddress) || !isIP(self.peerAddress) || ip(self.sourceAddress).family() == ip(self.peerAddress).family()",message="sourceAddress must be of the same IP family as peerAddress",fieldPath=".sourceAddress"
// +kubebuilder:validation:XValidation:rule="!has(self.ebgpMultiHop) || !self.ebgpMultiHop || (has(self.peerASN) ? self.myASN != self.peerASN : !has(self.dynamicASN) || self.dynamicASN == 'external')",message="ebgpMultiHop is for eBGP peers only (myASN differs from peerASN, or dynamicASN external)",fieldPath=".ebgpMultiHop"
// +kubebuilder:validation:XValidation:rule="has(self.peerASN) != has(self.dynamicASN)",message="exactly one of peerASN and dynamicASN must be set"
type BGPPeerSpec struct {
	// MyASN is the ASN the speakers use on this session.
	// +required
	MyASN ASN `json:"myASN"`

	// PeerASN is the router's ASN; equal to MyASN for iBGP. Exactly one of
	// peerASN and dynamicASN.
	// +optional
	PeerASN ASN `json:"peerASN,omitempty"`

	// PeerAddress is the router's IPv4 or IPv6 address.
	// +required
	// +kubebuilder:validation:MaxLength=45
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="must be an IPv4 or IPv6 address, such as 198.18.0.1 or 2001:db8::1"
	// +kubebuilder:validation:XValidation:rule="!isIP(self) || !(ip(self).isUnspecified() || ip(self).isLoopback() || cidr(ip(self).family() == 4 ? '224.0.0.0/4' : 'ff00::/8').containsIP(ip(self)))",message="must be a router's unicast address: not unspecified (0.0.0.0, ::), loopback or multicast"
	PeerAddress string `json:"peerAddress"`

	// PeerPort is the router's TCP port.
	// +optional
	// +kubebuilder:default=179
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	PeerPort *int32 `json:"peerPort,omitempty"`

	// SourceAddress is the local address the session starts from; unset
	// lets the kernel choose.
	// +optional
	// +kubebuilder:validation:MaxLength=45
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="must be an IPv4 or IPv6 address of the node, such as 198.18.0.11"
	SourceAddress string `json:"sourceAddress,omitempty"`

	// HoldTime is the BGP hold time, between 3s and 65535s. Default 90s.
	// 0s (BGP's "no hold timer") is refused: the embedded GoBGP v3 cannot
	// propose it (it replaces a configured hold time of 0 with 90s). A
	// router that proposes 0 still gets a session without hold timer or
	// keepalives: the smaller of the two proposals is used.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$')",message="must be a duration such as 90s, 1m30s or 500ms"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$') || (duration(self) >= duration('3s') && duration(self) <= duration('65535s'))",message="must be between 3s and 65535s (0s, no hold timer, is not supported)"
	HoldTime *metav1.Duration `json:"holdTime,omitempty"`

	// KeepaliveTime is the interval between keepalives; less than HoldTime.
	// Default a third of HoldTime.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$')",message="must be a duration such as 90s, 1m30s or 500ms"
	KeepaliveTime *metav1.Duration `json:"keepaliveTime,omitempty"`

	// EBGPMultiHop lets an eBGP session cross routers (TTL 255 instead of 1).
	// +optional
	EBGPMultiHop *bool `json:"ebgpMultiHop,omitempty"`

	// PasswordSecretRef names the Secret key holding the TCP-MD5 password.
	// +optional
	PasswordSecretRef *SecretKeyReference `json:"passwordSecretRef,omitempty"`

	// GracefulRestart, when present, turns BGP graceful restart on.
	// +optional
	GracefulRestart *GracefulRestart `json:"gracefulRestart,omitempty"`

	// DualStackAddressFamily negotiates IPv4 unicast and IPv6 unicast on
	// this one session and sends the prefixes of both families over it
	// (MP-BGP): IPv6 routes over an IPv4 session and IPv4 routes over an
	// IPv6 session. The next hop of the other family's routes is the node's
	// address of that family on the interface the session leaves from; a
	// node without one sends only the session's own family and says so in
	// its SpeakerStatus. Changing it restarts the session. The name is
	// MetalLB's.
	// +optional
	DualStackAddressFamily *bool `json:"dualStackAddressFamily,omitempty"`

	// NodeSelector limits the nodes that peer with this router; unset means
	// every node.
	// +optional
	NodeSelector *LabelSelector `json:"nodeSelector,omitempty"`

	// ConnectTime is the wait between attempts to open the session (BGP's
	// ConnectRetry timer): 1s to 65535s, counted in whole seconds (a
	// fraction is dropped). Default 2s. Each wait is drawn between
	// connectTime and twice it.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$')",message="must be a duration such as 90s, 1m30s or 500ms"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$') || (duration(self) >= duration('1s') && duration(self) <= duration('65535s'))",message="must be between 1s and 65535s"
	ConnectTime *metav1.Duration `json:"connectTime,omitempty"`

	// DynamicASN, instead of peerASN, takes the router's ASN from its
	// OPEN message: internal accepts only myASN (an iBGP session);
	// external accepts the ASN the router sends, meant for eBGP (the
	// embedded GoBGP v3 accepts myASN too, and the session is then iBGP).
	// +optional
	// +kubebuilder:validation:Enum=internal;external
	DynamicASN DynamicASN `json:"dynamicASN,omitempty"`

	// VRF names the Linux VRF device (or any network device) the session's
	// socket is bound to (SO_BINDTODEVICE): the connection, and so the
	// routes' next hop, use that device's routing table. Unset: the
	// default VRF. A device missing on a node fails that node's session,
	// reported in its state.
	// +optional
	VRF InterfaceName `json:"vrf,omitempty"`

	// Passive: the speakers never dial this router; each node the peer
	// selects listens on port 179 (on sourceAddress, else on its
	// InternalIP and ExternalIP addresses of peerAddress's family) and
	// waits for the router to connect. The speaker then needs the
	// NET_BIND_SERVICE capability (the chart's bgp.passivePeers).
	// +optional
	Passive *bool `json:"passive,omitempty"`

	// BFD, when present, runs BFD (RFC 5880/5881; RFC 5883 when
	// ebgpMultiHop is set) alongside each node's session with this peer:
	// when BFD declares the path down the BGP session is torn down at
	// once, instead of at the end of the hold time. `bfd: {}` turns it on
	// with the defaults (300ms x 3).
	// +optional
	BFD *BFDProfile `json:"bfd,omitempty"`
}

// BFDProfile is how BFD runs alongside a BGPPeer's sessions.
type BFDProfile struct {
	// ReceiveInterval is the least interval between the BFD control
	// packets this end is willing to receive: 10ms..60s. Default 300ms.
	// +optional
	// +kubebuilder:default="300ms"
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$')",message="must be a duration such as 90s, 1m30s or 500ms"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$') || (duration(self) >= duration('10ms') && duration(self) <= duration('60s'))",message="must be between 10ms and 60s"
	ReceiveInterval *metav1.Duration `json:"receiveInterval,omitempty"`

	// TransmitInterval is the least interval between the BFD control
	// packets this end sends: 10ms..60s. Default 300ms. The interval in
	// use is the larger of it and the router's receive interval.
	// +optional
	// +kubebuilder:default="300ms"
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$')",message="must be a duration such as 90s, 1m30s or 500ms"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$') || (duration(self) >= duration('10ms') && duration(self) <= duration('60s'))",message="must be between 10ms and 60s"
	TransmitInterval *metav1.Duration `json:"transmitInterval,omitempty"`

	// DetectMultiplier is how many intervals without a packet declare the
	// session down: 2..255. Default 3.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=255
	DetectMultiplier *int32 `json:"detectMultiplier,omitempty"`

	// EchoMode must be false (or unset): BFD echo (RFC 5880 section 6.4)
	// is not implemented, pylon runs BFD in asynchronous mode with control
	// packets only. The field exists so that a profile asking for echo is
	// refused with this explanation instead of running without it.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!self",message="echo mode is not implemented: pylon's BFD runs in asynchronous mode with control packets only; set echoMode to false or leave it out"
	EchoMode *bool `json:"echoMode,omitempty"`

	// PassiveMode makes the speakers wait for the router's first BFD
	// packet instead of sending their own first (RFC 5880 section 6.1).
	// +optional
	PassiveMode *bool `json:"passiveMode,omitempty"`
}

// DynamicASN is how a BGPPeer without peerASN learns the router's ASN.
type DynamicASN string

// The DynamicASN values.
const (
	DynamicASNInternal DynamicASN = "internal"
	DynamicASNExternal DynamicASN = "external"
)

// BGPPeerSessions counts the sessions with a BGPPeer across the speakers,
// as their SpeakerStatuses report them.
type BGPPeerSessions struct {
	// Established counts the speakers whose session with this peer is
	// Established.
	Established int32 `json:"established"`
	// Total counts the speakers that have a session with this peer (the
	// nodes its nodeSelector selects, whose speaker runs BGP).
	Total int32 `json:"total"`
	// Summary is "established/total", for kubectl get.
	// +kubebuilder:validation:MaxLength=32
	Summary string `json:"summary"`
}

// BGPPeerStatus is written by the controller.
type BGPPeerStatus struct {
	// Sessions counts the speakers' sessions with this peer.
	// +optional
	Sessions *BGPPeerSessions `json:"sessions,omitempty"`
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

// BGPPeer is a router that speakers open BGP sessions to.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=bgpp,categories=pylon
// +kubebuilder:printcolumn:name="Peer-Address",type=string,JSONPath=`.spec.peerAddress`
// +kubebuilder:printcolumn:name="Peer-ASN",type=integer,JSONPath=`.spec.peerASN`
// +kubebuilder:printcolumn:name="My-ASN",type=integer,JSONPath=`.spec.myASN`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Sessions",type=string,JSONPath=`.status.sessions.summary`
// +kubebuilder:printcolumn:name="Port",type=integer,JSONPath=`.spec.peerPort`,priority=1
// +kubebuilder:printcolumn:name="Hold",type=string,JSONPath=`.spec.holdTime`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BGPPeer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec BGPPeerSpec `json:"spec"`
	// +optional
	Status BGPPeerStatus `json:"status,omitempty"`
}

// BGPPeerList is a list of BGPPeers.
//
// +kubebuilder:object:root=true
type BGPPeerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BGPPeer `json:"items"`
}
