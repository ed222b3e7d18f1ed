package lab

import (
	"context"
	"errors"
	"fmt"
	"text/template"
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
{{- if $.Password}}
  password "{{$.Password}}";
{{- end}}
{{- range $.Families}}
  {{.}} { import all; export none; };
{{- end}}
}
{{- end}}
`))

// startBIRD writes the configuration and starts bird (netlab.BIRD.Start).
// BFD is FRR's here (bfdd): a lab with Options.BFD and BIRD is refused.
func (l *Lab) startBIRD(ctx context.Context, o Options) error {
	if o.BFD != nil {
		return errors.New("lab: Options.BFD runs FRR's bfdd; not with Options.Router bird")
	}
	b, err := l.NewBIRD(l.topo.router.Netns, "bird")
	if err != nil {
		return err
	}
	data, err := newFRRConfig(l.topo, b.Dir, o).render(birdConf)
	if err != nil {
		return fmt.Errorf("render bird.conf: %w", err)
	}
	p, err := b.Start(ctx, string(data))
	if err != nil {
		return err
	}
	l.Router = &Router{Host: l.topo.router, Dir: b.Dir, RemoteIPv4: l.topo.routerRemoteV4, RemoteIPv6: l.topo.routerRemV6, BIRD: b, Bird: p}
	return nil
}
