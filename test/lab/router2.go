package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"text/template"
)

// RouterFRR names FRR as a router's kind: Options.SecondRouter's, and
// Options.Router's (where "" means FRR too).
const RouterFRR = "frr"

// neighbor is a configured BGP neighbour of a lab router, beside the
// nodes' dynamic ones: the other router in a route reflector lab.
type neighbor struct {
	// Name is the neighbour's host name ("r1"): BIRD's protocol name.
	Name string
	Addr netip.Addr
	AS   uint32
}

// birdNeighborsConf is appended to birdConf: a protocol per configured
// neighbour, on the shared segment (direct: iBGP next hops are the
// nodes', reachable on the link), both families, everything imported and
// exported (a route reflector exports its clients' routes to non-clients).
var birdNeighborsConf = template.Must(template.New("bird-neighbors").Parse(`
{{- range .Neighbors}}
protocol bgp {{.Name}} {
  local as {{$.ASN}};
  neighbor {{.Addr}} as {{.AS}};
  direct;
  hold time 9;
  connect retry time 2;
  error wait time 1, 5;
{{- range $.Families}}
  {{.}} { import all; export all; };
{{- end}}
}
{{- end}}
`))

// checkTopologyOptions validates Options.SecondRouter and
// Options.RouteReflector and sets the nodes' AS of a route reflector lab
// (the router's: iBGP).
func checkTopologyOptions(o *Options) error {
	for _, kind := range []string{o.Router, o.SecondRouter} {
		if kind != "" && kind != RouterFRR && kind != RouterBIRD {
			return fmt.Errorf("lab: router kind %q: want %q or %q", kind, RouterFRR, RouterBIRD)
		}
	}
	if !o.RouteReflector {
		return nil
	}
	if o.SecondRouter == "" {
		return errors.New("lab: Options.RouteReflector needs Options.SecondRouter (the reflector's upstream, r2)")
	}
	if o.NodeASN != 0 && o.NodeASN != RouterASN {
		return fmt.Errorf("lab: Options.RouteReflector: the nodes are in the reflector's AS %d (iBGP), not %d", RouterASN, o.NodeASN)
	}
	if o.BFD != nil || o.BGPPassword != "" {
		return errors.New("lab: Options.RouteReflector: no BFD or password")
	}
	o.NodeASN = RouterASN
	return nil
}

// newRouter2Config is r2's configuration: r1's, under r2's name and
// router ID, without BFD; in a route reflector lab, no nodes but one
// neighbour, r1.
func newRouter2Config(t *topology, dir string, o Options) frrConfig {
	c := newFRRConfig(t, dir, o)
	c.Hostname, c.RouterID, c.BFD = t.router2.Name, t.router2.IPv4.String(), nil
	if o.RouteReflector {
		c.Groups, c.Reflect = nil, false
		c.Neighbors = []neighbor{{Name: t.router.Name, Addr: t.router.IPv4, AS: RouterASN}}
	}
	return c
}

// startRouter2 starts r2 (Options.SecondRouter), its state in Dir/frr2 or
// Dir/bird2.
func (l *Lab) startRouter2(ctx context.Context, o Options) error {
	h := l.topo.router2
	v4, v6 := rem2(1)
	r := &Router{Host: *h, RemoteIPv4: v4, RemoteIPv6: v6}
	var err error
	if o.SecondRouter == RouterBIRD {
		err = l.startBIRDAs(ctx, r, "bird2", newRouter2Config(l.topo, "", o))
	} else {
		err = l.startFRRAs(ctx, r, "frr2", func(dir string) frrConfig { return newRouter2Config(l.topo, dir, o) })
	}
	if err != nil {
		return fmt.Errorf("r2: %w", err)
	}
	l.Router2 = r
	return nil
}

// Kind is the router's kind: RouterFRR or RouterBIRD.
func (r *Router) Kind() string {
	if r.BIRD != nil {
		return RouterBIRD
	}
	return RouterFRR
}

// RestartBGP restarts the router's BGP daemon, as a service restart does:
// FRR's bgpd (RestartBGPd: zebra withdraws its routes) or bird
// (netlab.BIRD.Restart: its kernel protocols withdraw theirs). The
// sessions start from nothing: the nodes reconnect.
func (r *Router) RestartBGP(ctx context.Context) error {
	if r.BIRD != nil {
		return r.BIRD.Restart(ctx)
	}
	return r.RestartBGPd(ctx)
}

// RemoteRxPackets counts the packets the router received on its link to
// the remote client (the kernel's counter): what the client sent through
// this router.
func (r *Router) RemoteRxPackets(ctx context.Context) (uint64, error) {
	out, err := r.Run(ctx, "ip", "-s", "-j", "link", "show", routerRemoteIf)
	if err != nil {
		return 0, err
	}
	var links []struct {
		Stats struct {
			RX struct {
				Packets uint64 `json:"packets"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		return 0, fmt.Errorf("%s's %s counters: %v: %s", r.Name, routerRemoteIf, err, out)
	}
	return links[0].Stats.RX.Packets, nil
}

// Paths reads the router's paths for one prefix (netlab.Router.Paths).
func (r *Router) Paths(ctx context.Context, prefix netip.Prefix) ([]Path, error) {
	return r.routerView().Paths(ctx, prefix)
}
