package config

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// BGP timer defaults, as most routers use them.
const (
	DefaultHoldTime    = 90 * time.Second
	DefaultPort        = 179
	DefaultRestartTime = 120 * time.Second
	maxHoldTime        = 65535 * time.Second
	maxRestartTime     = 4095 * time.Second
	maxConnectTime     = 65535 * time.Second
)

// peers parses every BGPPeer, resolves password Secrets and rejects the newer
// of two peers that describe the same session.
func (p *parser) peers(in []v1alpha1.BGPPeer, secrets []corev1.Secret, namespace string) {
	byName := map[types.NamespacedName]*corev1.Secret{}
	for i := range secrets {
		byName[types.NamespacedName{Namespace: secrets[i].Namespace, Name: secrets[i].Name}] = &secrets[i]
	}
	var parsed []*BGPPeer
	created := map[string]v1alpha1.BGPPeer{}
	for i := range in {
		peer, errs := parsePeer(&in[i])
		if len(errs) > 0 {
			p.problem(KindBGPPeer, in[i].Name, ReasonInvalidSpec, true, errs)
			continue
		}
		if ref := in[i].Spec.PasswordSecretRef; ref != nil {
			peer.passwordFrom = passwordSource(ref, namespace)
			pw, err := password(ref, byName, namespace)
			switch {
			case err == nil:
				peer.Password = pw
			case p.lastPassword(peer) != "":
				// The Secret went away or broke under a working session:
				// keep the password it had until the Secret is fixed.
				peer.Password = p.lastPassword(peer)
				p.cfg.Problems = append(p.cfg.Problems, Problem{Kind: KindBGPPeer, Name: in[i].Name, Reason: ReasonSecretNotUsable,
					Errors: field.ErrorList{err}, Kept: "the last good password stays in use until the Secret is fixed"})
			default:
				p.problem(KindBGPPeer, in[i].Name, ReasonSecretNotUsable, true, field.ErrorList{err})
				continue
			}
		}
		parsed = append(parsed, peer)
		created[peer.Name] = in[i]
	}

	// Of two peers for the same session, the older one wins.
	slices.SortFunc(parsed, func(a, b *BGPPeer) int {
		return cmp.Or(created[a.Name].CreationTimestamp.Compare(created[b.Name].CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	seen := map[string]string{}
	for _, peer := range parsed {
		key := netip.AddrPortFrom(peer.Address, peer.Port).String() + " from " + peer.SourceAddress.String() + " on " + peer.NodeSelector.String()
		if older, dup := seen[key]; dup {
			path := field.NewPath("spec", "peerAddress")
			p.problemBlaming(KindBGPPeer, peer.Name, ReasonDuplicatePeer, true, field.ErrorList{
				field.Duplicate(path, peer.Address.String()+": BGPPeer "+older+" already describes this session (same address, port, source address and node selector)"),
			}, []blame{{key: objKey{KindBGPPeer, older}, path: path}})
			continue
		}
		seen[key] = peer.Name
		p.cfg.BGPPeers = append(p.cfg.BGPPeers, peer)
	}
	slices.SortFunc(p.cfg.BGPPeers, func(a, b *BGPPeer) int { return cmp.Compare(a.Name, b.Name) })
}

func parsePeer(in *v1alpha1.BGPPeer) (*BGPPeer, field.ErrorList) {
	spec := field.NewPath("spec")
	s := in.Spec
	var errs field.ErrorList
	peer := &BGPPeer{Name: in.Name, Port: DefaultPort, HoldTime: DefaultHoldTime, EBGPMultiHop: s.EBGPMultiHop != nil && *s.EBGPMultiHop}

	asn := func(name string, v v1alpha1.ASN) uint32 {
		if v < 1 || v > 4294967295 {
			errs = append(errs, field.Invalid(spec.Child(name), v, "must be an AS number from 1 to 4294967295"))
			return 0
		}
		return uint32(v)
	}
	peer.MyASN = asn("myASN", s.MyASN)
	switch s.DynamicASN {
	case "":
		peer.PeerASN = asn("peerASN", s.PeerASN)
	case v1alpha1.DynamicASNInternal, v1alpha1.DynamicASNExternal:
		peer.DynamicASN = s.DynamicASN
		if s.PeerASN != 0 {
			errs = append(errs, field.Invalid(spec.Child("dynamicASN"), s.DynamicASN, "exactly one of peerASN and dynamicASN must be set"))
		}
		if s.DynamicASN == v1alpha1.DynamicASNInternal {
			peer.PeerASN = peer.MyASN
		}
	default:
		errs = append(errs, field.NotSupported(spec.Child("dynamicASN"), s.DynamicASN, []string{string(v1alpha1.DynamicASNInternal), string(v1alpha1.DynamicASNExternal)}))
	}

	addr := func(name, v string, required bool) netip.Addr {
		if v == "" && !required {
			return netip.Addr{}
		}
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			errs = append(errs, field.Invalid(spec.Child(name), v, "must be an IPv4 or IPv6 address, such as 198.18.0.1 or 2001:db8::1"))
		}
		return a
	}
	peer.Address = addr("peerAddress", s.PeerAddress, true)
	if a := peer.Address; a.IsValid() && (a.IsUnspecified() || a.IsLoopback() || a.IsMulticast()) {
		errs = append(errs, field.Invalid(spec.Child("peerAddress"), s.PeerAddress, "must be a router's unicast address: not unspecified, loopback or multicast"))
	}
	peer.SourceAddress = addr("sourceAddress", s.SourceAddress, false)
	if peer.SourceAddress.IsValid() && peer.Address.IsValid() && peer.SourceAddress.Is4() != peer.Address.Is4() {
		errs = append(errs, field.Invalid(spec.Child("sourceAddress"), s.SourceAddress, "must be of the same IP family as peerAddress"))
	}

	if s.PeerPort != nil {
		if *s.PeerPort < 1 || *s.PeerPort > 65535 {
			errs = append(errs, field.Invalid(spec.Child("peerPort"), *s.PeerPort, "must be a TCP port from 1 to 65535"))
		} else {
			peer.Port = uint16(*s.PeerPort)
		}
	}

	if s.HoldTime != nil {
		peer.HoldTime = s.HoldTime.Duration
		if h := peer.HoldTime; h < 3*time.Second || h > maxHoldTime {
			errs = append(errs, field.Invalid(spec.Child("holdTime"), h.String(), "must be between 3s and 65535s (0s, no hold timer, is not supported)"))
		}
	}
	peer.KeepaliveTime = peer.HoldTime / 3
	if s.KeepaliveTime != nil {
		peer.KeepaliveTime = s.KeepaliveTime.Duration
		switch k := peer.KeepaliveTime; {
		case k < 0:
			errs = append(errs, field.Invalid(spec.Child("keepaliveTime"), k.String(), "must not be negative"))
		case k >= peer.HoldTime:
			errs = append(errs, field.Invalid(spec.Child("keepaliveTime"), k.String(), "must be less than holdTime ("+peer.HoldTime.String()+")"))
		}
	}

	if peer.EBGPMultiHop && peer.MyASN == peer.PeerASN {
		errs = append(errs, field.Invalid(spec.Child("ebgpMultiHop"), true, "is for eBGP peers only (myASN differs from peerASN, or dynamicASN external)"))
	}

	if gr := s.GracefulRestart; gr != nil {
		peer.RestartTime = DefaultRestartTime
		if gr.RestartTime != nil {
			peer.RestartTime = gr.RestartTime.Duration
		}
		if t := peer.RestartTime; t < time.Second || t > maxRestartTime {
			errs = append(errs, field.Invalid(spec.Child("gracefulRestart", "restartTime"), t.String(), "must be between 1s and 4095s"))
		}
	}

	peer.DualStackAddressFamily = s.DualStackAddressFamily != nil && *s.DualStackAddressFamily

	var err *field.Error
	if peer.NodeSelector, err = parseNodeSelector(s.NodeSelector, spec.Child("nodeSelector")); err != nil {
		errs = append(errs, err)
	}

	if s.ConnectTime != nil {
		peer.ConnectTime = s.ConnectTime.Truncate(time.Second)
		if t := s.ConnectTime.Duration; t < time.Second || t > maxConnectTime {
			errs = append(errs, field.Invalid(spec.Child("connectTime"), t.String(), "must be between 1s and 65535s"))
		}
	}
	peer.Passive = s.Passive != nil && *s.Passive
	if s.VRF != "" {
		if msg := interfaceNameError(string(s.VRF)); msg != "" {
			errs = append(errs, field.Invalid(spec.Child("vrf"), string(s.VRF), msg))
		}
		peer.VRF = string(s.VRF)
	}
	if s.BFD != nil {
		var bfdErrs field.ErrorList
		peer.BFD, bfdErrs = parseBFD(s.BFD, spec.Child("bfd"))
		errs = append(errs, bfdErrs...)
	}
	return peer, errs
}

// passwordSource names where a peer's password comes from: namespace/name/key.
func passwordSource(ref *v1alpha1.SecretKeyReference, namespace string) string {
	return cmp.Or(ref.Namespace, namespace) + "/" + ref.Name + "/" + cmp.Or(ref.Key, "password")
}

// lastPassword returns the password the configuration in force before had
// for this peer from the same Secret key; "" when it had none.
func (p *parser) lastPassword(peer *BGPPeer) string {
	if p.last == nil {
		return ""
	}
	if old := p.last.Peer(peer.Name); old != nil && old.passwordFrom == peer.passwordFrom {
		return old.Password
	}
	return ""
}

// password reads the TCP-MD5 password a peer references.
func password(ref *v1alpha1.SecretKeyReference, secrets map[types.NamespacedName]*corev1.Secret, namespace string) (string, *field.Error) {
	path := field.NewPath("spec", "passwordSecretRef")
	ns := cmp.Or(ref.Namespace, namespace)
	key := cmp.Or(ref.Key, "password")
	sec, ok := secrets[types.NamespacedName{Namespace: ns, Name: ref.Name}]
	if !ok {
		return "", field.NotFound(path.Child("name"), ns+"/"+ref.Name)
	}
	v, ok := sec.Data[key]
	if !ok {
		return "", field.Invalid(path.Child("key"), key, "Secret "+ns+"/"+ref.Name+" has no key "+key)
	}
	if len(v) == 0 || len(v) > 80 {
		return "", field.Invalid(path.Child("key"), key, "the password in Secret "+ns+"/"+ref.Name+" must be 1 to 80 bytes long (TCP-MD5)")
	}
	return string(v), nil
}
