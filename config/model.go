package config

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// NoPriority is the Priority of a pool that sets none: it sorts after every
// pool that does.
const NoPriority = int64(1) << 32

// Config is the validated model of all pylon resources.
type Config struct {
	// Pools in the order they are tried: by Priority, then by Name. Pools
	// that overlap an older pool are included (their addresses may already
	// be held) with Overlaps set.
	Pools []*Pool
	// L2Advertisements and BGPAdvertisements, sorted by name.
	L2Advertisements  []*L2Advertisement
	BGPAdvertisements []*BGPAdvertisement
	// BGPPeers sorted by name.
	BGPPeers []*BGPPeer
	// Problems found, sorted by kind and name.
	Problems []Problem

	poolsByName map[string]*Pool
	// sources are the versions the model's objects came from (keep.go).
	sources map[objKey]source
}

// Pool returns the pool called name, or nil.
func (c *Config) Pool(name string) *Pool { return c.poolsByName[name] }

// Peer returns the BGPPeer called name, or nil.
func (c *Config) Peer(name string) *BGPPeer {
	i, ok := slices.BinarySearchFunc(c.BGPPeers, name, func(peer *BGPPeer, n string) int { return cmp.Compare(peer.Name, n) })
	if !ok {
		return nil
	}
	return c.BGPPeers[i]
}

// ProblemsFor returns the problems of one object.
func (c *Config) ProblemsFor(kind Kind, name string) []Problem {
	var out []Problem
	for _, p := range c.Problems {
		if p.Kind == kind && p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// Pool is a validated IPPool.
type Pool struct {
	Name string
	// Ranges sorted by family (IPv4 first) and first address; they never
	// overlap each other.
	Ranges        []Range
	AutoAssign    bool
	AvoidBuggyIPs bool
	// Priority: lower first; NoPriority when unset.
	Priority int64
	// Namespaces and NamespaceSelector: when either is set, a Service must be
	// in a listed namespace or in one whose labels match. Namespaces is
	// sorted; NamespaceSelector is nil when unset.
	Namespaces        []string
	NamespaceSelector labels.Selector
	// ServiceSelector is nil when unset (any Service).
	ServiceSelector labels.Selector
	// AllowSharingAcrossNamespaces lets Services of different namespaces
	// with the same sharing key share the pool's addresses; when false a
	// sharing key is private to its namespace.
	AllowSharingAcrossNamespaces bool
	// Labels are the IPPool's own labels, for advertisements' pool selectors.
	Labels labels.Set
	// Created orders pools by age: of two overlapping pools the newer one
	// is marked.
	Created time.Time
	// Overlaps names the older pools this one overlaps. When non-empty,
	// no new address may be given out from this pool; addresses already
	// held stay where they are.
	Overlaps []string
}

// Usable reports whether new addresses may be given out from the pool.
func (p *Pool) Usable() bool { return len(p.Overlaps) == 0 }

// Contains reports whether a is one of the pool's addresses.
func (p *Pool) Contains(a netip.Addr) bool {
	for _, r := range p.Ranges {
		if r.Contains(a) {
			return true
		}
	}
	return false
}

// L2Advertisement is a validated L2Advertisement.
type L2Advertisement struct {
	Name string
	// Pools are the names of the pools it covers, sorted.
	Pools []string
	// NodeSelector selects the nodes that may answer; never nil.
	NodeSelector labels.Selector
	// Interfaces, when non-empty, limits the interfaces answers go out of.
	Interfaces []string
	// ServiceSelectors, when non-empty, limit the Services answered for
	// (see SelectsService).
	ServiceSelectors []labels.Selector
}

// SelectsService reports whether the advertisement covers a Service with
// these labels: it has no service selectors, or one of them selects it.
func (a *L2Advertisement) SelectsService(l labels.Set) bool {
	return anySelects(a.ServiceSelectors, l)
}

// BGPAdvertisement is a validated BGPAdvertisement.
type BGPAdvertisement struct {
	Name string
	// Pools are the names of the pools it covers, sorted.
	Pools []string
	// AggregationLength and AggregationLengthV6 are the announced prefix
	// lengths per family.
	AggregationLength   int
	AggregationLengthV6 int
	// LocalPref is nil when unset.
	LocalPref   *uint32
	Communities []Community
	// Peers are the names of the BGPPeers the routes go to, sorted; every
	// valid peer when the advertisement names none.
	Peers []string
	// NodeSelector selects the nodes that announce; never nil.
	NodeSelector labels.Selector
	// ServiceSelectors, when non-empty, limit the Services announced (see
	// SelectsService).
	ServiceSelectors []labels.Selector
}

// SelectsService reports whether the advertisement announces a Service with
// these labels: it has no service selectors, or one of them selects it.
func (a *BGPAdvertisement) SelectsService(l labels.Set) bool {
	return anySelects(a.ServiceSelectors, l)
}

// anySelects: no selectors, or one that selects l.
func anySelects(sels []labels.Selector, l labels.Set) bool {
	if len(sels) == 0 {
		return true
	}
	for _, s := range sels {
		if s.Matches(l) {
			return true
		}
	}
	return false
}

// BGPPeer is a validated BGPPeer. Password holds the secret's value: never log
// a BGPPeer with %v; its String method leaves the password out.
type BGPPeer struct {
	Name    string
	MyASN   uint32
	PeerASN uint32
	Address netip.Addr
	Port    uint16
	// SourceAddress is invalid (zero) when unset.
	SourceAddress netip.Addr
	HoldTime      time.Duration
	KeepaliveTime time.Duration
	EBGPMultiHop  bool
	Password      string
	// GracefulRestart is on when RestartTime > 0.
	RestartTime time.Duration
	// NodeSelector selects the nodes that peer; never nil.
	NodeSelector labels.Selector

	// DualStackAddressFamily: the session carries IPv4 and IPv6 unicast,
	// whatever the family of Address.
	DualStackAddressFamily bool
	// ConnectTime is the wait between connection attempts, in whole
	// seconds; 0: the speaker's default.
	ConnectTime time.Duration
	// DynamicASN is "" (PeerASN as configured), "internal" (PeerASN is
	// MyASN) or "external" (PeerASN is 0: the router's OPEN says it).
	DynamicASN v1alpha1.DynamicASN
	// VRF is the device the session is bound to; "" for none.
	VRF string
	// Passive: the router connects; the node listens.
	Passive bool
	// BFD is the peer's BFD profile; nil when BFD is off.
	BFD *BFD

	// passwordFrom names the Secret key the password comes from
	// (namespace/name/key); "" without a password.
	passwordFrom string
}

// BFD is a validated BFD profile (BGPPeer.spec.bfd). Multihop follows the
// peer's EBGPMultiHop.
type BFD struct {
	// ReceiveInterval and TransmitInterval are the least intervals between
	// received and sent control packets, 10ms..60s.
	ReceiveInterval, TransmitInterval time.Duration
	// DetectMultiplier is 2..255.
	DetectMultiplier uint8
	// Passive waits for the router's first packet.
	Passive bool
}

// IBGP reports whether the session is internal (same ASN on both ends).
func (p *BGPPeer) IBGP() bool { return p.MyASN == p.PeerASN }

// AnyPeerASN reports whether the router's ASN is taken from its OPEN,
// whatever it is (dynamicASN external); PeerASN is 0 then.
func (p *BGPPeer) AnyPeerASN() bool { return p.DynamicASN == v1alpha1.DynamicASNExternal }

// String describes the peer without its password.
func (p *BGPPeer) String() string {
	peerAS := fmt.Sprintf("AS%d", p.PeerASN)
	if p.DynamicASN != "" {
		peerAS = "AS " + string(p.DynamicASN)
	}
	return fmt.Sprintf("%s (AS%d -> %s at %s)", p.Name, p.MyASN, peerAS, netip.AddrPortFrom(p.Address, p.Port))
}

// CommunityKind tells standard from large communities.
type CommunityKind int

// Community kinds.
const (
	Standard CommunityKind = iota
	Large
)

// Community is a parsed BGP community.
type Community struct {
	Kind CommunityKind
	// Value is a standard community as one 32-bit number (ASN<<16 | value).
	Value uint32
	// LargeValue is a large community's three parts.
	LargeValue [3]uint32
}

// String writes the community the way it is configured.
func (c Community) String() string {
	if c.Kind == Large {
		return fmt.Sprintf("large:%d:%d:%d", c.LargeValue[0], c.LargeValue[1], c.LargeValue[2])
	}
	return fmt.Sprintf("%d:%d", c.Value>>16, c.Value&0xffff)
}

// Kind names a pylon resource kind in a Problem.
type Kind string

// The kinds Parse reports on.
const (
	KindIPPool           Kind = "IPPool"
	KindL2Advertisement  Kind = "L2Advertisement"
	KindBGPPeer          Kind = "BGPPeer"
	KindBGPAdvertisement Kind = "BGPAdvertisement"
)

// Reasons for Problems; they double as condition and event reasons.
const (
	ReasonInvalidSpec     = "InvalidSpec"
	ReasonOverlapping     = "Overlapping"
	ReasonPoolNotFound    = "PoolNotFound"
	ReasonPeerNotFound    = "PeerNotFound"
	ReasonDuplicatePeer   = "DuplicatePeer"
	ReasonSecretNotUsable = "SecretNotUsable"
	ReasonAggregation     = "AggregationOutsidePool"
	ReasonLocalPrefOnEBGP = "LocalPrefOnEBGP"
)

// Problem is what is wrong with one object.
type Problem struct {
	Kind   Kind
	Name   string
	Reason string
	Errors field.ErrorList
	// Rejected: this generation of the object is left out of the model.
	// Otherwise it is in the model without the part that is wrong.
	Rejected bool
	// KeptGeneration, on a rejected object, is the earlier generation that
	// stays in the model in its place; 0 when none does.
	KeptGeneration int64
	// Kept, on a problem that does not reject, says what stays in use in
	// place of the part that is wrong ("the last good password").
	Kept string

	// blames are the objects whose edit may have caused a rejection.
	blames []blame
}

// Message joins the field errors into one line for a condition or event.
func (p Problem) Message() string { return p.Errors.ToAggregate().Error() }

// KeptNote says what stays in force despite the problem: "generation 4 stays
// in force", the Kept text, or "" when nothing does.
func (p Problem) KeptNote() string {
	if p.KeptGeneration > 0 {
		return fmt.Sprintf("generation %d stays in force", p.KeptGeneration)
	}
	return p.Kept
}
