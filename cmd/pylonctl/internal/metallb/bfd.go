package metallb

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// bfdSpec is BFDProfile.spec (v1beta1); intervals are in milliseconds.
type bfdSpec struct {
	ReceiveInterval  *uint32 `json:"receiveInterval"`
	TransmitInterval *uint32 `json:"transmitInterval"`
	DetectMultiplier *int32  `json:"detectMultiplier"`
	EchoMode         *bool   `json:"echoMode"`
	PassiveMode      *bool   `json:"passiveMode"`
}

// bfdProfile is a BFDProfile read, as the spec.bfd of the BGPPeers that
// name it, and the pylon BGPPeers it went into.
type bfdProfile struct {
	src   *source
	spec  *v1alpha1.BFDProfile
	peers []string
}

// readBFDProfiles turns each BFDProfile into the spec.bfd it becomes in the
// BGPPeers that name it: pylon has no profile object, a BGPPeer carries its
// BFD settings. Keyed by namespace/name (a MetalLB BGPPeer names a profile
// of its own namespace).
func (c *converter) readBFDProfiles() {
	c.bfd = map[string]*bfdProfile{}
	for _, s := range c.byKind[KindBFDProfile] {
		var spec bfdSpec
		if !c.spec(s, &spec) {
			continue
		}
		out := &v1alpha1.BFDProfile{}
		ms := func(field string, v *uint32) *metav1.Duration {
			s.track.use(field)
			if v == nil {
				return nil
			}
			return &metav1.Duration{Duration: time.Duration(*v) * time.Millisecond}
		}
		out.ReceiveInterval = ms("spec.receiveInterval", spec.ReceiveInterval)
		out.TransmitInterval = ms("spec.transmitInterval", spec.TransmitInterval)
		s.track.use("spec.detectMultiplier")
		out.DetectMultiplier = spec.DetectMultiplier
		s.track.use("spec.passiveMode")
		if spec.PassiveMode != nil && *spec.PassiveMode {
			out.PassiveMode = ptr.To(true)
		}
		switch {
		case spec.EchoMode != nil && *spec.EchoMode:
			s.track.unmapped("spec.echoMode", "pylon's BFD has no echo mode (RFC 5880 asynchronous mode, control packets only): the sessions detect a failure from control packets every transmitInterval")
		default:
			s.track.use("spec.echoMode")
		}
		if s.track.has("spec.echoInterval") {
			s.track.unmapped("spec.echoInterval", "pylon's BFD has no echo mode")
		}
		if s.track.has("spec.minimumTtl") {
			s.track.unmapped("spec.minimumTtl", "pylon has no minimum TTL setting (FRR's minimum-ttl, which only multi-hop sessions use)")
		}
		c.bfd[s.ref.Namespace+"/"+s.ref.Name] = &bfdProfile{src: s, spec: out}
	}
}

// peerBFD inlines the BFDProfile a BGPPeer names into its spec.bfd.
func (c *converter) peerBFD(s *source, out *v1alpha1.BGPPeerSpec) {
	spec, _ := s.obj["spec"].(map[string]any)
	name, _ := spec["bfdProfile"].(string)
	p, ok := c.bfd[s.ref.Namespace+"/"+name]
	if !ok {
		s.track.unmapped("spec.bfdProfile", "no BFDProfile %s/%s among the objects read: the BGPPeer is made without BFD; add spec.bfd to it", s.ref.Namespace, name)
		return
	}
	s.track.use("spec.bfdProfile")
	out.BFD = p.spec.DeepCopy()
	p.peers = append(p.peers, s.ref.Name)
	s.out.note("spec.bfdProfile", Info, "BFDProfile %s is inlined as spec.bfd: pylon has no profile object, each BGPPeer carries its BFD settings", name)
}

// reportBFDProfiles says where each BFDProfile went, once the BGPPeers are
// made.
func (c *converter) reportBFDProfiles() {
	for _, p := range c.bfd {
		if len(p.peers) == 0 {
			p.src.out.note("", Info, "no BGPPeer converted names it: nothing to carry over")
			continue
		}
		for _, peer := range p.peers {
			for _, name := range c.peerNames[peer] {
				p.src.out.Targets = append(p.src.out.Targets, "BGPPeer "+name+" (spec.bfd)")
			}
		}
		p.src.out.note("", Info, "inlined as spec.bfd into the BGPPeers made from the peers that name it: pylon has no profile object")
	}
}
