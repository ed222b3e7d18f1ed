package lab

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"
)

// BFD is the router's BFD profile for its sessions with the nodes (FRR's
// bfdd: `neighbor NODES4 bfd profile pylon`, both peer groups).
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

// BFDPeer is one of the router's BFD sessions (`show bfd peers`).
type BFDPeer struct {
	Peer, Local netip.Addr
	// Status is FRR's: up, down, init, shutdown.
	Status string
	// Multihop is true for a multi-hop session.
	Multihop bool
	// Diagnostic is FRR's local diagnostic ("control detection time
	// expired", ...).
	Diagnostic string
}

// BFDPeers reads the router's BFD sessions (bfdd must run: Options.BFD).
func (r *Router) BFDPeers(ctx context.Context) ([]BFDPeer, error) {
	out, err := r.Vtysh(ctx, "show bfd peers json")
	if err != nil {
		return nil, fmt.Errorf("show bfd peers: %w: %s", err, out)
	}
	return parseBFDPeers(out)
}

func parseBFDPeers(data []byte) ([]BFDPeer, error) {
	var raw []struct {
		Peer       string `json:"peer"`
		Local      string `json:"local"`
		Status     string `json:"status"`
		Multihop   bool   `json:"multihop"`
		Diagnostic string `json:"diagnostic"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse show bfd peers: %w: %s", err, data)
	}
	out := make([]BFDPeer, 0, len(raw))
	for _, p := range raw {
		peer, err := netip.ParseAddr(p.Peer)
		if err != nil {
			return nil, fmt.Errorf("show bfd peers: peer %q: %w", p.Peer, err)
		}
		local, _ := netip.ParseAddr(p.Local) // empty until the session is set up
		out = append(out, BFDPeer{Peer: peer, Local: local, Status: p.Status, Multihop: p.Multihop, Diagnostic: p.Diagnostic})
	}
	return out, nil
}
