package lab

import (
	"bytes"
	"strings"
	"testing"
)

// TestProxyMode: the empty mode is nftables, StrictARP only goes with
// ipvs, an unknown mode is refused, and ipvs is refused exactly when
// IPVSAvailable says why.
func TestProxyMode(t *testing.T) {
	for _, c := range []struct {
		ns   NodeStack
		want string
		err  string
	}{
		{NodeStack{}, ProxyNftables, ""},
		{NodeStack{ProxyMode: ProxyNftables}, ProxyNftables, ""},
		{NodeStack{StrictARP: true}, "", "StrictARP is an IPVS setting"},
		{NodeStack{ProxyMode: ProxyIptables, StrictARP: true}, "", "StrictARP is an IPVS setting"},
		{NodeStack{ProxyMode: "userspace"}, "", `unknown proxy mode "userspace"`},
	} {
		got, err := c.ns.proxyMode()
		if got != c.want || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%+v: %q, %v; want %q, error containing %q", c.ns, got, err, c.want, c.err)
		}
	}
	_, err := (&NodeStack{ProxyMode: ProxyIPVS, StrictARP: true}).proxyMode()
	if avail := IPVSAvailable(); (err == nil) != (avail == nil) || (avail != nil && !strings.Contains(err.Error(), avail.Error())) {
		t.Errorf("ipvs: %v; IPVSAvailable says %v", err, avail)
	}
}

// TestProxyConfig: the mode goes into kube-proxy's configuration, and
// ipvs.strictARP only in ipvs mode.
func TestProxyConfig(t *testing.T) {
	for _, c := range []struct {
		mode      string
		strictARP bool
		want      []string
		not       []string
	}{
		{ProxyNftables, false, []string{"\nmode: nftables\n"}, []string{"ipvs", "strictARP"}},
		{ProxyIptables, false, []string{"\nmode: iptables\n"}, []string{"ipvs", "strictARP"}},
		{ProxyIPVS, true, []string{"\nmode: ipvs\nipvs:\n  strictARP: true\n"}, nil},
		{ProxyIPVS, false, []string{"\nmode: ipvs\nipvs:\n  strictARP: false\n"}, nil},
	} {
		var b bytes.Buffer
		if err := proxyTemplate.Execute(&b, nodeConfig{ProxyMode: c.mode, StrictARP: c.strictARP}); err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s strictARP %v: no %q in\n%s", c.mode, c.strictARP, w, b.String())
			}
		}
		for _, n := range c.not {
			if strings.Contains(b.String(), n) {
				t.Errorf("%s: %q in\n%s", c.mode, n, b.String())
			}
		}
	}
}
