package lab

import (
	"strings"
	"testing"
	"time"
)

func TestBGPDConf(t *testing.T) {
	topo, err := newTopology("pyl000000", 3)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    Options
		want    []string
		notWant []string
	}{
		{"defaults", Options{}, []string{
			"router bgp 64513\n",
			" bgp router-id 198.18.0.2\n",
			" no bgp ebgp-requires-policy\n",
			" neighbor NODES4 remote-as external\n",
			" neighbor NODES4 timers 3 9\n",
			" bgp listen range 198.18.0.0/24 peer-group NODES4\n",
			" bgp listen range 2001:db8:18::/64 peer-group NODES6\n",
			" address-family ipv4 unicast\n  neighbor NODES4 activate\n  neighbor NODES6 activate\n  maximum-paths 16\n",
			" address-family ipv6 unicast\n  neighbor NODES4 activate\n  neighbor NODES6 activate\n  maximum-paths 16\n",
			"log file /d/bgpd.log\n",
		}, []string{"password", "bfd"}},
		{"node AS and password", Options{NodeASN: 64512, BGPPassword: "s3cret"}, []string{
			" neighbor NODES4 remote-as 64512\n",
			" neighbor NODES6 remote-as 64512\n",
			" neighbor NODES4 password s3cret\n",
		}, []string{"external"}},
		{"BFD", Options{BFD: &BFD{}}, []string{
			" neighbor NODES4 bfd\n neighbor NODES4 bfd profile pylon\n",
			" neighbor NODES6 bfd\n neighbor NODES6 bfd profile pylon\n",
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := newFRRConfig(topo, "/d", tc.opts).render(bgpdConf)
			if err != nil {
				t.Fatal(err)
			}
			confHas(t, "bgpd.conf", string(data), tc.want, tc.notWant)
		})
	}
}

func TestBFDDConf(t *testing.T) {
	topo, err := newTopology("pyl000000", 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		bfd  BFD
		want string
	}{
		{"defaults", BFD{}, " profile pylon\n  receive-interval 300\n  transmit-interval 300\n  detect-multiplier 3\n"},
		{"100ms x 5", BFD{Interval: 100 * time.Millisecond, Multiplier: 5}, " profile pylon\n  receive-interval 100\n  transmit-interval 100\n  detect-multiplier 5\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := newFRRConfig(topo, "/d", Options{BFD: &tc.bfd}).render(bfddConf)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), tc.want) || !strings.Contains(string(data), "log file /d/bfdd.log\n") {
				t.Errorf("bfdd.conf lacks %q:\n%s", tc.want, data)
			}
		})
	}
}

func TestBIRDConfBFD(t *testing.T) {
	topo, err := newTopology("pyl000000", 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		bfd     *BFD
		want    []string
		notWant []string
	}{
		{"without", nil, nil, []string{"bfd"}},
		{"defaults", &BFD{}, []string{
			"  bfd on;\n  ipv4 {",
			"protocol bfd {\n  interface \"eth0\" { min rx interval 300 ms; min tx interval 300 ms; multiplier 3; };\n" +
				"  multihop { min rx interval 300 ms; min tx interval 300 ms; multiplier 3; };\n}\n",
		}, nil},
		{"100ms x 5", &BFD{Interval: 100 * time.Millisecond, Multiplier: 5}, []string{
			"  interface \"eth0\" { min rx interval 100 ms; min tx interval 100 ms; multiplier 5; };\n",
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := newFRRConfig(topo, "/d", Options{BFD: tc.bfd}).render(birdConf)
			if err != nil {
				t.Fatal(err)
			}
			conf := string(data)
			if tc.bfd != nil && strings.Count(conf, "  bfd on;\n") != 2 {
				t.Errorf("bird.conf has `bfd on` in %d BGP protocols, want both:\n%s", strings.Count(conf, "  bfd on;\n"), conf)
			}
			confHas(t, "bird.conf", conf, tc.want, tc.notWant)
		})
	}
}

// confHas checks that conf, the rendered file, holds every string of want
// and none of notWant.
func confHas(t *testing.T, file, conf string, want, notWant []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(conf, w) {
			t.Errorf("%s lacks %q:\n%s", file, w, conf)
		}
	}
	for _, w := range notWant {
		if strings.Contains(conf, w) {
			t.Errorf("%s has %q:\n%s", file, w, conf)
		}
	}
}
