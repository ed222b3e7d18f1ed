package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// SpeakerStatusSpec is written by the speaker of the node the object is
// named after.
type SpeakerStatusSpec struct {
	// MemberlistAddress is host:port where this node's speaker takes
	// memberlist traffic; other speakers join through it.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	MemberlistAddress string `json:"memberlistAddress,omitempty"`
}

// MemberState is one memberlist member as this speaker sees it.
type MemberState struct {
	// Name is the member's node name.
	Name string `json:"name"`
	// Address is the member's memberlist address.
	// +optional
	Address string `json:"address,omitempty"`
	// State is Alive, Suspect, Dead or Left.
	// +kubebuilder:validation:Enum=Alive;Suspect;Dead;Left
	State string `json:"state"`
}

// BGPSessionStatus is one BGP session of this speaker.
type BGPSessionStatus struct {
	// Peer is the BGPPeer's name.
	Peer string `json:"peer"`
	// PeerAddress is the router's address.
	// +optional
	PeerAddress string `json:"peerAddress,omitempty"`
	// State is the BGP FSM state.
	// +kubebuilder:validation:Enum=Idle;Connect;Active;OpenSent;OpenConfirm;Established;Unknown
	State string `json:"state"`
	// Since is when the session entered State.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
	// PrefixesSent is how many prefixes this speaker advertises on it.
	// +optional
	PrefixesSent int32 `json:"prefixesSent,omitempty"`
	// LastError is the most recent error on the session, if any.
	// +optional
	LastError string `json:"lastError,omitempty"`
	// Change says how a BGPPeer change that restarts the session is being
	// rolled out on this node: Held (waiting for this node's turn, so that
	// the router keeps next hops), Trying (this node runs the new settings
	// and waits for the session), Reverted (they brought no session up; the
	// previous settings run until their session drops). Empty: the session
	// runs the BGPPeer as configured.
	// +optional
	// +kubebuilder:validation:Enum=Held;Trying;Reverted
	Change string `json:"change,omitempty"`

	// PeerASN is the router's ASN as its OPEN carried it, on an
	// Established session: what a BGPPeer with dynamicASN learnt.
	// +optional
	PeerASN int64 `json:"peerASN,omitempty"`

	// BFD is the state of the BFD session alongside, when the BGPPeer has
	// a bfd profile.
	// +optional
	BFD *BFDSessionStatus `json:"bfd,omitempty"`
}

// BFDSessionStatus is one BFD session of this speaker.
type BFDSessionStatus struct {
	// State is the BFD state (RFC 5880): Up, Down, Init or AdminDown.
	// +kubebuilder:validation:Enum=AdminDown;Down;Init;Up
	State string `json:"state"`
	// Since is when the session entered State.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
	// Diagnostic is why the session last left Up, as this end saw it
	// (RFC 5880 section 4.1: Control Detection Time Expired, Neighbor
	// Signaled Session Down, ...); empty when it never did.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Diagnostic string `json:"diagnostic,omitempty"`
}

// Announcement is one address this node makes reachable.
type Announcement struct {
	// IP is the Service address.
	IP string `json:"ip"`
	// Service is namespace/name of a Service using the address.
	Service string `json:"service"`
	// Protocol is Layer2 or BGP.
	// +kubebuilder:validation:Enum=Layer2;BGP
	Protocol string `json:"protocol"`
	// Interface is where ARP/NDP answers go out (Layer2 only).
	// +optional
	Interface string `json:"interface,omitempty"`
}

// SpeakerStatusStatus is what one speaker sees and does.
type SpeakerStatusStatus struct {
	// Members is this speaker's memberlist view.
	// +optional
	// +listType=map
	// +listMapKey=name
	Members []MemberState `json:"members,omitempty"`
	// MembersAlive counts Members in state Alive.
	// +optional
	MembersAlive int32 `json:"membersAlive,omitempty"`
	// BGPSessions lists this speaker's BGP sessions.
	// +optional
	// +listType=atomic
	BGPSessions []BGPSessionStatus `json:"bgpSessions,omitempty"`
	// SessionsEstablished counts BGPSessions in state Established.
	// +optional
	SessionsEstablished int32 `json:"sessionsEstablished,omitempty"`
	// Announcements lists the addresses this node announces, per Service,
	// protocol and interface: the first 256 entries, by address.
	// +optional
	// +listType=atomic
	Announcements []Announcement `json:"announcements,omitempty"`
	// Announced counts the distinct addresses this node announces, all of
	// them (Announcements may be cut short).
	// +optional
	Announced int32 `json:"announced,omitempty"`
	// NoInterface lists the addresses this node would own but has had no
	// usable interface to answer on for a second (the interface is missing
	// or down, or the L2Advertisement's interfaces name none of this
	// node's): every speaker leaves this node out of those addresses'
	// election, so the next node in rank answers for them until the node
	// can again and drops them from here. The first 256, by address.
	// +optional
	// +listType=set
	NoInterface []string `json:"noInterface,omitempty"`
	// Conditions, such as a detected layer-2 conflict.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SpeakerStatus is one node's speaker, reported by that speaker. Its name is
// the node's name.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=spk,categories=pylon
// +kubebuilder:printcolumn:name="Members",type=integer,JSONPath=`.status.membersAlive`
// +kubebuilder:printcolumn:name="Sessions",type=integer,JSONPath=`.status.sessionsEstablished`
// +kubebuilder:printcolumn:name="Announced",type=integer,JSONPath=`.status.announced`
// +kubebuilder:printcolumn:name="Memberlist",type=string,JSONPath=`.spec.memberlistAddress`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SpeakerStatus struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec SpeakerStatusSpec `json:"spec,omitempty"`
	// +optional
	Status SpeakerStatusStatus `json:"status,omitempty"`
}

// SpeakerStatusList is a list of SpeakerStatuses.
//
// +kubebuilder:object:root=true
type SpeakerStatusList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SpeakerStatus `json:"items"`
}
