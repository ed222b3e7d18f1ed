package metallb

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// passwordKey is the key pylon reads a password Secret's value from by
// default, and MetalLB's only one.
const passwordKey = "password"

// convertPeers makes a BGPPeer of each MetalLB BGPPeer, of the same name, or
// several (name-1, name-2, …) when its node selectors cannot be merged into
// one. A peer pylon cannot reach the same way (an unnumbered interface) is
// not converted.
func (c *converter) convertPeers() {
	for _, s := range c.byKind[KindBGPPeer] {
		var spec peerSpec
		if !c.spec(s, &spec) {
			continue
		}
		if !c.peerReachable(s, spec) {
			continue
		}
		out := v1alpha1.BGPPeerSpec{}
		c.peerASNs(s, spec, &out)
		s.track.use("spec.peerAddress")
		out.PeerAddress = spec.PeerAddress
		if spec.SourceAddress != "" {
			s.track.use("spec.sourceAddress")
			out.SourceAddress = spec.SourceAddress
			s.out.note("spec.sourceAddress", Changed, "pylon opens the session from %s on every node the peer selects, and the session fails where the node lacks it; MetalLB falls back to the kernel's choice there. Select only the node that has it", spec.SourceAddress)
		}
		s.track.use("spec.peerPort")
		if spec.PeerPort > 0 {
			out.PeerPort = ptr.To(spec.PeerPort)
		}
		if spec.VRF != "" {
			s.track.use("spec.vrf")
			out.VRF = v1alpha1.InterfaceName(spec.VRF)
			s.out.note("spec.vrf", Info, "the speaker binds the session's socket to device %s (SO_BINDTODEVICE), so it and the routes' next hop use that VRF's table: the device must exist on every node the peer selects, or that node's session fails", spec.VRF)
		}
		c.peerTimers(s, spec, &out)
		c.peerPassword(s, spec, &out)
		c.peerOptions(s, spec, &out)
		c.peerSplit(s, spec, out)
	}
}

// peerReachable reports whether pylon can peer with this router the way
// MetalLB does, and reports why not.
func (c *converter) peerReachable(s *source, spec peerSpec) bool {
	var why []string
	if spec.Interface != "" {
		s.track.unmapped("spec.interface", "pylon has no unnumbered BGP (peering over an interface without an address): it needs peerAddress")
		why = append(why, "spec.interface")
	}
	if spec.Password != "" && spec.PasswordSecret.Name != "" {
		s.track.use("spec.password")
		s.track.unmapped("spec.passwordSecret", "MetalLB refuses a peer with both password and passwordSecret, so does this conversion")
		why = append(why, "spec.passwordSecret")
	}
	if len(why) > 0 {
		s.out.note("", Unmapped, "not converted: %v (see those fields)", why)
		s.track.use("spec")
		return false
	}
	return true
}

// peerASNs: myASN and peerASN, with MetalLB's localASN and dynamicASN.
func (c *converter) peerASNs(s *source, spec peerSpec, out *v1alpha1.BGPPeerSpec) {
	s.track.use("spec.myASN")
	s.track.use("spec.peerASN")
	out.MyASN = v1alpha1.ASN(spec.MyASN)
	out.PeerASN = v1alpha1.ASN(spec.PeerASN)
	switch {
	case spec.DynamicASN == "":
	case spec.PeerASN != 0:
		s.track.unmapped("spec.dynamicASN", "MetalLB refuses dynamicASN together with peerASN; peerASN is used")
	case spec.DynamicASN == "internal":
		// internal: the neighbour's ASN must equal myASN.
		s.track.use("spec.dynamicASN")
		out.DynamicASN = v1alpha1.DynamicASNInternal
	case spec.DynamicASN == "external":
		s.track.use("spec.dynamicASN")
		out.DynamicASN = v1alpha1.DynamicASNExternal
		s.out.note("spec.dynamicASN", Changed, "external: pylon (GoBGP) takes any ASN the router sends, myASN included (a session that is then iBGP); MetalLB (FRR) refuses myASN there")
	default:
		s.track.unmapped("spec.dynamicASN", "MetalLB takes only internal or external")
	}
	if spec.LocalASN != 0 {
		s.track.use("spec.localASN")
		out.MyASN = v1alpha1.ASN(spec.LocalASN)
		s.out.note("spec.localASN", Info, "the router sees %d (MetalLB's local-as ... no-prepend replace-as): pylon has no router-wide ASN, each BGPPeer sets the ASN of its sessions, so myASN is %d", spec.LocalASN, spec.LocalASN)
	}
}

// peerTimers: holdTime and keepaliveTime. MetalLB derives the missing one
// (hold = 3 × keepalive, keepalive = hold / 3); pylon's defaults are 90s and
// hold / 3. A zero keepalive means unset (MetalLB's own converters write
// 0s), and a zero hold time (no hold timer) pylon does not support.
func (c *converter) peerTimers(s *source, spec peerSpec, out *v1alpha1.BGPPeerSpec) {
	s.track.use("spec.holdTime")
	s.track.use("spec.keepaliveTime")
	hold, keep := spec.HoldTime, spec.KeepaliveTime
	if keep != nil && keep.Duration == 0 {
		s.out.note("spec.keepaliveTime", Info, "0s is taken as unset: keepalives every third of the hold time, as MetalLB's own sessions send them")
		keep = nil
	}
	derive := true
	if hold != nil && hold.Duration == 0 {
		if s.version == "v1beta1" || keep == nil {
			s.out.note("spec.holdTime", Info, "0s is taken as unset (MetalLB's v1beta1 and its converters write 0s for unset)")
		} else {
			s.out.note("spec.holdTime", Changed, "0s (no hold timer) is not supported by pylon: left unset, 90s")
			derive = false
		}
		hold = nil
	}
	if hold == nil && keep != nil && derive {
		hold = &metav1.Duration{Duration: 3 * keep.Duration}
		s.out.note("spec.holdTime", Info, "unset with keepaliveTime %s: MetalLB uses three times it, %s, and so holdTime is set", keep.Duration, hold.Duration)
	}
	if hold != nil {
		out.HoldTime = &metav1.Duration{Duration: hold.Duration}
	}
	if keep != nil {
		out.KeepaliveTime = &metav1.Duration{Duration: keep.Duration}
	}
}

// peerPassword turns a plaintext password into a Secret in pylon's
// namespace, and copies a referenced Secret there (pylon reads Secrets only
// from its own namespace).
func (c *converter) peerPassword(s *source, spec peerSpec, out *v1alpha1.BGPPeerSpec) {
	ns := c.opts.PylonNamespace
	switch {
	case spec.Password != "":
		s.track.use("spec.password")
		name := s.ref.Name + "-bgp-password"
		c.addSecret(s, name, []byte(spec.Password))
		out.PasswordSecretRef = &v1alpha1.SecretKeyReference{Name: name, Namespace: ns, Key: passwordKey}
		s.out.note("spec.password", Info, "moved into Secret %s/%s, key %s, which passwordSecretRef names", ns, name, passwordKey)
	case spec.PasswordSecret.Name != "":
		s.track.use("spec.passwordSecret")
		from := spec.PasswordSecret.Namespace
		if from == "" {
			from = s.ref.Namespace
		}
		name := spec.PasswordSecret.Name
		out.PasswordSecretRef = &v1alpha1.SecretKeyReference{Name: name, Namespace: ns, Key: passwordKey}
		sec, ok := c.secrets[from+"/"+name]
		switch {
		case !ok:
			s.out.note("spec.passwordSecret", Changed, "Secret %s/%s was not read: copy it to %s/%s (key %s), where passwordSecretRef points, before applying", from, name, ns, name, passwordKey)
		case len(sec.Data[passwordKey]) == 0:
			s.out.note("spec.passwordSecret", Unmapped, "Secret %s/%s has no key %s, the only one MetalLB reads", from, name, passwordKey)
		default:
			c.addSecret(s, name, sec.Data[passwordKey])
			s.out.note("spec.passwordSecret", Info, "Secret %s/%s is copied to %s/%s (key %s only), which passwordSecretRef names: pylon reads Secrets from its own namespace", from, name, ns, name, passwordKey)
		}
	}
}

// addSecret adds a password Secret in pylon's namespace, once.
func (c *converter) addSecret(s *source, name string, password []byte) {
	for _, sec := range c.res.Resources.Secrets {
		if sec.Name == name {
			if string(sec.Data[passwordKey]) != string(password) {
				s.out.note("", Unmapped, "Secret %s is made for another peer with another password; this peer's is not written", name)
			}
			return
		}
	}
	c.res.Resources.Secrets = append(c.res.Resources.Secrets, corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.opts.PylonNamespace},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{passwordKey: password},
	})
	s.out.Targets = append(s.out.Targets, "Secret "+c.opts.PylonNamespace+"/"+name)
}

// peerOptions: the remaining session options.
func (c *converter) peerOptions(s *source, spec peerSpec, out *v1alpha1.BGPPeerSpec) {
	s.track.use("spec.ebgpMultiHop")
	if spec.EBGPMultiHop {
		out.EBGPMultiHop = ptr.To(true)
	}
	s.track.use("spec.enableGracefulRestart")
	if spec.EnableGracefulRestart {
		out.GracefulRestart = &v1alpha1.GracefulRestart{}
		s.out.note("spec.enableGracefulRestart", Info, "gracefulRestart: {}: the router keeps the routes for 120s while a speaker restarts (FRR's default restart time too)")
	}
	s.track.use("spec.disableMP")
	s.track.use("spec.dualStackAddressFamily")
	if spec.DualStackAddressFamily {
		out.DualStackAddressFamily = ptr.To(true)
		s.out.note("spec.dualStackAddressFamily", Info, "dualStackAddressFamily: true: the session carries IPv4 and IPv6 routes; the other family's next hop is each node's address of that family on the interface towards the router (a node without one sends only the session's family, and its SpeakerStatus says so)")
	}
	if s.track.has("spec.routerID") {
		s.track.unmapped("spec.routerID", "pylon takes the router ID per node, not per peer: annotate each node this peer selects with pylonlb.io/bgp-router-id (default: its first IPv4 InternalIP)")
	}
	if spec.ConnectTime != nil {
		s.track.use("spec.connectTime")
		out.ConnectTime = &metav1.Duration{Duration: spec.ConnectTime.Truncate(time.Second)}
		if spec.ConnectTime.Duration%time.Second != 0 {
			s.out.note("spec.connectTime", Changed, "%s: pylon counts whole seconds (GoBGP's connect-retry timer does): %s", spec.ConnectTime.Duration, out.ConnectTime.Duration)
		}
		s.out.note("spec.connectTime", Info, "GoBGP waits between connectTime and twice it before each new attempt")
	}
	if s.track.has("spec.bfdProfile") {
		c.peerBFD(s, out)
	}
}

// peerSplit writes the peer: one with the merged node selector, or one per
// selector when they cannot be merged.
func (c *converter) peerSplit(s *source, spec peerSpec, out v1alpha1.BGPPeerSpec) {
	s.track.use("spec.nodeSelectors")
	sels := eachOf(spec.NodeSelectors)
	if len(sels) > 1 {
		s.out.note("spec.nodeSelectors", Changed, "pylon takes one node selector and these cannot be merged into one: one BGPPeer per selector (%s-1 … %s-%d); a node that more than one selects would open two sessions to the same router, which fails: make the selectors exclusive", s.ref.Name, s.ref.Name, len(sels))
	}
	for i, sel := range sels {
		name := s.ref.Name
		if len(sels) > 1 {
			name = fmt.Sprintf("%s-%d", s.ref.Name, i+1)
		}
		spec := out
		if sel != nil {
			spec.NodeSelector = sel
		}
		if !c.claim(s, "BGPPeer", name) {
			continue
		}
		c.peerNames[s.ref.Name] = append(c.peerNames[s.ref.Name], name)
		c.res.Resources.BGPPeers = append(c.res.Resources.BGPPeers, v1alpha1.BGPPeer{TypeMeta: typeMeta("BGPPeer"), ObjectMeta: meta(s, name), Spec: spec})
	}
}
