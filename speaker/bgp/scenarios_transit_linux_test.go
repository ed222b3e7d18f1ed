package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"

	"github.com/pylonlb/pylon/test/poll"
)

// Prefixes router B originates towards the node in scenarioNoTransit: a
// default route and a documentation range, both never a pool's.
var transitPrefixes = []string{"0.0.0.0/0", "192.0.2.0/24"}

// scenarioNoTransit: the node peers with router A over eBGP and with router
// B over iBGP, and B sends it a default route and 192.0.2.0/24. The
// speaker takes neither into its table (import.go), so it never sends them
// on to A, which would make the node a transit for B's routes; A gets the
// node's own path and nothing else, and the session's sent count says 1.
// The node's Adj-RIB-In from B shows B did send them.
func scenarioNoTransit(t *testing.T, r router) {
	ctx := context.Background()
	if r.lab.Dir2 == "" {
		t.Fatal("the lab has no router B")
	}
	rb := router{kind: r.kind, t: t, dir: r.lab.Dir2, lab: r.lab, ns: r.lab.Router2}
	rb.originate(t, nodeIBGP, transitPrefixes)

	s := newSpeaker(t, nodeEBGP)
	b := Peer{Name: "b", Address: netip.MustParseAddr(routerB), MyASN: routerASN, PeerASN: routerASN,
		SourceAddress: netip.MustParseAddr(nodeIBGP), HoldTime: 9 * time.Second}
	if err := s.SetPeers(ctx, []Peer{ebgpPeer(), b}); err != nil {
		t.Fatal(err)
	}
	established(t, r, s, "router", nodeEBGP)
	established(t, rb, s, "b", nodeIBGP)
	poll.Eventually(t, 20*time.Millisecond, 10*time.Second, "router B's prefixes in the node's Adj-RIB-In", func() error {
		got, err := s.listPrefixes(ctx, api.TableType_ADJ_IN, routerB)
		if err != nil {
			return err
		}
		if !slices.Equal(got, transitPrefixes) {
			return fmt.Errorf("got %v, want %v", got, transitPrefixes)
		}
		return nil
	})

	// UPDATEs on one session arrive in order: had the speaker sent B's
	// routes on, they would be at A before the node's own path is.
	own := "198.51.100.90/32"
	if err := s.SetPaths(ctx, []Path{{Prefix: pfx(own)}}); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, own, nodeEBGP, nextHop(nodeEBGP))
	for _, p := range transitPrefixes {
		if ps, err := r.paths(p, nodeEBGP); err != nil || len(ps) > 0 {
			t.Errorf("router A has %s from the node (%v): the node sent router B's route on: %+v", p, err, ps)
		}
	}
	if got, err := s.listPrefixes(ctx, api.TableType_GLOBAL, ""); err != nil || !slices.Equal(got, []string{own}) {
		t.Errorf("the speaker's table holds %v (%v), want only its own %s", got, err, own)
	}
	if sess := session(t, s, "router"); sess.PrefixesSent != 1 {
		t.Errorf("session with router A: %d prefixes sent, want 1", sess.PrefixesSent)
	}
}

// originate has the router send prefixes (IPv4) to its neighbour local
// until the test ends: FRR's network statements (and default-originate for
// the default route), BIRD's static protocol exported to that neighbour.
func (r router) originate(t *testing.T, local string, prefixes []string) {
	t.Helper()
	if r.kind == routerBIRD {
		r.birdConfigure(t, func(c *birdConfig) {
			c.Originate = prefixes
			c.neighbour(local, func(n *birdNeighbour) { n.ExportOriginated = true })
		})
		return
	}
	do := []string{"no bgp network import-check", "address-family ipv4 unicast"}
	undo := []string{"address-family ipv4 unicast"}
	for _, p := range prefixes {
		if p == "0.0.0.0/0" {
			do = append(do, "neighbor "+local+" default-originate")
			undo = append(undo, "no neighbor "+local+" default-originate")
			continue
		}
		do = append(do, "network "+p)
		undo = append(undo, "no network "+p)
	}
	r.configure(t, do, append(undo, "exit-address-family", "bgp network import-check"))
}

// listPrefixes is the prefixes of IPv4 unicast in one of the GoBGP server's
// tables (name: the peer's address, for an Adj-RIB), sorted.
func (s *Speaker) listPrefixes(ctx context.Context, table api.TableType, name string) ([]string, error) {
	var out []string
	err := s.srv.ListPath(ctx, &api.ListPathRequest{
		TableType: table, Name: name,
		Family: &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST},
	}, func(d *api.Destination) { out = append(out, d.Prefix) })
	slices.Sort(out)
	return out, err
}
