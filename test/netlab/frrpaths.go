package netlab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
)

// Paths reads the router's paths for one prefix (`show bgp <afi> unicast
// <prefix> json`): one vtysh call, none when it has no route.
func (f *FRR) Paths(ctx context.Context, prefix netip.Prefix) ([]Path, error) {
	afi := "ipv4"
	if prefix.Addr().Is6() {
		afi = "ipv6"
	}
	out, err := f.Vtysh(ctx, "show bgp "+afi+" unicast "+prefix.String()+" json")
	if err != nil {
		return nil, err
	}
	return parsePaths(prefix, out)
}

func parsePaths(prefix netip.Prefix, data []byte) ([]Path, error) {
	var route struct {
		Paths []pathJSON `json:"paths"`
	}
	if err := json.Unmarshal(data, &route); err != nil {
		return nil, fmt.Errorf("parse bgp route %s: %w", prefix, err)
	}
	var out []Path
	for _, it := range route.Paths {
		if it.Peer == nil {
			continue
		}
		p, err := it.path(prefix)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", prefix, err)
		}
		out = append(out, p)
	}
	return out, nil
}
