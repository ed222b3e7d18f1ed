package netlab

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// BIRD 2 has no JSON output: the read side parses birdc's text, and fills
// the router-neutral types of frrview.go. What BIRD does not give stays
// empty (see Session and Path).

// Sessions reads the router's BGP sessions (`show protocols all`): one
// birdc call.
func (b *BIRD) Sessions(ctx context.Context) ([]Session, error) {
	protos, err := b.protocols(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Session, 0, len(protos))
	for _, p := range protos {
		out = append(out, p.Session)
	}
	slices.SortFunc(out, func(a, b Session) int { return a.Peer.Compare(b.Peer) })
	return out, nil
}

func (b *BIRD) protocols(ctx context.Context) (map[string]birdProtocol, error) {
	out, err := b.Birdc(ctx, "show", "protocols", "all")
	if err != nil {
		return nil, err
	}
	return parseBIRDProtocols(out)
}

// Paths reads the router's paths for one prefix: `show route <prefix>
// all`, what the kernel protocol exports for it (for Multipath) and the
// protocols (for each path's peer): three birdc calls, a few milliseconds.
func (b *BIRD) Paths(ctx context.Context, prefix netip.Prefix) ([]Path, error) {
	out, err := b.Birdc(ctx, "show", "route", prefix.String(), "all")
	if err != nil {
		if bytes.Contains(out, []byte("Network not found")) {
			return nil, nil
		}
		return nil, err
	}
	routes, err := b.resolve(ctx, out, prefix.Addr().Is4(), prefix.String())
	if err != nil {
		return nil, err
	}
	return routes[prefix], nil
}

// View reads the router's sessions and the routes of both families.
func (b *BIRD) View(ctx context.Context) (RouterView, error) {
	v := RouterView{Routes: map[netip.Prefix][]Path{}}
	var err error
	if v.Sessions, err = b.Sessions(ctx); err != nil {
		return RouterView{}, err
	}
	for _, v4 := range []bool{true, false} {
		table := "master6"
		if v4 {
			table = "master4"
		}
		out, err := b.Birdc(ctx, "show", "route", "table", table, "all")
		if err != nil {
			return RouterView{}, err
		}
		routes, err := b.resolve(ctx, out, v4, "table", table)
		if err != nil {
			return RouterView{}, err
		}
		for p, paths := range routes {
			v.Routes[p] = paths
		}
	}
	return v, nil
}

// resolve parses `show route … all` output and fills what it does not
// say: each path's peer and kind of session, from the protocols, and
// Multipath, from the kernel protocol's export of the same selection
// (which shows ECMP routes merged, one "via" per next hop).
func (b *BIRD) resolve(ctx context.Context, out []byte, v4 bool, selection ...string) (map[netip.Prefix][]Path, error) {
	routes, err := parseBIRDRoutes(out)
	if err != nil {
		return nil, err
	}
	if len(routes) == 0 {
		return map[netip.Prefix][]Path{}, nil
	}
	protos, err := b.protocols(ctx)
	if err != nil {
		return nil, err
	}
	kernel := BIRDKernel6
	if v4 {
		kernel = BIRDKernel4
	}
	args := append(append([]string{"show", "route"}, selection...), "export", kernel)
	exp, err := b.Birdc(ctx, args...)
	if err != nil && !bytes.Contains(exp, []byte("Network not found")) {
		return nil, err
	}
	merged, err := parseBIRDRoutes(exp)
	if err != nil {
		return nil, err
	}
	return resolveBIRD(routes, protos, merged), nil
}

// birdRoute is one path of `show route … all` before it is resolved: the
// protocol it came from and the next hops BIRD forwards to ("via" lines).
type birdRoute struct {
	Path
	protocol string
	via      []netip.Addr
}

// birdProtocol is one BGP protocol of `show protocols all`.
type birdProtocol struct {
	Session
	// Internal is "Session: internal …".
	Internal bool
}

func resolveBIRD(routes map[netip.Prefix][]birdRoute, protos map[string]birdProtocol, merged map[netip.Prefix][]birdRoute) map[netip.Prefix][]Path {
	out := map[netip.Prefix][]Path{}
	for prefix, rs := range routes {
		var ecmp []netip.Addr
		if m := merged[prefix]; len(m) == 1 && len(m[0].via) > 1 {
			ecmp = m[0].via
		}
		for _, r := range rs {
			p := r.Path
			if proto, ok := protos[r.protocol]; ok {
				p.Peer = proto.Peer
				p.PeerType = "external"
				if proto.Internal {
					p.PeerType = "internal"
				}
			}
			for _, via := range r.via {
				p.Multipath = p.Multipath || slices.Contains(ecmp, via)
			}
			out[prefix] = append(out[prefix], p)
		}
	}
	return out
}

// KernelRoutes reads the router's kernel routes installed by BIRD (proto
// bird): prefix to gateways, several for ECMP (merge paths).
func (b *BIRD) KernelRoutes(ctx context.Context) (map[netip.Prefix][]netip.Addr, error) {
	return ReadKernelRoutes(ctx, b.Netns, "bird")
}

// A protocol's first line: name, protocol, table, state, since, info.
var birdProtoLine = regexp.MustCompile(`^(\S+)\s+(\S+)\s+(\S+)\s+(up|down|start|stop|flush)\s+(.*)$`)

// parseBIRDProtocols reads `show protocols all`: its BGP protocols by
// name.
func parseBIRDProtocols(data []byte) (map[string]birdProtocol, error) {
	out := map[string]birdProtocol{}
	var cur *birdProtocol
	var name, channel string
	// neighbourCaps: inside "Neighbor capabilities" (the peer's).
	neighbourCaps := false
	done := func() {
		if cur != nil && cur.Peer.IsValid() {
			out[name] = *cur
		}
		cur = nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "Name ") {
			continue
		}
		if !strings.HasPrefix(line, " ") {
			done()
			m := birdProtoLine.FindStringSubmatch(line)
			if m == nil || m[2] != "BGP" {
				continue
			}
			name, channel, neighbourCaps = m[1], "", false
			cur = &birdProtocol{Session: Session{PrefixesReceived: map[string]int{}, PrefixesSent: map[string]int{}, Since: sinceOf(m[5])}}
			continue
		}
		if cur == nil {
			continue
		}
		key, val, ok := strings.Cut(strings.TrimSpace(line), ":")
		val = strings.TrimSpace(val)
		switch {
		case strings.TrimSpace(line) == "Neighbor capabilities":
			neighbourCaps = true
		case strings.TrimSpace(line) == "Local capabilities":
			neighbourCaps = false
		case strings.HasPrefix(line, "  Channel "):
			channel = strings.TrimPrefix(line, "  Channel ")
			neighbourCaps = false
		case key == "Hostname" && neighbourCaps:
			cur.Hostname = val
		case !ok:
		case key == "BGP state":
			cur.State = val
		case key == "Neighbor address":
			a, err := netip.ParseAddr(strings.Fields(val)[0])
			if err != nil {
				return nil, fmt.Errorf("protocol %s: neighbor address %q: %w", name, val, err)
			}
			cur.Peer = a
		case key == "Neighbor AS":
			as, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("protocol %s: neighbor AS %q: %w", name, val, err)
			}
			cur.RemoteAS = uint32(as)
		case key == "Session":
			cur.Internal = strings.HasPrefix(val, "internal")
			neighbourCaps = false
		case key == "Routes" && channel != "":
			// "2 imported, 0 exported, 2 preferred"
			f := strings.Fields(val)
			if len(f) < 4 || f[1] != "imported," || !strings.HasPrefix(f[3], "exported") {
				return nil, fmt.Errorf("protocol %s: routes %q", name, val)
			}
			imported, err := strconv.Atoi(f[0])
			if err != nil {
				return nil, fmt.Errorf("protocol %s: routes %q: %w", name, val, err)
			}
			exported, err := strconv.Atoi(f[2])
			if err != nil {
				return nil, fmt.Errorf("protocol %s: routes %q: %w", name, val, err)
			}
			cur.PrefixesReceived[channel], cur.PrefixesSent[channel] = imported, exported
		}
	}
	done()
	return out, sc.Err()
}

// sinceOf is the time in a protocol line's "since" column ("2026-12-05
// 09:47:54.767  Established"): with `timeformat protocol iso long ms` it is
// a date and a time.
func sinceOf(s string) string {
	f := strings.Fields(s)
	if len(f) >= 2 && strings.Count(f[0], "-") == 2 {
		return f[0] + " " + f[1]
	}
	if len(f) >= 1 {
		return f[0]
	}
	return ""
}

// A route's first line: the prefix (empty for a further path of the same
// prefix), its kind, [protocol since (from …)], best, (preference).
var birdRouteLine = regexp.MustCompile(`^(\S*)\s+(unicast|unreachable|blackhole|prohibited)\s+\[(\S+)[^\]]*\](\s\*)?\s+\(\d+`)

// parseBIRDRoutes reads `show route … all` (or without all, or the export
// of a protocol): the paths per prefix, with what the text says.
func parseBIRDRoutes(data []byte) (map[netip.Prefix][]birdRoute, error) {
	out := map[netip.Prefix][]birdRoute{}
	var prefix netip.Prefix
	var cur *birdRoute
	done := func() {
		if cur != nil {
			out[prefix] = append(out[prefix], *cur)
		}
		cur = nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "Table ") {
			continue
		}
		if m := birdRouteLine.FindStringSubmatch(line); m != nil {
			done()
			if m[1] != "" {
				p, err := netip.ParsePrefix(m[1])
				if err != nil {
					return nil, fmt.Errorf("route %q: %w", m[1], err)
				}
				prefix = p
			}
			if !prefix.IsValid() {
				return nil, fmt.Errorf("a path without a prefix: %q", line)
			}
			cur = &birdRoute{Path: Path{Prefix: prefix, Best: m[4] != "", Valid: m[2] == "unicast"}, protocol: m[3]}
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("unexpected line %q", line)
		}
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "via "); ok {
			a, err := netip.ParseAddr(strings.Fields(rest)[0])
			if err != nil {
				return nil, fmt.Errorf("route %s: %q: %w", prefix, line, err)
			}
			cur.via = append(cur.via, a)
			continue
		}
		if err := cur.attribute(line); err != nil {
			return nil, fmt.Errorf("route %s: %w", prefix, err)
		}
	}
	done()
	return out, sc.Err()
}

// attribute reads one "BGP.<name>: <value>" line into the path.
func (r *birdRoute) attribute(line string) error {
	key, val, ok := strings.Cut(line, ":")
	if !ok || !strings.HasPrefix(key, "BGP.") {
		return nil // "Type: BGP univ", and attributes of other protocols
	}
	val = strings.TrimSpace(val)
	var err error
	switch key {
	case "BGP.as_path":
		// "64512 64514", "{64512 64514}" for a set.
		for _, f := range strings.Fields(strings.NewReplacer("{", " ", "}", " ").Replace(val)) {
			as, perr := strconv.ParseUint(f, 10, 32)
			if perr != nil {
				return fmt.Errorf("as_path %q: %w", val, perr)
			}
			r.ASPath = append(r.ASPath, uint32(as))
		}
	case "BGP.next_hop":
		// The global next hop and, for IPv6, its link-local twin.
		r.NextHops, err = parseAddrs(val)
	case "BGP.local_pref":
		var lp uint64
		if lp, err = strconv.ParseUint(val, 10, 32); err == nil {
			v := uint32(lp)
			r.LocalPref = &v
		}
	case "BGP.med":
		var med uint64
		if med, err = strconv.ParseUint(val, 10, 32); err == nil {
			r.MED = uint32(med)
		}
	case "BGP.originator_id":
		r.OriginatorID, err = netip.ParseAddr(val)
	case "BGP.cluster_list":
		r.ClusterList, err = parseAddrs(val)
	case "BGP.community":
		r.Communities, err = birdCommunities(val, 2)
	case "BGP.large_community":
		r.LargeCommunities, err = birdCommunities(val, 3)
	}
	if err != nil {
		return fmt.Errorf("%s %q: %w", key, val, err)
	}
	return nil
}

// parseAddrs reads addresses separated by spaces.
func parseAddrs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, f := range strings.Fields(s) {
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// wellKnown are the communities FRR prints by name (RFC 1997, 7611, 7999,
// 8326, 8642).
var wellKnown = map[[2]uint64]string{
	{65535, 0}: "graceful-shutdown", {65535, 1}: "accept-own", {65535, 6}: "llgr-stale", {65535, 7}: "no-llgr",
	{65535, 666}: "blackhole", {65535, 65281}: "no-export", {65535, 65282}: "no-advertise",
	{65535, 65283}: "local-AS", {65535, 65284}: "no-peer",
}

// birdCommunities turns BIRD's "(64512,1) (65535,65281)" or "(64512, 1,
// 2)" into FRR's printed form: "64512:1 no-export", "64512:1:2", sorted by
// value as FRR sorts them.
func birdCommunities(s string, n int) ([]string, error) {
	var vals [][]uint64
	for _, item := range strings.Split(s, ")") {
		item = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(item), "("))
		if item == "" {
			continue
		}
		parts := strings.Split(item, ",")
		if len(parts) != n {
			return nil, fmt.Errorf("%q: want %d numbers", item, n)
		}
		v := make([]uint64, n)
		for i, part := range parts {
			x, err := strconv.ParseUint(strings.TrimSpace(part), 10, 32)
			if err != nil {
				return nil, err
			}
			v[i] = x
		}
		vals = append(vals, v)
	}
	slices.SortFunc(vals, slices.Compare)
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		if name, ok := wellKnown[[2]uint64{v[0], v[1]}]; ok && n == 2 {
			out = append(out, name)
			continue
		}
		s := make([]string, n)
		for i, x := range v {
			s[i] = strconv.FormatUint(x, 10)
		}
		out = append(out, strings.Join(s, ":"))
	}
	return out, nil
}
