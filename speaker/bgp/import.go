package bgp

import (
	"context"
	"fmt"

	api "github.com/osrg/gobgp/v3/api"
)

// The speaker announces; it never routes. GoBGP's default is to take every
// path a peer sends into its table, choose a best path and send it on: a
// node peering with two routers would carry one router's routes, a default
// route among them, to the other (over eBGP, or to any peer when the route
// came from an eBGP router), and a route reflector in front of the nodes
// would hand each node the others' paths, which then count as its own
// announcements. So New installs one import policy on the global table
// that rejects every path whose source is a peer (the neighbor set holds
// every address of both families); the node's own paths have no source
// peer and pass. GoBGP still keeps what each peer sent in the peer's
// Adj-RIB-In, which is where a test looks to see that a router did send.
const (
	importNeighbors = "pylon-any-peer"
	importPolicy    = "pylon-import-none"
)

// rejectLearned installs the import policy above.
func (s *Speaker) rejectLearned(ctx context.Context) error {
	if err := s.srv.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: &api.DefinedSet{
		DefinedType: api.DefinedType_NEIGHBOR, Name: importNeighbors, List: []string{"0.0.0.0/0", "::/0"},
	}}); err != nil {
		return fmt.Errorf("define every peer: %w", err)
	}
	if err := s.srv.AddPolicy(ctx, &api.AddPolicyRequest{Policy: &api.Policy{Name: importPolicy, Statements: []*api.Statement{{
		Name:       importPolicy,
		Conditions: &api.Conditions{NeighborSet: &api.MatchSet{Type: api.MatchSet_ANY, Name: importNeighbors}},
		Actions:    &api.Actions{RouteAction: api.RouteAction_REJECT},
	}}}}); err != nil {
		return fmt.Errorf("add import policy: %w", err)
	}
	if err := s.assign(ctx, api.PolicyDirection_IMPORT, importPolicy); err != nil {
		return fmt.Errorf("assign import policy: %w", err)
	}
	return nil
}
