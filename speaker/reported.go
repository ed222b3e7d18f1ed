package speaker

import (
	"net/netip"
	"strings"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// Protocols of status.announcements.
const (
	ProtocolLayer2 = "Layer2"
	ProtocolBGP    = "BGP"
)

// Listing is what a node's SpeakerStatus status tells about the addresses
// the node announces: its list holds the first maxAnnouncements entries,
// layer 2 then BGP, each in address order (buildStatus).
type Listing struct{ t told }

// Listed reads a SpeakerStatus status's announcements.
func Listed(st v1alpha1.SpeakerStatusStatus) Listing { return Listing{seed(st)} }

// Announces says whether the node announces ip over protocol
// (ProtocolLayer2 or ProtocolBGP). known is false when the status cannot
// tell: its list was cut before ip's place. A listed address is known to
// be announced even where the list was cut.
func (l Listing) Announces(ip netip.Addr, protocol string) (announces, known bool) {
	switch protocol {
	case ProtocolLayer2:
		if _, ok := l.t.l2[ip]; ok {
			return true, true
		}
		return false, !l.t.l2Unlisted.has(ip)
	case ProtocolBGP:
		if _, ok := l.t.bgp[ip]; ok {
			return true, true
		}
		return false, !l.t.bgpUnlisted.has(ip)
	}
	return false, false
}

// NoteSubject reads the node and the address from the note of a speaker's
// Announcing or StoppedAnnouncing Service event ("node NAME announces IP
// ..." or "node NAME stopped announcing IP: ..."); ok is false for any
// other note.
func NoteSubject(note string) (node string, ip netip.Addr, ok bool) {
	f := strings.Fields(note)
	if len(f) < 4 || f[0] != "node" {
		return "", netip.Addr{}, false
	}
	var addr string
	switch {
	case f[2] == "announces":
		addr = f[3]
	case f[2] == "stopped" && f[3] == "announcing" && len(f) > 4:
		addr = strings.TrimSuffix(f[4], ":")
	default:
		return "", netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return "", netip.Addr{}, false
	}
	return f[1], ip, true
}
