package layer2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pylonlb/pylon/test/netlab"
)

// A lab is a throw-away layer-2 segment of network namespaces, a
// network-only lab of test/netlab (prefix <p>: "pyn" and six hex digits):
// <p>-sw holds bridge br0 (a netlab.Switch), and each host namespace
// <p>-<name> has eth0 on it with a fixed MAC, 198.18.0.<n>/24 and
// 2001:db8:18::<n>/64. Hosts answer ARP only for their own interface
// addresses (arp_ignore=1, arp_announce=2), as pylon nodes are set up, and
// have routes for the test VIPs (198.51.100.0/24, 2001:db8:51::/64)
// straight onto eth0, so sending to one makes the kernel resolve it like
// any client on the segment would.
//
// Code runs inside a host namespace through netlab.InNetns: a goroutine
// locks its OS thread, setns(2)s it into the namespace, runs the code and
// returns the thread to its own namespace (or, if it cannot, lets the
// runtime throw it away). Sockets remember the namespace they were made
// in, so an Announcer whose SetOwned runs there keeps answering there from
// any goroutine.
type lab struct {
	t     testing.TB
	sw    *netlab.Switch
	hosts map[string]*host
}

type host struct {
	name, ns string
	mac      net.HardwareAddr
	v4, v6   netip.Addr
}

// Test addresses: owned and unowned VIPs per family.
var (
	vip4, other4 = netip.MustParseAddr("198.51.100.10"), netip.MustParseAddr("198.51.100.11")
	vip6, other6 = netip.MustParseAddr("2001:db8:51::10"), netip.MustParseAddr("2001:db8:51::11")
)

// newLab builds a segment with one host per name; hosts are numbered from 11
// in the order given. The lab is torn down when the test ends, also on
// failure (netlab.Start); not root, the test is skipped.
func newLab(t testing.TB, names ...string) *lab {
	t.Helper()
	ctx := context.Background()
	l := netlab.Start(t, netlab.Options{})
	sw, err := l.AddSwitch(ctx, "sw")
	if err != nil {
		t.Fatal(err)
	}
	lb := &lab{t: t, sw: sw, hosts: map[string]*host{}}
	for i, name := range names {
		n := 11 + i
		ns, err := l.AddNetns(ctx, name, "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2")
		if err != nil {
			t.Fatal(err)
		}
		h := &host{
			name: name,
			ns:   ns,
			mac:  net.HardwareAddr{0x02, 0, 0, 0, 0, byte(n)},
			v4:   netip.AddrFrom4([4]byte{198, 18, 0, byte(n)}),
			v6:   netip.MustParseAddr(fmt.Sprintf("2001:db8:18::%d", n)),
		}
		lb.hosts[name] = h
		lb.plug(h)
	}
	return lb
}

// plug (re)makes h's eth0 on the bridge, with its addresses and routes.
func (lb *lab) plug(h *host) {
	lb.t.Helper()
	ctx := context.Background()
	if err := lb.sw.Plug(ctx, "p-"+h.name, h.ns, "eth0"); err != nil {
		lb.t.Fatal(err)
	}
	// Nodes keep their addresses over a link flap, as managed hosts do.
	lb.sysctl(h.ns, "net.ipv6.conf.eth0.accept_dad=0", "net.ipv6.conf.eth0.keep_addr_on_down=1")
	if err := netlab.IP(ctx, h.ns,
		"link set eth0 address "+h.mac.String(),
		"addr add "+h.v4.String()+"/24 dev eth0",
		"addr add "+h.v6.String()+"/64 dev eth0 nodad",
		"link set eth0 up",
		"route add 198.51.100.0/24 dev eth0",
		"route add 2001:db8:51::/64 dev eth0"); err != nil {
		lb.t.Fatal(err)
	}
	lb.waitLinkLocal(h, "eth0")
}

// waitLinkLocal waits for dev in h to have its IPv6 link-local address,
// which the kernel adds shortly after the link gets a carrier.
func (lb *lab) waitLinkLocal(h *host, dev string) {
	lb.t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 2*time.Second, true, func(context.Context) (bool, error) {
		return strings.Contains(lb.ip("-n", h.ns, "-6", "addr", "show", "dev", dev, "scope", "link"), "fe80::"), nil
	}); err != nil {
		lb.t.Fatalf("%s: %s has no link-local address after 2 s", h.name, dev)
	}
}

// ip runs ip with args (their output as a string), failing the test.
func (lb *lab) ip(args ...string) string {
	lb.t.Helper()
	out, err := netlab.Run(context.Background(), "", "ip", args...)
	if err != nil {
		lb.t.Fatal(err)
	}
	return string(out)
}

func (lb *lab) sysctl(ns string, settings ...string) {
	lb.t.Helper()
	if err := netlab.Sysctl(context.Background(), ns, settings...); err != nil {
		lb.t.Fatal(err)
	}
}

// announcer makes an Announcer that is closed at cleanup.
func (lb *lab) announcer(opts Options) *Announcer {
	ctx := logr.NewContext(context.Background(), testr.NewWithInterface(lb.t, testr.Options{Verbosity: 1}))
	a := New(ctx, opts)
	lb.t.Cleanup(func() { _ = a.Close() })
	return a
}

// own calls a.SetOwned inside h's namespace (where sockets must be made)
// with every address on eth0.
func (lb *lab) own(h *host, a *Announcer, ips ...netip.Addr) {
	lb.t.Helper()
	owned := map[netip.Addr][]string{}
	for _, ip := range ips {
		owned[ip] = []string{"eth0"}
	}
	if err := netlab.InNetns(h.ns, func() error { return a.SetOwned(owned) }); err != nil {
		lb.t.Fatalf("%s: SetOwned(%v): %v", h.name, ips, err)
	}
}

// neighbour is one entry of a host's neighbour table.
type neighbour struct {
	Dst    string   `json:"dst"`
	LLAddr string   `json:"lladdr"`
	State  []string `json:"state"`
}

// neigh reads h's neighbour entry for ip; the zero value when there is none.
func (lb *lab) neigh(h *host, ip netip.Addr) neighbour {
	lb.t.Helper()
	var out []neighbour
	if err := json.Unmarshal([]byte(lb.ip("-n", h.ns, "-j", "neigh", "show", ip.String(), "dev", "eth0")), &out); err != nil {
		lb.t.Fatalf("parse neighbours of %s: %v", h.name, err)
	}
	for _, n := range out {
		if n.Dst == ip.String() {
			return n
		}
	}
	return neighbour{}
}

// resolve makes h's kernel resolve ip (by sending it a UDP datagram, as any
// client would) and waits up to within for a MAC; "" when none came.
func (lb *lab) resolve(h *host, ip netip.Addr, within time.Duration) string {
	lb.t.Helper()
	lb.ip("-n", h.ns, "neigh", "flush", "to", ip.String(), "dev", "eth0")
	err := netlab.InNetns(h.ns, func() error {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 9)))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("who has"))
		if errors.Is(err, unix.EHOSTUNREACH) {
			err = nil
		}
		return err
	})
	if err != nil {
		lb.t.Fatalf("%s: send to %s: %v", h.name, ip, err)
	}
	mac, _ := lb.waitNeigh(h, ip, within, func(mac string) bool { return mac != "" })
	return mac
}

// waitNeigh polls h's neighbour entry for ip until ok(its MAC) or within
// passes, and returns the last MAC seen and how long it took.
func (lb *lab) waitNeigh(h *host, ip netip.Addr, within time.Duration, ok func(mac string) bool) (string, time.Duration) {
	lb.t.Helper()
	start := time.Now()
	var mac string
	_ = wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, within, true, func(context.Context) (bool, error) {
		mac = lb.neigh(h, ip).LLAddr
		return ok(mac), nil
	})
	return mac, time.Since(start)
}
