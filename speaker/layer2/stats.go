package layer2

import (
	"net"
	"net/netip"
	"sync/atomic"
)

// Counters count one protocol's traffic since the Announcer was made.
type Counters struct {
	// Requests: ARP requests or neighbour solicitations received for an
	// address owned on the interface they came in on.
	Requests uint64
	// Replies: answers sent to them.
	Replies uint64
	// Gratuitous: gratuitous ARP packets (a request and a reply per round)
	// or unsolicited neighbour advertisements sent on taking an address.
	Gratuitous uint64
	// Probes: requests sent for owned addresses to find another answerer.
	Probes uint64
	// Conflicts: packets from another MAC claiming an owned address.
	Conflicts uint64
	// SendFailures: replies, gratuitous packets and probes that could not
	// be sent.
	SendFailures uint64
}

// Stats holds the counters of both protocols.
type Stats struct {
	ARP Counters
	NDP Counters
}

// counters is the live, concurrently updated form of Counters.
type counters struct {
	requests, replies, gratuitous, probes, conflicts, sendFailures atomic.Uint64
}

func (c *counters) snapshot() Counters {
	return Counters{
		Requests:     c.requests.Load(),
		Replies:      c.replies.Load(),
		Gratuitous:   c.gratuitous.Load(),
		Probes:       c.probes.Load(),
		Conflicts:    c.conflicts.Load(),
		SendFailures: c.sendFailures.Load(),
	}
}

// Protocol names the protocol a Conflict was seen on.
type Protocol string

// The two protocols.
const (
	ARP Protocol = "ARP"
	NDP Protocol = "NDP"
)

// ConflictKind says what the other machine sent.
type ConflictKind string

// Kinds of conflicting packets.
const (
	// ConflictReply: an answer for the address (ARP reply or solicited
	// neighbour advertisement), typically to this node's probe.
	ConflictReply ConflictKind = "Reply"
	// ConflictAnnouncement: a gratuitous ARP or unsolicited neighbour
	// advertisement for the address.
	ConflictAnnouncement ConflictKind = "Announcement"
	// ConflictRequest: an ARP request sent from the address.
	ConflictRequest ConflictKind = "Request"
)

// Conflict reports another MAC claiming an address this node owns: the mark
// of a second owner (split brain) or of a foreign host configured with it.
type Conflict struct {
	IP        netip.Addr
	Interface string
	Protocol  Protocol
	Kind      ConflictKind
	// MAC is the other machine's hardware address.
	MAC net.HardwareAddr
}
