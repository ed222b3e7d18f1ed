package speaker

import (
	"net/netip"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
)

// TestNeverAnnounceUnsafe: whatever a Service's status says, no speaker
// answers for, or offers to BGP, an address in a special range or a Node's
// address, even from a pool (0.0.0.0/0, ::/0) that covers them.
func TestNeverAnnounceUnsafe(t *testing.T) {
	cfg := config.Parse(config.Resources{
		Pools:            []v1alpha1.IPPool{{ObjectMeta: metav1.ObjectMeta{Name: "wide"}, Spec: v1alpha1.IPPoolSpec{Addresses: []v1alpha1.AddressRange{"0.0.0.0/0", "::/0"}}}},
		L2Advertisements: []v1alpha1.L2Advertisement{{ObjectMeta: metav1.ObjectMeta{Name: "ad"}}},
	})
	if len(cfg.Problems) > 0 {
		t.Fatalf("test config has problems: %v", cfg.Problems)
	}
	unsafe := addrs("198.18.0.12", "2001:db8:18::12", "127.0.0.1", "0.0.0.0", "169.254.169.254", "224.0.0.5", "255.255.255.255", "::1", "fe80::1", "ff02::1")
	safe := addrs("198.51.100.7", "2001:db8:18::7")
	var svcs []Service
	for _, ip := range append(append([]netip.Addr{}, unsafe...), safe...) {
		svcs = append(svcs, Service{Key: "ns/" + ip.String(), IPs: []netip.Addr{ip}, EndpointNodes: map[string]bool{"node-1": true, "node-2": true}})
	}
	in := Inputs{Nodes: nodes(true, true), Services: svcs, Config: cfg, ClusterNodeIPs: map[netip.Addr]string{
		netip.MustParseAddr("198.18.0.12"): "node-2", netip.MustParseAddr("2001:db8:18::12"): "node-2",
	}}
	answered := map[netip.Addr]bool{}
	for name, p := range planAll(t, in) {
		for ip := range p.L2 {
			answered[ip] = true
		}
		for _, ip := range unsafe {
			if _, ok := p.Owners[ip]; ok {
				t.Errorf("%s: %s has an owner (%s): it must not be considered at all", name, ip, p.Owners[ip])
			}
		}
		in.Node = name
		offered := BGPIPs(in)
		for _, ip := range unsafe {
			if _, ok := offered[ip]; ok {
				t.Errorf("%s offers %s to BGP", name, ip)
			}
		}
		for _, ip := range safe {
			if _, ok := offered[ip]; !ok {
				t.Errorf("%s does not offer %s to BGP", name, ip)
			}
		}
	}
	for _, ip := range unsafe {
		if answered[ip] {
			t.Errorf("%s is answered for over ARP/NDP", ip)
		}
	}
	for _, ip := range safe {
		if !answered[ip] {
			t.Errorf("%s, a safe address, is answered by no node", ip)
		}
	}
}
