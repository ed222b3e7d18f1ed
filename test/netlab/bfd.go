package netlab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
)

// BFDPeer is one of the router's BFD sessions (`show bfd peers json`).
type BFDPeer struct {
	Peer, Local netip.Addr
	// Status is FRR's: up, down, init, shutdown.
	Status string
	// Multihop is true for a multi-hop session.
	Multihop bool
	// Diagnostic is FRR's local diagnostic ("control detection time
	// expired", ...), RemoteDiagnostic the one the peer last sent
	// ("administratively down").
	Diagnostic, RemoteDiagnostic string
	// ID and RemoteID are the local and the peer's discriminators (0 until
	// learnt).
	ID, RemoteID uint32
	// TransmitInterval is the router's, in milliseconds; RemoteTransmit,
	// RemoteReceive and RemoteMultiplier are what the peer asked for.
	TransmitInterval, RemoteTransmit, RemoteReceive, RemoteMultiplier int
	// DetectTime (milliseconds) and Since are BIRD's: its detection time
	// for the peer (the peer's multiplier times the slower of the peer's
	// transmit and its own receive interval, 0 while down) and when the
	// session last changed state. BIRD 2.0 shows no diagnostics, no
	// discriminators and none of the peer's own intervals: those stay
	// empty, as Local does.
	DetectTime int
	Since      string
}

// BFDPeers reads the router's BFD sessions (bfdd must run).
func (f *FRR) BFDPeers(ctx context.Context) ([]BFDPeer, error) {
	out, err := f.Vtysh(ctx, "show bfd peers json")
	if err != nil {
		return nil, fmt.Errorf("show bfd peers: %w: %s", err, out)
	}
	return parseBFDPeers(out)
}

// BFDPeer reads the router's BFD session with peer.
func (f *FRR) BFDPeer(ctx context.Context, peer netip.Addr) (BFDPeer, error) {
	peers, err := f.BFDPeers(ctx)
	if err != nil {
		return BFDPeer{}, err
	}
	for _, p := range peers {
		if p.Peer == peer {
			return p, nil
		}
	}
	return BFDPeer{}, fmt.Errorf("bfdd has no peer %s: %+v", peer, peers)
}

func parseBFDPeers(data []byte) ([]BFDPeer, error) {
	var raw []struct {
		Peer             string `json:"peer"`
		Local            string `json:"local"`
		Status           string `json:"status"`
		Multihop         bool   `json:"multihop"`
		Diagnostic       string `json:"diagnostic"`
		RemoteDiagnostic string `json:"remote-diagnostic"`
		ID               uint32 `json:"id"`
		RemoteID         uint32 `json:"remote-id"`
		TransmitInterval int    `json:"transmit-interval"`
		RemoteTransmit   int    `json:"remote-transmit-interval"`
		RemoteReceive    int    `json:"remote-receive-interval"`
		RemoteMultiplier int    `json:"remote-detect-multiplier"`
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
		out = append(out, BFDPeer{Peer: peer, Local: local, Status: p.Status, Multihop: p.Multihop,
			Diagnostic: p.Diagnostic, RemoteDiagnostic: p.RemoteDiagnostic, ID: p.ID, RemoteID: p.RemoteID,
			TransmitInterval: p.TransmitInterval, RemoteTransmit: p.RemoteTransmit,
			RemoteReceive: p.RemoteReceive, RemoteMultiplier: p.RemoteMultiplier})
	}
	return out, nil
}
