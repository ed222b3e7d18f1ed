package bgp

import (
	"context"
	"fmt"
	"net/netip"

	api "github.com/osrg/gobgp/v3/api"
)

// ResetPeer tears the session with the peer at addr down at once: GoBGP
// sends a Cease notification (Administrative Reset, which RFC 8538 makes a
// Hard Reset when graceful restart is on: the router drops this speaker's
// routes instead of keeping them stale), closes the connection and, after
// the connect-retry interval (Options.ConnectRetry, which apiPeer also sets
// as GoBGP's idle hold time after a reset), opens a new session, which
// announces the peer's paths again. The peer stays configured. It is how a
// BFD session that went down drops the BGP session riding on the dead path
// without waiting for the hold time. reason goes into the notification
// (RFC 8203 shutdown communication). A peer the speaker does not have is an
// error wrapping ErrInvalidPeer.
func (s *Speaker) ResetPeer(ctx context.Context, addr netip.Addr, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	known := false
	for _, p := range s.peers {
		known = known || p.cfg.Address == addr
	}
	if !known {
		return fmt.Errorf("reset peer %s: %w: the speaker has no peer at that address", addr, ErrInvalidPeer)
	}
	s.changed()
	if err := s.srv.ResetPeer(ctx, &api.ResetPeerRequest{Address: addr.String(), Communication: reason}); err != nil {
		return fmt.Errorf("reset peer %s: %w", addr, err)
	}
	return nil
}
