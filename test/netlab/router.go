package netlab

import (
	"context"
	"net/netip"
)

// Router is what tests ask of a lab router, FRR or BIRD, in the
// router-neutral types of frrview.go.
type Router interface {
	// Sessions reads the router's BGP sessions.
	Sessions(ctx context.Context) ([]Session, error)
	// Paths reads the router's paths for one prefix; none when it has no
	// route.
	Paths(ctx context.Context, prefix netip.Prefix) ([]Path, error)
	// View reads the sessions and the routes of both families.
	View(ctx context.Context) (RouterView, error)
	// KernelRoutes reads the routes the router installed in its
	// namespace's kernel: prefix to gateways.
	KernelRoutes(ctx context.Context) (map[netip.Prefix][]netip.Addr, error)
}

var (
	_ Router = (*FRR)(nil)
	_ Router = (*BIRD)(nil)
)
