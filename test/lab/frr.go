package lab

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"text/template"

	"github.com/pylonlb/pylon/test/netlab"
)

// bgpdConf is the router's configuration. Nodes peer from anywhere on the
// segment (dynamic neighbours, passive on the router's side), over IPv4
// or IPv6, and both address families go over either session.
var bgpdConf = template.Must(template.New("bgpd.conf").Parse(`! pylon lab router, written by test/lab
hostname {{.Hostname}}
log file {{.Dir}}/bgpd.log
!
router bgp {{.ASN}}
 bgp router-id {{.RouterID}}
 ! FRR >= 7.4 drops eBGP routes without a policy otherwise, silently.
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 ! ECMP across nodes in different ASes too.
 bgp bestpath as-path multipath-relax
{{- range .Groups}}
 neighbor {{.Name}} peer-group
 neighbor {{.Name}} remote-as {{$.NodeAS}}
 neighbor {{.Name}} timers 3 9
{{- if $.Password}}
 neighbor {{.Name}} password {{$.Password}}
{{- end}}
{{- if $.BFD}}
 neighbor {{.Name}} bfd
 neighbor {{.Name}} bfd profile pylon
{{- end}}
 bgp listen range {{.Range}} peer-group {{.Name}}
{{- end}}
{{- range .Neighbors}}
 neighbor {{.Addr}} remote-as {{.AS}}
 neighbor {{.Addr}} timers 3 9
 neighbor {{.Addr}} timers connect 2
{{- end}}
 !
{{- range .Families}}
 address-family {{.}} unicast
{{- range $.Groups}}
  neighbor {{.Name}} activate
{{- if $.Reflect}}
  neighbor {{.Name}} route-reflector-client
{{- end}}
{{- end}}
{{- range $.Neighbors}}
  neighbor {{.Addr}} activate
{{- end}}
  maximum-paths 16
  maximum-paths ibgp 16
 exit-address-family
{{- end}}
!
`))

// bfddConf is bfdd's configuration: the profile the peer groups use.
var bfddConf = template.Must(template.New("bfdd.conf").Parse(`! pylon lab router, written by test/lab
hostname {{.Hostname}}
log file {{.Dir}}/bfdd.log
!
bfd
 profile pylon
  receive-interval {{.BFD.Milliseconds .BFD.Interval}}
  transmit-interval {{.BFD.Milliseconds .BFD.Interval}}
  detect-multiplier {{.BFD.DetectMultiplier}}
 exit
 !
exit
!
`))

var zebraConf = template.Must(template.New("zebra.conf").Parse(`! pylon lab router, written by test/lab
hostname {{.Hostname}}
log file {{.Dir}}/zebra.log
!
`))

// frrConfig fills the templates.
type frrConfig struct {
	Hostname string
	Dir      string
	ASN      uint32
	RouterID string
	// NodeAS is "external" (any AS but the router's) or a number.
	NodeAS   string
	Password string
	// BFD, when set, runs BFD on the peer groups' sessions.
	BFD    *BFD
	Groups []peerGroup
	// Reflect makes the groups route-reflector clients
	// (Options.RouteReflector).
	Reflect bool
	// Neighbors are configured neighbours besides the groups' dynamic
	// ones: the other router of a route reflector lab (reflect.go).
	Neighbors []neighbor
	Families  []string
}

type peerGroup struct{ Name, Range string }

func newFRRConfig(t *topology, dir string, o Options) frrConfig {
	nodeAS := "external"
	if o.NodeASN != 0 {
		nodeAS = strconv.FormatUint(uint64(o.NodeASN), 10)
	}
	c := frrConfig{
		Hostname: t.router.Name,
		Dir:      dir,
		ASN:      RouterASN,
		RouterID: t.router.IPv4.String(),
		NodeAS:   nodeAS,
		Password: o.BGPPassword,
		BFD:      o.BFD,
		Groups:   []peerGroup{{"NODES4", SegmentV4.String()}, {"NODES6", SegmentV6.String()}},
		Families: []string{"ipv4", "ipv6"},
	}
	if o.RouteReflector && t.router2 != nil {
		c.Reflect = true
		c.Neighbors = []neighbor{{Name: t.router2.Name, Addr: t.router2.IPv4, AS: RouterASN}}
	}
	return c
}

func (c frrConfig) render(tmpl *template.Template) ([]byte, error) {
	var b bytes.Buffer
	if err := tmpl.Execute(&b, c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Router is a lab router, r1 or r2, FRR or BIRD; with FRR zebra and
// bgpd (and bfdd, with Options.BFD) in the router namespace, with all their state, sockets and
// logs in Dir (a netlab.FRR).
type Router struct {
	Host
	// Dir holds the configuration, pid files, vty sockets and FRR's logs.
	Dir string
	// RemoteIPv4 and RemoteIPv6 are its addresses towards the remote
	// client.
	RemoteIPv4, RemoteIPv6 netip.Addr
	// Zebra and BGPd are the two daemons; BFDd the third, with
	// Options.BFD.
	Zebra, BGPd, BFDd *Process
	// FRR is the router as the network layer runs it; nil when the lab
	// runs BIRD (Options.Router), and so are the daemons.
	FRR *netlab.FRR
	// BIRD is the router when Options.Router is RouterBIRD, Bird its
	// process; nil otherwise.
	BIRD *netlab.BIRD
	Bird *Process
}

// routerView is the router's read side, FRR's or BIRD's.
func (r *Router) routerView() netlab.Router {
	if r.BIRD != nil {
		return r.BIRD
	}
	return r.FRR
}

// startFRR writes the configuration and starts zebra, then (with
// Options.BFD) bfdd, then bgpd (netlab.FRR.Start).
func (l *Lab) startFRR(ctx context.Context, o Options) error {
	r := &Router{Host: l.topo.router, RemoteIPv4: l.topo.routerRemoteV4, RemoteIPv6: l.topo.routerRemV6}
	if err := l.startFRRAs(ctx, r, "frr", func(dir string) frrConfig { return newFRRConfig(l.topo, dir, o) }); err != nil {
		return err
	}
	l.Router = r
	return nil
}

// startFRRAs starts FRR as router r (its Host and remote addresses set),
// its state in Lab.Dir/name, with the configuration cfg gives for that
// directory; it fills in the rest of r.
func (l *Lab) startFRRAs(ctx context.Context, r *Router, name string, cfg func(dir string) frrConfig) error {
	f, err := l.NewFRR(r.Netns, name)
	if err != nil {
		return err
	}
	c := cfg(f.Dir)
	r.Dir, r.FRR = f.Dir, f
	start := func(daemon string, tmpl *template.Template) (*Process, error) {
		data, err := c.render(tmpl)
		if err != nil {
			return nil, fmt.Errorf("render %s.conf: %w", daemon, err)
		}
		return f.Start(ctx, daemon, string(data))
	}
	if r.Zebra, err = start("zebra", zebraConf); err != nil {
		return err
	}
	if c.BFD != nil {
		// bfdd before bgpd: bgpd registers its sessions with bfdd through
		// zebra.
		if r.BFDd, err = start("bfdd", bfddConf); err != nil {
			return err
		}
	}
	r.BGPd, err = start("bgpd", bgpdConf)
	return err
}

// Vtysh runs vtysh commands (one -c each) against the router's daemons.
func (r *Router) Vtysh(ctx context.Context, commands ...string) ([]byte, error) {
	return r.FRR.Vtysh(ctx, commands...)
}

// View reads the router's sessions and routes of both families
// (netlab.FRR.View, netlab.BIRD.View).
func (r *Router) View(ctx context.Context) (RouterView, error) { return r.routerView().View(ctx) }

// Sessions reads the router's sessions alone: one vtysh or birdc call.
func (r *Router) Sessions(ctx context.Context) ([]Session, error) {
	return r.routerView().Sessions(ctx)
}

// KernelRoutes reads the router's kernel routes installed by BGP (proto
// bgp for FRR, bird for BIRD).
func (r *Router) KernelRoutes(ctx context.Context) (map[netip.Prefix][]netip.Addr, error) {
	return r.routerView().KernelRoutes(ctx)
}

// BFDPeers reads the router's BFD sessions, FRR's bfdd's or BIRD's bfd
// protocol's (Options.BFD), in FRR's terms (netlab.BFDPeer says what BIRD
// leaves out).
func (r *Router) BFDPeers(ctx context.Context) ([]BFDPeer, error) {
	if r.BIRD != nil {
		return r.BIRD.BFDPeers(ctx)
	}
	return r.FRR.BFDPeers(ctx)
}

// SetPassword changes the TCP-MD5 password the router asks of the nodes
// (both peer groups), as an operator would on a running router; FRR
// restarts the groups' sessions. FRR 8.4 updates the key of the peers it
// has but not the one its listen socket uses for the rest of a listen
// range, so the ranges are configured again as well.
func (r *Router) SetPassword(ctx context.Context, password string) error {
	cmds := []string{"configure terminal", fmt.Sprintf("router bgp %d", RouterASN)}
	for _, g := range []struct{ name, rng string }{{"NODES4", SegmentV4.String()}, {"NODES6", SegmentV6.String()}} {
		cmds = append(cmds, "neighbor "+g.name+" password "+password,
			"no bgp listen range "+g.rng+" peer-group "+g.name, "bgp listen range "+g.rng+" peer-group "+g.name)
	}
	if out, err := r.Vtysh(ctx, cmds...); err != nil {
		return fmt.Errorf("set the router's password: %w: %s", err, out)
	}
	return nil
}

// Clear resets the router's session with one node (vtysh clear bgp).
func (r *Router) Clear(ctx context.Context, node netip.Addr) error {
	if out, err := r.Vtysh(ctx, "clear bgp "+node.String()); err != nil {
		return fmt.Errorf("clear bgp %s: %w: %s", node, err, out)
	}
	return nil
}

// RestartBGPd stops bgpd (SIGTERM to its PID, as a service restart does:
// it tells its peers and zebra withdraws its routes) and starts it again
// with the same configuration, waiting until its vty socket is back.
// Sessions then start from nothing: the nodes reconnect.
func (r *Router) RestartBGPd(ctx context.Context) error {
	return r.FRR.Restart(ctx, "bgpd")
}
