package lab

import (
	"strings"
	"testing"
	"text/template"
)

// TestRouterConfigsOfTopologies renders both routers' configurations of
// the two-router and the route reflector labs, FRR's and BIRD's.
func TestRouterConfigsOfTopologies(t *testing.T) {
	topo, err := newTopology("pyl000000", 3)
	if err != nil {
		t.Fatal(err)
	}
	topo.withSecondRouter()
	render := func(t *testing.T, c frrConfig, tmpls ...*template.Template) string {
		t.Helper()
		var out []byte
		for _, tmpl := range tmpls {
			data, err := c.render(tmpl)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, data...)
		}
		return string(out)
	}
	two := Options{NodeASN: 64512, SecondRouter: RouterBIRD}
	rr := Options{SecondRouter: RouterFRR, RouteReflector: true}
	if err := checkTopologyOptions(&rr); err != nil || rr.NodeASN != RouterASN {
		t.Fatalf("route reflector options: %v, node AS %d", err, rr.NodeASN)
	}
	tests := []struct {
		name    string
		conf    string
		want    []string
		notWant []string
	}{
		{"two routers, r2 FRR", render(t, newRouter2Config(topo, "/d", two), bgpdConf), []string{
			" bgp router-id 198.18.0.3\n",
			" neighbor NODES4 remote-as 64512\n",
			" bgp listen range 198.18.0.0/24 peer-group NODES4\n",
		}, []string{"route-reflector-client", "198.18.0.2"}},
		{"two routers, r2 BIRD", render(t, newRouter2Config(topo, "", two), birdConf, birdNeighborsConf), []string{
			"router id 198.18.0.3;\n",
			"  neighbor range 198.18.0.0/24 as 64512;\n",
			"  ipv4 { import all; export none; };\n",
		}, []string{"rr client", "198.18.0.2"}},
		{"reflector FRR", render(t, newFRRConfig(topo, "/d", rr), bgpdConf), []string{
			" bgp router-id 198.18.0.2\n",
			" neighbor NODES4 remote-as 64513\n",
			" neighbor 198.18.0.3 remote-as 64513\n",
			" address-family ipv4 unicast\n  neighbor NODES4 activate\n  neighbor NODES4 route-reflector-client\n  neighbor NODES6 activate\n  neighbor NODES6 route-reflector-client\n  neighbor 198.18.0.3 activate\n",
			" address-family ipv6 unicast\n  neighbor NODES4 activate\n  neighbor NODES4 route-reflector-client\n",
			"  maximum-paths ibgp 16\n",
		}, nil},
		{"reflector BIRD", render(t, newFRRConfig(topo, "", rr), birdConf, birdNeighborsConf), []string{
			"  neighbor range 198.18.0.0/24 as 64513;\n",
			"  direct;\n  rr client;\n",
			"  ipv6 { import all; export all; };\n",
			"protocol bgp r2 {\n  local as 64513;\n  neighbor 198.18.0.3 as 64513;\n  direct;\n",
		}, nil},
		{"upstream FRR", render(t, newRouter2Config(topo, "/d", rr), bgpdConf), []string{
			" bgp router-id 198.18.0.3\n",
			" neighbor 198.18.0.2 remote-as 64513\n",
			" address-family ipv6 unicast\n  neighbor 198.18.0.2 activate\n",
		}, []string{"listen range", "NODES", "route-reflector-client"}},
		{"upstream BIRD", render(t, newRouter2Config(topo, "", rr), birdConf, birdNeighborsConf), []string{
			"router id 198.18.0.3;\n",
			"protocol bgp r1 {\n  local as 64513;\n  neighbor 198.18.0.2 as 64513;\n",
		}, []string{"neighbor range", "rr client"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, w := range tc.want {
				if !strings.Contains(tc.conf, w) {
					t.Errorf("missing %q in:\n%s", w, tc.conf)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(tc.conf, w) {
					t.Errorf("unexpected %q in:\n%s", w, tc.conf)
				}
			}
		})
	}
}

func TestTopologyOptionsRefused(t *testing.T) {
	for _, o := range []Options{
		{SecondRouter: "gobgp"},
		{Router: "quagga"},
		{RouteReflector: true},
		{RouteReflector: true, SecondRouter: RouterFRR, NodeASN: 64512},
		{RouteReflector: true, SecondRouter: RouterFRR, BFD: &BFD{}},
	} {
		if err := checkTopologyOptions(&o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
