package lab

import (
	"context"
	"fmt"
	"text/template"
	"time"

	"github.com/pylonlb/pylon/test/netlab"
)

// RouterBIRD, as Options.Router, runs BIRD 2 as the lab's router instead
// of FRR.
const RouterBIRD = "bird"

// birdConf is the BIRD router's configuration: what bgpdConf is for FRR.
// Nodes peer from anywhere on the segment (BIRD's dynamic neighbours, a
// protocol per range, passive), over IPv4 or IPv6, both address families
// on either session; the kernel protocols install what the router learns
// into the router namespace, equal paths merged (ECMP).
var birdConf = template.Must(template.New("bird.conf").Parse(`# pylon lab router, written by test/lab
log stderr all;
router id {{.RouterID}};
timeformat protocol iso long ms;
protocol device {}
protocol kernel kernel4 { ipv4 { export all; }; merge paths on; }
protocol kernel kernel6 { ipv6 { export all; }; merge paths on; }
{{- range .Groups}}
protocol bgp {{.Name}} {
  local as {{$.ASN}};
  neighbor range {{.Range}} {{if eq $.NodeAS "external"}}external{{else}}as {{$.NodeAS}}{{end}};
  dynamic name "{{.Name}}_";
  hold time 9;
  error wait time 1, 5;
{{- if $.Reflect}}
  direct;
  rr client;
{{- end}}
{{- if $.Password}}
  password "{{$.Password}}";
{{- end}}
{{- if $.BFD}}
  bfd on;
{{- end}}
{{- range $.Families}}
  {{.}} { import all; export {{if $.Reflect}}all{{else}}none{{end}}; };
{{- end}}
}
{{- end}}
{{- if .BFD}}
{{.BIRDBFD}}
{{- end}}
`))

// BIRDBFD is BIRD's bfd protocol for the BGP sessions with the nodes
// (`bfd on`): the profile's interval and multiplier, single hop on the
// segment and multihop alike (netlab.BIRDBFDProtocol).
func (c frrConfig) BIRDBFD() string {
	iv := time.Duration(c.BFD.Milliseconds(c.BFD.Interval)) * time.Millisecond
	t := netlab.BIRDBFDTimers{RX: iv, TX: iv, Multiplier: c.BFD.DetectMultiplier()}
	return netlab.BIRDBFDProtocol{Interface: HostIf, Direct: t, Multihop: t}.Config()
}

// startBIRD writes the configuration and starts bird (netlab.BIRD.Start);
// with Options.BFD, its bfd protocol runs the profile for the nodes'
// sessions.
func (l *Lab) startBIRD(ctx context.Context, o Options) error {
	r := &Router{Host: l.topo.router, RemoteIPv4: l.topo.routerRemoteV4, RemoteIPv6: l.topo.routerRemV6}
	if err := l.startBIRDAs(ctx, r, "bird", newFRRConfig(l.topo, "", o)); err != nil {
		return err
	}
	l.Router = r
	return nil
}

// startBIRDAs starts BIRD as router r (its Host and remote addresses
// set), its state in Lab.Dir/name, with configuration cfg; it fills in the
// rest of r.
func (l *Lab) startBIRDAs(ctx context.Context, r *Router, name string, cfg frrConfig) error {
	b, err := l.NewBIRD(r.Netns, name)
	if err != nil {
		return err
	}
	data, err := cfg.render(birdConf)
	if err != nil {
		return fmt.Errorf("render bird.conf: %w", err)
	}
	more, err := cfg.render(birdNeighborsConf)
	if err != nil {
		return fmt.Errorf("render bird.conf's neighbours: %w", err)
	}
	data = append(data, more...)
	r.Dir, r.BIRD = b.Dir, b
	r.Bird, err = b.Start(ctx, string(data))
	return err
}
