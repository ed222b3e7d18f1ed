package netlab

import (
	"net/netip"
	"slices"
	"testing"
)

func TestParseBFDPeers(t *testing.T) {
	data := []byte(`[{"multihop":false,"peer":"198.18.0.11","local":"198.18.0.2","vrf":"default","id":1,"remote-id":7,"passive-mode":false,"status":"up","uptime":12,"diagnostic":"ok","remote-diagnostic":"ok","transmit-interval":300,"remote-transmit-interval":600,"remote-receive-interval":300,"remote-detect-multiplier":3},
{"multihop":false,"peer":"198.18.0.12","vrf":"default","id":2,"remote-id":0,"status":"down","downtime":3,"diagnostic":"control detection time expired","remote-diagnostic":"administratively down"}]`)
	got, err := parseBFDPeers(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []BFDPeer{
		{Peer: netip.MustParseAddr("198.18.0.11"), Local: netip.MustParseAddr("198.18.0.2"), Status: "up", Diagnostic: "ok",
			RemoteDiagnostic: "ok", ID: 1, RemoteID: 7, TransmitInterval: 300, RemoteTransmit: 600, RemoteReceive: 300, RemoteMultiplier: 3},
		{Peer: netip.MustParseAddr("198.18.0.12"), Status: "down", Diagnostic: "control detection time expired",
			RemoteDiagnostic: "administratively down", ID: 2},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
