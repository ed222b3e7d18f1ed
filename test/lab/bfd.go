package lab

import (
	"cmp"
	"time"

	"github.com/pylonlb/pylon/test/netlab"
)

// BFD is the router's BFD profile for its sessions with the nodes (FRR's
// bfdd: `neighbor NODES4 bfd profile pylon`, both peer groups; BIRD: its
// bfd protocol's timers and `bfd on` in both BGP protocols).
type BFD struct {
	// Interval is the receive and transmit interval; 0 means 300 ms.
	Interval time.Duration
	// Multiplier is the detect multiplier; 0 means 3.
	Multiplier uint8
}

// Milliseconds is d (or 300 ms when 0) in milliseconds, for bfdd.conf.
func (b *BFD) Milliseconds(d time.Duration) int64 {
	return cmp.Or(d, 300*time.Millisecond).Milliseconds()
}

// DetectMultiplier is Multiplier, or 3 when 0.
func (b *BFD) DetectMultiplier() uint8 { return cmp.Or(b.Multiplier, 3) }

// What the router knows, as the network layer reads it.
type (
	// RouterView is the router's sessions and routes (netlab.RouterView).
	RouterView = netlab.RouterView
	// Session is one BGP neighbour of the router (netlab.Session).
	Session = netlab.Session
	// Path is one received path for a prefix (netlab.Path).
	Path = netlab.Path
	// BFDPeer is one of the router's BFD sessions (netlab.BFDPeer).
	BFDPeer = netlab.BFDPeer
)
