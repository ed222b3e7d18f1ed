package bgp

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"testing"
	"text/template"
	"time"

	"github.com/pylonlb/pylon/test/netlab"
)

// BIRD 2 as the lab's router: the same namespaces and addresses as FRR's
// (lab_linux_test.go), bird in the router namespace with the same passive
// neighbours, from birdTemplate: 198.18.2.1 eBGP, 198.18.2.2 iBGP,
// 198.18.2.3 eBGP with TCP-MD5, 2001:db8:2::1 eBGP over IPv6. Its kernel
// protocols install what it learns into the router namespace's kernel
// (proto bird), merging equal paths (ECMP).
//
// Where FRR's scenarios change bgpd's running configuration, BIRD's get
// the template rendered with other options and `birdc configure`
// (birdRouter.configure): BIRD restarts the protocols whose configuration
// changed.

// birdTemplate renders a BIRD 2 configuration for a router that peers with
// pylon's nodes. The part between the "pylon peering" markers is what an
// operator pastes (docs/configuration.md shows it, and TestBIRDSnippet
// keeps the two in step); the rest is the lab's.
var birdTemplate = template.Must(template.New("bird").Parse(`log stderr all;
router id {{.RouterID}};
timeformat protocol iso long ms;
protocol device {}
# --- pylon peering ---
# Routes learnt from pylon into the kernel, equal paths merged (ECMP).
protocol kernel kernel4 { ipv4 { export all; }; merge paths on; }
protocol kernel kernel6 { ipv6 { export all; }; merge paths on; }

# What every session with a pylon node has: pylon dials, the router
# waits; hold time 9 s (keepalives every 3 s); after an error the router
# accepts again within seconds.
template bgp pylon {
  local as {{.ASN}};
  passive on;
  hold time 9;
  error wait time 1, 5;
}
{{range $n := .Neighbours}}
protocol bgp {{.Name}} from pylon {
  neighbor {{.Addr}}{{if .Port}} port {{.Port}}{{end}} as {{.ASN}};
{{- if .Internal}}
  direct;
{{- end}}
{{- if .Password}}
  password "{{.Password}}";
{{- end}}
{{- if .Active}}
  passive off;
  connect retry time 1;
{{- end}}
{{- if .HoldTimeZero}}
  hold time 0;
{{- end}}
{{- range .Families}}
  {{.}} { import all; export {{if $n.ExportOriginated}}where proto = "originated"{{else}}none{{end}}; };
{{- end}}
}
{{end -}}
# --- end of pylon peering ---
{{- if .Originate}}
protocol static originated {
  ipv4;
{{- range .Originate}}
  route {{.}} blackhole;
{{- end}}
}
{{- end}}
{{- if .BFD}}
{{.BFDProtocol}}
{{- end}}
`))

// birdConfig is what birdTemplate renders.
type birdConfig struct {
	RouterID   string
	ASN        uint32
	Neighbours []birdNeighbour
	// BFD runs BIRD's bfd protocol with the node's three BFD peers of
	// bfddConf (bfd_linux_test.go), 300 ms x 3, the single-hop receive
	// interval BFDRx.
	BFD   bool
	BFDRx int
	// Originate are IPv4 prefixes the router originates (a static
	// protocol, blackhole routes), sent to the neighbours with
	// ExportOriginated.
	Originate []string
}

// birdNeighbour is one of the router's neighbours: a node's address.
type birdNeighbour struct {
	Name, Addr string
	ASN        uint32
	// Internal: iBGP on the shared segment (BIRD takes iBGP neighbours
	// as multihop unless told "direct").
	Internal bool
	Password string
	// Families are the channels: "ipv4", "ipv6".
	Families []string
	// Active: the router dials too (passive off, retry every second).
	Active bool
	// Port is the node's port the router dials; 0: 179.
	Port int
	// HoldTimeZero: the router proposes a hold time of 0.
	HoldTimeZero bool
	// ExportOriginated: the router sends this neighbour its Originate
	// prefixes (otherwise it sends nothing).
	ExportOriginated bool
}

// birdLabRouter is the lab router's configuration: the same neighbours as
// FRR's bgpdConf.
func birdLabRouter() birdConfig {
	return birdConfig{RouterID: routerV4, ASN: routerASN, Neighbours: []birdNeighbour{
		{Name: "node_ebgp", Addr: nodeEBGP, ASN: nodeASN, Families: []string{"ipv4"}},
		{Name: "node_ibgp", Addr: nodeIBGP, ASN: routerASN, Internal: true, Families: []string{"ipv4"}},
		{Name: "node_md5", Addr: nodeMD5, ASN: nodeASN, Password: md5Password, Families: []string{"ipv4"}},
		{Name: "node_v6", Addr: nodeV6, ASN: nodeASN, Families: []string{"ipv6"}},
	}}
}

// birdLabRouterB is router B's: the node's 198.18.2.2 over iBGP, as FRR B's
// bgpdConfB.
func birdLabRouterB() birdConfig {
	return birdConfig{RouterID: routerB, ASN: routerASN, Neighbours: []birdNeighbour{
		{Name: "node_ibgp", Addr: nodeIBGP, ASN: routerASN, Internal: true, Families: []string{"ipv4"}},
	}}
}

// BFDProtocol is BIRD's bfd protocol with the node's three BFD peers:
// single hop on eth0 (receive interval BFDRx) over IPv4 and IPv6, and
// multihop to the iBGP address, 300 ms x 3 otherwise.
func (c birdConfig) BFDProtocol() string {
	t := netlab.BIRDBFDTimers{RX: 300 * time.Millisecond, TX: 300 * time.Millisecond, Multiplier: 3}
	direct := t
	direct.RX = time.Duration(c.BFDRx) * time.Millisecond
	a := netip.MustParseAddr
	return netlab.BIRDBFDProtocol{Interface: "eth0", Direct: direct, Multihop: t, Neighbours: []netlab.BIRDBFDNeighbour{
		{Addr: a(nodeEBGP), Local: a(routerV4), Dev: "eth0"},
		{Addr: a(nodeV6), Local: a(routerV6), Dev: "eth0"},
		{Addr: a(nodeIBGP), Local: a(routerV4)},
	}}.Config()
}

func (c birdConfig) render() string {
	var b bytes.Buffer
	if err := birdTemplate.Execute(&b, c); err != nil {
		panic(err) // the template is the test's own
	}
	return b.String()
}

// startBIRD runs bird in namespace ns with configuration c and returns its
// directory once it answers. When the test fails, the tail of its log is
// logged.
func startBIRD(t *testing.T, l *netlab.Lab, ns, name string, c birdConfig) string {
	t.Helper()
	r, err := l.NewBIRD(ns, name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Start(context.Background(), c.render())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log (last 3000 bytes):\n%s", name, tail([]byte(p.Log()), 3000))
		}
	})
	return r.Dir
}

// birdConfigure renders the lab router's configuration changed by change
// and has BIRD take it; the test's end puts the lab's back. The router's
// directory says which router: the lab's or B.
func (r router) birdConfigure(t *testing.T, change func(*birdConfig)) {
	t.Helper()
	base := birdLabRouter()
	if r.dir == r.lab.Dir2 {
		base = birdLabRouterB()
	} else if r.lab.BFD {
		base.BFD, base.BFDRx = true, 300
	}
	c := base
	c.Neighbours = append([]birdNeighbour(nil), base.Neighbours...)
	change(&c)
	if err := r.bird().Configure(context.Background(), c.render()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.bird().Configure(context.Background(), base.render()); err != nil {
			t.Error(err)
		}
	})
}

// neighbour changes the lab's neighbour with address addr.
func (c *birdConfig) neighbour(addr string, change func(*birdNeighbour)) {
	for i := range c.Neighbours {
		if c.Neighbours[i].Addr == addr {
			change(&c.Neighbours[i])
			return
		}
	}
	panic("no neighbour " + addr)
}

// birdProtocol is BIRD's `show protocols all <name>` for the neighbour with
// address addr in the lab's configuration.
func (r router) birdProtocol(addr string) (string, error) {
	for _, n := range birdLabRouter().Neighbours {
		if n.Addr == addr {
			out, err := r.bird().Birdc(context.Background(), "show", "protocols", "all", n.Name)
			return string(out), err
		}
	}
	return "", fmt.Errorf("no neighbour %s in the lab's BIRD configuration", addr)
}

// notWith names, per router, the scenarios that are not run against it,
// and why. A scenario is here only when the router cannot do what it
// asks; every other scenario runs against both routers.
var notWith = map[string]map[string]string{
	routerFRR:  {},
	routerBIRD: {},
}

// TestBIRD runs the speaker's scenarios against BIRD 2 (birdTemplate) in
// the same lab as TestFRR's.
func TestBIRD(t *testing.T) { runScenarios(t, routerBIRD) }

// TestNotWith: the table of scenarios not run names only scenarios that
// exist, each with a reason.
func TestNotWith(t *testing.T) {
	for kind, names := range notWith {
		for name, why := range names {
			found := false
			for _, sc := range labScenarios {
				found = found || sc.name == name
			}
			if !found || why == "" {
				t.Errorf("notWith[%s][%s] = %q: not a scenario, or no reason", kind, name, why)
			}
		}
	}
}
