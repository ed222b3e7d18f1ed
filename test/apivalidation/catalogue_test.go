package apivalidation

import (
	"fmt"
	"strings"
)

// badObject is one object the API server must refuse, and how it must say so.
type badObject struct {
	name string
	kind string
	// spec is the object's spec as flow-style YAML.
	spec string
	// field is the path the error must name, as the API server writes it.
	field string
	// msg is part of the error message that says what is allowed.
	msg string
	// unknownField marks a spec with a field the schema does not declare:
	// strict field validation refuses it before any other check.
	unknownField bool
	// applyField and applyMsg, when set, are what kubectl's server-side apply
	// says instead: it refuses wrong types and duplicate set entries while
	// building the typed patch, before validation, in its own words.
	applyField, applyMsg string
}

// goodObject is an edge case the API server must accept: it shows that the
// rules the bad objects trip do not over-reject.
type goodObject struct {
	name string
	kind string
	spec string
}

// Messages of the CEL rules in api/v1alpha1, as far as the tests need them.
const (
	msgNotCIDR       = "must be a CIDR such as 198.51.100.0/24 or 2001:db8::/64"
	msgRangeSyntax   = "a range must be two IP addresses joined by '-' without spaces"
	msgRangeFamilies = "both ends of a range must be of the same IP family"
	msgRangeOrder    = "the first address of a range must not be greater than the last"
	msgCommunity     = "must be a standard community 0..65535:0..65535 such as 65000:100, a large community large:A:B:C"
	msgKeepalive     = "keepaliveTime must be less than holdTime (default 90s)"
	msgDuration      = "must be a duration such as 90s, 1m30s or 500ms"
	msgSelectorOp    = `supported values: "In", "NotIn", "Exists", "DoesNotExist"`
	msgSelectorVals  = "values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist"
	msgBlocksOverlap = "blocks of one pool must not overlap: a CIDR lies inside another"
	msgPeerUnicast   = "must be a router's unicast address: not unspecified (0.0.0.0, ::), loopback or multicast"
)

// peer is a valid BGPPeer spec's required fields, for cases that vary the
// optional ones.
const peer = `myASN: 64512, peerASN: 64513, peerAddress: "198.18.0.1"`

// badObjects is the catalogue of refused objects. Each differs from a valid
// object in one place, so the error must name that place and nothing else.
func badObjects() []badObject {
	const pool = `addresses: ["198.51.100.0/24"]`
	return []badObject{
		// IPPool addresses.
		{name: "address is a word", kind: "IPPool", spec: `{addresses: [foo]}`,
			field: "spec.addresses[0]", msg: msgNotCIDR},
		{name: "the same block twice", kind: "IPPool", spec: `{addresses: ["198.51.100.0/24", "198.51.100.0/24"]}`,
			field: "spec.addresses[1]", msg: "Duplicate value", applyField: ".spec.addresses", applyMsg: "duplicate entries"},
		{name: "a v4 CIDR inside another of the pool", kind: "IPPool", spec: `{addresses: ["198.51.100.0/24", "198.51.100.128/25"]}`,
			field: "spec.addresses", msg: msgBlocksOverlap},
		{name: "a v6 CIDR inside another of the pool", kind: "IPPool", spec: `{addresses: ["2001:db8:1::/64", "198.51.100.0/24", "2001:db8:1::/48"]}`,
			field: "spec.addresses", msg: msgBlocksOverlap},
		{name: "one v6 block written two ways", kind: "IPPool", spec: `{addresses: ["2001:db8::/64", "2001:db8:0::/64"]}`,
			field: "spec.addresses", msg: msgBlocksOverlap},
		{name: "a range ending inside a CIDR of the pool", kind: "IPPool", spec: `{addresses: ["198.51.100.0/25", "198.51.100.100-198.51.100.200"]}`,
			field: "spec.addresses", msg: "an end of a range lies inside a CIDR"},
		{name: "address is a bare IP", kind: "IPPool", spec: `{addresses: ["198.51.100.7"]}`,
			field: "spec.addresses[0]", msg: "a single address is 198.51.100.7/32"},
		{name: "second address has prefix length 33", kind: "IPPool", spec: `{addresses: ["198.51.100.0/25", "198.51.100.128/33"]}`,
			field: "spec.addresses[1]", msg: msgNotCIDR},
		{name: "v4 CIDR with host bits set", kind: "IPPool", spec: `{addresses: ["198.51.100.7/24"]}`,
			field: "spec.addresses[0]", msg: "the CIDR has host bits set; the block it names is 198.51.100.0/24"},
		{name: "v6 CIDR with host bits set", kind: "IPPool", spec: `{addresses: ["2001:db8:100::1/64"]}`,
			field: "spec.addresses[0]", msg: "the block it names is 2001:db8:100::/64"},
		{name: "range mixes v4 and v6", kind: "IPPool", spec: `{addresses: ["198.51.100.1-2001:db8::1"]}`,
			field: "spec.addresses[0]", msg: msgRangeFamilies},
		{name: "range mixes v6 and v4", kind: "IPPool", spec: `{addresses: ["2001:db8::1-198.51.100.1"]}`,
			field: "spec.addresses[0]", msg: msgRangeFamilies},
		{name: "v4 range backwards", kind: "IPPool", spec: `{addresses: ["198.51.100.20-198.51.100.10"]}`,
			field: "spec.addresses[0]", msg: msgRangeOrder},
		{name: "v4 range backwards in the last bit", kind: "IPPool", spec: `{addresses: ["198.51.100.7-198.51.100.6"]}`,
			field: "spec.addresses[0]", msg: msgRangeOrder},
		{name: "v4 range .128-.127, backwards at the octet's top bit", kind: "IPPool", spec: `{addresses: ["198.51.100.128-198.51.100.127"]}`,
			field: "spec.addresses[0]", msg: msgRangeOrder},
		{name: "v4 range backwards in the first octet", kind: "IPPool", spec: `{addresses: ["203.0.113.1-198.51.100.1"]}`,
			field: "spec.addresses[0]", msg: msgRangeOrder},
		{name: "v6 range backwards", kind: "IPPool", spec: `{addresses: ["2001:db8::10-2001:db8::1"]}`,
			field: "spec.addresses[0]", msg: msgRangeOrder},
		{name: "v6 range backwards in the last bit", kind: "IPPool", spec: `{addresses: ["2001:db8::3-2001:db8::2"]}`,
			field: "spec.addresses[0]", msg: msgRangeOrder},
		{name: "v6 range backwards at bit 32", kind: "IPPool", spec: `{addresses: ["2001:db8:8000::-2001:db8::ffff"]}`,
			field: "spec.addresses[0]", msg: msgRangeOrder},
		{name: "range of three addresses", kind: "IPPool", spec: `{addresses: ["198.51.100.1-198.51.100.2-198.51.100.3"]}`,
			field: "spec.addresses[0]", msg: msgRangeSyntax},
		{name: "range with spaces", kind: "IPPool", spec: `{addresses: ["198.51.100.1 - 198.51.100.9"]}`,
			field: "spec.addresses[0]", msg: msgRangeSyntax},
		{name: "range of a CIDR and an address", kind: "IPPool", spec: `{addresses: ["198.51.100.0/28-198.51.100.20"]}`,
			field: "spec.addresses[0]", msg: msgRangeSyntax},
		{name: "no addresses", kind: "IPPool", spec: `{addresses: []}`,
			field: "spec.addresses", msg: "should have at least 1 items"},
		{name: "65 addresses", kind: "IPPool", spec: manyAddresses(65),
			field: "spec.addresses", msg: "must have at most 64 items"},
		{name: "addresses misspelt", kind: "IPPool", spec: `{adresses: ["198.51.100.0/24"]}`,
			field: "spec.adresses", msg: "unknown field", unknownField: true},

		// IPPool allocation.
		{name: "priority negative", kind: "IPPool", spec: `{` + pool + `, allocation: {priority: -1}}`,
			field: "spec.allocation.priority", msg: "should be greater than or equal to 0"},
		{name: "allowSharingAcrossNamespaces as a string", kind: "IPPool", spec: `{` + pool + `, allocation: {allowSharingAcrossNamespaces: "yes"}}`,
			field: "spec.allocation.allowSharingAcrossNamespaces", msg: "must be of type boolean",
			applyField: ".spec.allocation.allowSharingAcrossNamespaces", applyMsg: "expected boolean"},
		{name: "namespace name invalid", kind: "IPPool", spec: `{` + pool + `, allocation: {namespaces: [team-a, Team_B]}}`,
			field: "spec.allocation.namespaces[1]", msg: "should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"},
		{name: "selector operator Equals", kind: "IPPool", spec: `{` + pool + `, allocation: {serviceSelector: {matchExpressions: [{key: tier, operator: Equals, values: [web]}]}}}`,
			field: "spec.allocation.serviceSelector.matchExpressions[0].operator", msg: msgSelectorOp},
		{name: "selector In without values", kind: "IPPool", spec: `{` + pool + `, allocation: {serviceSelector: {matchExpressions: [{key: tier, operator: In}]}}}`,
			field: "spec.allocation.serviceSelector.matchExpressions[0].values", msg: msgSelectorVals},
		{name: "selector Exists with values", kind: "IPPool", spec: `{` + pool + `, allocation: {namespaceSelector: {matchExpressions: [{key: tier, operator: Exists, values: [web]}]}}}`,
			field: "spec.allocation.namespaceSelector.matchExpressions[0].values", msg: msgSelectorVals},
		{name: "selector label key starts with '-'", kind: "IPPool", spec: `{` + pool + `, allocation: {serviceSelector: {matchLabels: {"-tier": web}}}}`,
			field: "spec.allocation.serviceSelector.matchLabels", msg: "keys must be label keys"},
		{name: "selector label key of 64 characters", kind: "IPPool", spec: `{` + pool + `, allocation: {namespaceSelector: {matchLabels: {"example.com/` + strings.Repeat("k", 64) + `": x}}}}`,
			field: "spec.allocation.namespaceSelector.matchLabels", msg: "then 1 to 63 letters"},
		{name: "selector expression key with a space", kind: "IPPool", spec: `{` + pool + `, allocation: {serviceSelector: {matchExpressions: [{key: "tier one", operator: Exists}]}}}`,
			field: "spec.allocation.serviceSelector.matchExpressions[0].key", msg: "must be a label key"},
		{name: "selector expression value too long", kind: "IPPool", spec: `{` + pool + `, allocation: {serviceSelector: {matchExpressions: [{key: tier, operator: In, values: [ok, "` + strings.Repeat("v", 64) + `"]}]}}}`,
			field: "spec.allocation.serviceSelector.matchExpressions[0].values[1]", msg: "may not be more than 63"},
		{name: "selector label value ending in '-'", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 64513, peerAddress: 198.18.0.1, nodeSelector: {matchLabels: {rack: "a-"}}}`,
			field: "spec.nodeSelector.matchLabels[rack]", msg: "must be a label value"},
		{name: "selector label key with a DNS prefix over 253 characters", kind: "IPPool", spec: `{` + pool + `, allocation: {namespaceSelector: {matchLabels: {"` + strings.Repeat("a", 254) + `/x": "v"}}}}`,
			field: "spec.allocation.namespaceSelector.matchLabels", msg: "keys must be label keys"},
		{name: "selector label key with two slashes", kind: "IPPool", spec: `{` + pool + `, allocation: {namespaceSelector: {matchLabels: {"a/b/c": x}}}}`,
			field: "spec.allocation.namespaceSelector.matchLabels", msg: "keys must be label keys"},
		{name: "autoAssign a string", kind: "IPPool", spec: `{` + pool + `, autoAssign: "yes"}`,
			field: "spec.autoAssign", msg: "must be of type boolean", applyField: ".spec.autoAssign", applyMsg: "expected boolean"},

		// BGPPeer.
		{name: "myASN 0", kind: "BGPPeer", spec: `{myASN: 0, peerASN: 64513, peerAddress: "198.18.0.1"}`,
			field: "spec.myASN", msg: "should be greater than or equal to 1"},
		{name: "peerASN 4294967296", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 4294967296, peerAddress: "198.18.0.1"}`,
			field: "spec.peerASN", msg: "should be less than or equal to 4294967295"},
		{name: "peerPort 0", kind: "BGPPeer", spec: `{` + peer + `, peerPort: 0}`,
			field: "spec.peerPort", msg: "should be greater than or equal to 1"},
		{name: "peerPort 70000", kind: "BGPPeer", spec: `{` + peer + `, peerPort: 70000}`,
			field: "spec.peerPort", msg: "should be less than or equal to 65535"},
		{name: "peerAddress a host name", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 64513, peerAddress: router.lab}`,
			field: "spec.peerAddress", msg: "must be an IPv4 or IPv6 address, such as 198.18.0.1 or 2001:db8::1"},
		{name: "peerAddress a CIDR", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 64513, peerAddress: "198.18.0.1/32"}`,
			field: "spec.peerAddress", msg: "must be an IPv4 or IPv6 address"},
		{name: "peerAddress 0.0.0.0", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 64513, peerAddress: "0.0.0.0"}`,
			field: "spec.peerAddress", msg: msgPeerUnicast},
		{name: "peerAddress ::", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 64513, peerAddress: "::"}`,
			field: "spec.peerAddress", msg: msgPeerUnicast},
		{name: "peerAddress loopback", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 64513, peerAddress: "127.0.0.1"}`,
			field: "spec.peerAddress", msg: msgPeerUnicast},
		{name: "peerAddress v6 loopback", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 64513, peerAddress: "::1"}`,
			field: "spec.peerAddress", msg: msgPeerUnicast},
		{name: "peerAddress v4 multicast", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 64513, peerAddress: "224.0.0.5"}`,
			field: "spec.peerAddress", msg: msgPeerUnicast},
		{name: "peerAddress v6 multicast", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 64513, peerAddress: "ff02::5"}`,
			field: "spec.peerAddress", msg: msgPeerUnicast},
		{name: "peerAddress missing", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 64513}`,
			field: "spec.peerAddress", msg: "Required value"},
		// The router ID is per node (the Node annotation
		// pylonlb.io/bgp-router-id): a peer no longer has one.
		{name: "routerID (removed: per node now)", kind: "BGPPeer", spec: `{` + peer + `, routerID: "198.18.0.11"}`,
			field: "spec.routerID", msg: "unknown field", unknownField: true},
		{name: "holdTime 2s", kind: "BGPPeer", spec: `{` + peer + `, holdTime: 2s}`,
			field: "spec.holdTime", msg: "must be between 3s and 65535s"},
		// GoBGP cannot propose "no hold timer": refused, not silently 90s.
		{name: "holdTime 0s", kind: "BGPPeer", spec: `{` + peer + `, holdTime: 0s}`,
			field: "spec.holdTime", msg: "must be between 3s and 65535s (0s, no hold timer, is not supported)"},
		{name: "holdTime abc", kind: "BGPPeer", spec: `{` + peer + `, holdTime: abc}`,
			field: "spec.holdTime", msg: msgDuration},
		{name: "holdTime a number without unit", kind: "BGPPeer", spec: `{` + peer + `, holdTime: 90}`,
			field: "spec.holdTime", msg: "must be of type string", applyField: ".spec.holdTime", applyMsg: "expected string"},
		{name: "keepaliveTime equal to holdTime", kind: "BGPPeer", spec: `{` + peer + `, holdTime: 9s, keepaliveTime: 9s}`,
			field: "spec.keepaliveTime", msg: msgKeepalive},
		{name: "keepaliveTime above the default holdTime", kind: "BGPPeer", spec: `{` + peer + `, keepaliveTime: 2m}`,
			field: "spec.keepaliveTime", msg: msgKeepalive},
		{name: "keepaliveTime 10 parsecs", kind: "BGPPeer", spec: `{` + peer + `, keepaliveTime: 10pc}`,
			field: "spec.keepaliveTime", msg: msgDuration},
		{name: "sourceAddress v6 for a v4 peer", kind: "BGPPeer", spec: `{` + peer + `, sourceAddress: "2001:db8:18::11"}`,
			field: "spec.sourceAddress", msg: "sourceAddress must be of the same IP family as peerAddress"},
		{name: "ebgpMultiHop on iBGP", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 64512, peerAddress: "198.18.0.1", ebgpMultiHop: true}`,
			field: "spec.ebgpMultiHop", msg: "ebgpMultiHop is for eBGP peers only (myASN differs from peerASN, or dynamicASN external)"},
		{name: "restartTime 5000s", kind: "BGPPeer", spec: `{` + peer + `, gracefulRestart: {restartTime: 5000s}}`,
			field: "spec.gracefulRestart.restartTime", msg: "must be between 1s and 4095s"},
		{name: "passwordSecretRef without name", kind: "BGPPeer", spec: `{` + peer + `, passwordSecretRef: {namespace: pylon-system}}`,
			field: "spec.passwordSecretRef.name", msg: "Required value"},
		{name: "passwordSecretRef key with '/'", kind: "BGPPeer", spec: `{` + peer + `, passwordSecretRef: {name: bgp, key: "a/b"}}`,
			field: "spec.passwordSecretRef.key", msg: "should match '^[-._a-zA-Z0-9]+$'"},
		// BGPPeer BFD profile.
		{name: "bfd receiveInterval 9ms", kind: "BGPPeer", spec: `{` + peer + `, bfd: {receiveInterval: 9ms}}`,
			field: "spec.bfd.receiveInterval", msg: "must be between 10ms and 60s"},
		{name: "bfd transmitInterval 61s", kind: "BGPPeer", spec: `{` + peer + `, bfd: {transmitInterval: 61s}}`,
			field: "spec.bfd.transmitInterval", msg: "must be between 10ms and 60s"},
		{name: "bfd transmitInterval 300ms3", kind: "BGPPeer", spec: `{` + peer + `, bfd: {transmitInterval: 300ms3}}`,
			field: "spec.bfd.transmitInterval", msg: msgDuration},
		{name: "bfd detectMultiplier 1", kind: "BGPPeer", spec: `{` + peer + `, bfd: {detectMultiplier: 1}}`,
			field: "spec.bfd.detectMultiplier", msg: "should be greater than or equal to 2"},
		{name: "bfd detectMultiplier 256", kind: "BGPPeer", spec: `{` + peer + `, bfd: {detectMultiplier: 256}}`,
			field: "spec.bfd.detectMultiplier", msg: "should be less than or equal to 255"},
		{name: "bfd echoMode true", kind: "BGPPeer", spec: `{` + peer + `, bfd: {echoMode: true}}`,
			field: "spec.bfd.echoMode", msg: "echo mode is not implemented"},
		{name: "bfd minimumTtl (MetalLB's, not pylon's)", kind: "BGPPeer", spec: `{` + peer + `, bfd: {minimumTtl: 254}}`,
			field: "spec.bfd.minimumTtl", msg: "unknown field", unknownField: true},

		// BGPPeer: connectTime, dynamicASN (bgp-opts).
		{name: "connectTime 500ms", kind: "BGPPeer", spec: `{` + peer + `, connectTime: 500ms}`,
			field: "spec.connectTime", msg: "must be between 1s and 65535s"},
		{name: "connectTime 70000s", kind: "BGPPeer", spec: `{` + peer + `, connectTime: 70000s}`,
			field: "spec.connectTime", msg: "must be between 1s and 65535s"},
		{name: "connectTime abc", kind: "BGPPeer", spec: `{` + peer + `, connectTime: abc}`,
			field: "spec.connectTime", msg: msgDuration},
		{name: "peerASN and dynamicASN", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 64513, dynamicASN: external, peerAddress: "198.18.0.1"}`,
			field: "spec", msg: "exactly one of peerASN and dynamicASN must be set"},
		{name: "neither peerASN nor dynamicASN", kind: "BGPPeer", spec: `{myASN: 64512, peerAddress: "198.18.0.1"}`,
			field: "spec", msg: "exactly one of peerASN and dynamicASN must be set"},
		{name: "dynamicASN sideways", kind: "BGPPeer", spec: `{myASN: 64512, dynamicASN: sideways, peerAddress: "198.18.0.1"}`,
			field: "spec.dynamicASN", msg: `supported values: "internal", "external"`},
		{name: "ebgpMultiHop with dynamicASN internal", kind: "BGPPeer", spec: `{myASN: 64512, dynamicASN: internal, peerAddress: "198.18.0.1", ebgpMultiHop: true}`,
			field: "spec.ebgpMultiHop", msg: "ebgpMultiHop is for eBGP peers only"},

		{name: "vrf name of 16 characters", kind: "BGPPeer", spec: `{` + peer + `, vrf: abcdefghijklmnop}`,
			field: "spec.vrf", msg: "15"},

		// BGPAdvertisement.
		{name: "aggregationLength 33", kind: "BGPAdvertisement", spec: `{aggregationLength: 33}`,
			field: "spec.aggregationLength", msg: "should be less than or equal to 32"},
		{name: "aggregationLengthV6 129", kind: "BGPAdvertisement", spec: `{aggregationLengthV6: 129}`,
			field: "spec.aggregationLengthV6", msg: "should be less than or equal to 128"},
		{name: "community 65536:1", kind: "BGPAdvertisement", spec: `{communities: ["65536:1"]}`,
			field: "spec.communities[0]", msg: msgCommunity},
		{name: "community large with two parts", kind: "BGPAdvertisement", spec: `{communities: ["65000:100", "large:1:2"]}`,
			field: "spec.communities[1]", msg: msgCommunity},
		{name: "community large part 4294967296", kind: "BGPAdvertisement", spec: `{communities: ["large:4294967296:0:0"]}`,
			field: "spec.communities[0]", msg: msgCommunity},
		{name: "community foo", kind: "BGPAdvertisement", spec: `{communities: [foo]}`,
			field: "spec.communities[0]", msg: msgCommunity},
		{name: "localPref -1", kind: "BGPAdvertisement", spec: `{localPref: -1}`,
			field: "spec.localPref", msg: "should be greater than or equal to 0"},
		{name: "peer name with capitals", kind: "BGPAdvertisement", spec: `{peers: [Lab_Router]}`,
			field: "spec.peers[0]", msg: "should match"},
		{name: "pool named twice", kind: "BGPAdvertisement", spec: `{ipPools: [default, default]}`,
			field: "spec.ipPools[1]", msg: "Duplicate value", applyField: ".spec.ipPools", applyMsg: "duplicate entries"},

		// L2Advertisement.
		{name: "interface name of 16 characters", kind: "L2Advertisement", spec: `{interfaces: [abcdefghijklmnop]}`,
			field: "spec.interfaces[0]", msg: "15"},
		{name: "interface name with '/'", kind: "L2Advertisement", spec: `{interfaces: [eth0, "eth0/1"]}`,
			field: "spec.interfaces[1]", msg: "should match '^[A-Za-z0-9_@.-]+$'"},
		{name: "interface name ..", kind: "L2Advertisement", spec: `{interfaces: [".."]}`,
			field: "spec.interfaces[0]", msg: "must be an interface name, not '.' or '..'"},
		{name: "node selector operator Gt", kind: "L2Advertisement", spec: `{nodeSelector: {matchExpressions: [{key: rack, operator: Gt, values: ["3"]}]}}`,
			field: "spec.nodeSelector.matchExpressions[0].operator", msg: msgSelectorOp},
		{name: "serviceSelectors In without values", kind: "L2Advertisement", spec: `{serviceSelectors: [{matchLabels: {app: web}}, {matchExpressions: [{key: tier, operator: In}]}]}`,
			field: "spec.serviceSelectors[1].matchExpressions[0].values", msg: msgSelectorVals},
		{name: "serviceSelectors label value ending in '-'", kind: "BGPAdvertisement", spec: `{serviceSelectors: [{matchLabels: {app: "web-"}}]}`,
			field: "spec.serviceSelectors[0].matchLabels[app]", msg: "must be a label value"},
		{name: "9 serviceSelectors", kind: "BGPAdvertisement", spec: `{serviceSelectors: [` + strings.TrimSuffix(strings.Repeat("{matchLabels: {app: web}}, ", 9), ", ") + `]}`,
			field: "spec.serviceSelectors", msg: "must have at most 8 items"},
	}
}

// goodObjects is the catalogue of edge cases that must be accepted.
func goodObjects() []goodObject {
	return []goodObject{
		{name: "v4 range with equal ends", kind: "IPPool", spec: `{addresses: ["198.51.100.5-198.51.100.5"]}`},
		{name: "v4 range in order in the last bit", kind: "IPPool", spec: `{addresses: ["198.51.100.6-198.51.100.7"]}`},
		{name: "v4 range over a whole /24", kind: "IPPool", spec: `{addresses: ["198.51.100.0-198.51.100.255"]}`},
		{name: "v4 range .127-.128, ends parting at the octet's top bit", kind: "IPPool", spec: `{addresses: ["198.51.100.127-198.51.100.128"]}`},
		{name: "v6 range 2001:db8::1-2001:db8::ffff", kind: "IPPool", spec: `{addresses: ["2001:db8::1-2001:db8::ffff"]}`},
		{name: "v6 range in order in the last bit", kind: "IPPool", spec: `{addresses: ["2001:db8::2-2001:db8::3"]}`},
		{name: "v6 range in order at bit 32", kind: "IPPool", spec: `{addresses: ["2001:db8::ffff-2001:db8:8000::"]}`},
		{name: "v6 range with equal ends", kind: "IPPool", spec: `{addresses: ["2001:db8::7-2001:db8::7"]}`},
		{name: "adjacent blocks: two CIDRs, a range after them, both families", kind: "IPPool", spec: `{addresses: ["198.51.100.0/25", "198.51.100.128/26", "198.51.100.192-198.51.100.255", "2001:db8::/64", "2001:db8:0:1::/64"]}`},
		{name: "peerAddress just below the v4 multicast block", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 64513, peerAddress: "223.255.255.254"}`},
		{name: "CIDR /32 and /128", kind: "IPPool", spec: `{addresses: ["198.51.100.7/32", "2001:db8::7/128"]}`},
		{name: "64 ranges, the most a pool holds", kind: "IPPool", spec: manyAddresses(64)},
		{name: "allocation with every selector form", kind: "IPPool", spec: `{addresses: ["203.0.113.0/24"], autoAssign: false, allocation: {priority: 0, namespaces: [team-a],` +
			` namespaceSelector: {matchLabels: {"pylonlb.io/tenant": ""}}, allowSharingAcrossNamespaces: true, serviceSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [internal]}, {key: "example.com/public", operator: Exists}]}}}`},
		{name: "holdTime 3s, the least", kind: "BGPPeer", spec: `{` + peer + `, holdTime: 3s}`},
		{name: "holdTime 18h12m15s (65535s)", kind: "BGPPeer", spec: `{` + peer + `, holdTime: 18h12m15s}`},
		{name: "holdTime 1m30s with keepaliveTime 30s", kind: "BGPPeer", spec: `{` + peer + `, holdTime: 1m30s, keepaliveTime: 30s}`},
		{name: "keepaliveTime just under the default holdTime", kind: "BGPPeer", spec: `{` + peer + `, keepaliveTime: 89s}`},
		{name: "ASNs 1 and 4294967295", kind: "BGPPeer", spec: `{myASN: 4294967295, peerASN: 1, peerAddress: "198.18.0.1", peerPort: 65535}`},
		{name: "v6 peer with v6 source", kind: "BGPPeer", spec: `{myASN: 64512, peerASN: 64513, peerAddress: "2001:db8:18::1", sourceAddress: "2001:db8:18::11"}`},
		{name: "ebgpMultiHop on eBGP", kind: "BGPPeer", spec: `{` + peer + `, ebgpMultiHop: true}`},
		{name: "restartTime 1s", kind: "BGPPeer", spec: `{` + peer + `, gracefulRestart: {restartTime: 1s}}`},
		{name: "restartTime 1h8m15s (4095s)", kind: "BGPPeer", spec: `{` + peer + `, gracefulRestart: {restartTime: 1h8m15s}}`},
		{name: "bfd with the defaults", kind: "BGPPeer", spec: `{` + peer + `, bfd: {}}`},
		{name: "bfd at its limits, echo off, passive", kind: "BGPPeer", spec: `{` + peer + `, bfd: {receiveInterval: 10ms, transmitInterval: 1m, detectMultiplier: 255, echoMode: false, passiveMode: true}}`},
		{name: "bfd multiplier 2 on a multi-hop peer", kind: "BGPPeer", spec: `{` + peer + `, ebgpMultiHop: true, bfd: {detectMultiplier: 2}}`},
		{name: "communities at their limits", kind: "BGPAdvertisement", spec: `{communities: ["0:0", "65535:65535", "large:4294967295:0:4294967295", no-export, no-advertise, no-export-subconfed, no-peer]}`},
		{name: "aggregation lengths 0 and 128, localPref max", kind: "BGPAdvertisement", spec: `{aggregationLength: 0, aggregationLengthV6: 128, localPref: 4294967295}`},
		{name: "interface names of 15 characters, VLAN and @", kind: "L2Advertisement", spec: `{interfaces: [abcdefghijklmno, bond0.100, "veth1@if2"]}`},
		{name: "empty L2Advertisement", kind: "L2Advertisement", spec: `{}`},
		{name: "passive", kind: "BGPPeer", spec: `{` + peer + `, passive: true}`},
		{name: "vrf of 15 characters", kind: "BGPPeer", spec: `{` + peer + `, vrf: abcdefghijklmno}`},
		{name: "dynamicASN internal", kind: "BGPPeer", spec: `{myASN: 64512, dynamicASN: internal, peerAddress: "198.18.0.1"}`},
		{name: "dynamicASN external with ebgpMultiHop", kind: "BGPPeer", spec: `{myASN: 64512, dynamicASN: external, peerAddress: "198.18.0.1", ebgpMultiHop: true}`},
		{name: "connectTime 1s", kind: "BGPPeer", spec: `{` + peer + `, connectTime: 1s}`},
		{name: "connectTime 18h12m15s (65535s)", kind: "BGPPeer", spec: `{` + peer + `, connectTime: 18h12m15s}`},
		{name: "serviceSelectors, 8 of them", kind: "BGPAdvertisement", spec: `{serviceSelectors: [` + strings.Repeat("{matchLabels: {app: web}}, ", 7) + `{}]}`},
		{name: "serviceSelectors of every form", kind: "L2Advertisement", spec: `{serviceSelectors: [{matchLabels: {app: web}}, {matchExpressions: [{key: tier, operator: NotIn, values: [internal]}, {key: "example.com/public", operator: Exists}]}]}`},
	}
}

// manyAddresses is an IPPool spec holding n IPv6 ranges: the ranges cost the
// most CEL to check, so this is the pool that tests the cost budget.
func manyAddresses(n int) string {
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = fmt.Sprintf(`"2001:db8:%x::1-2001:db8:%x::fffe:ffff"`, i, i)
	}
	return "{addresses: [" + strings.Join(addrs, ", ") + "]}"
}
