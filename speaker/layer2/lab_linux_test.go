package layer2

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"golang.org/x/sys/unix"
)

// A lab is a throw-away layer-2 segment of network namespaces: <prefix>-sw
// holds bridge br0, and each host namespace <prefix>-<name> has eth0 on it
// with a fixed MAC, 198.18.0.<n>/24 and 2001:db8:18::<n>/64. Hosts answer
// ARP only for their own interface addresses (arp_ignore=1, arp_announce=2),
// as pylon nodes are set up, and have routes for the test VIPs
// (198.51.100.0/24, 2001:db8:51::/64) straight onto eth0, so sending to one
// makes the kernel resolve it like any client on the segment would.
//
// Code runs inside a host namespace through inNetns: a goroutine locks its
// OS thread, setns(2)s it into the namespace and never unlocks it, so the
// runtime throws the thread away afterwards. Sockets remember the
// namespace they were made in, so an Announcer whose SetOwned runs there
// keeps answering there from any goroutine.
type lab struct {
	t      testing.TB
	prefix string
	hosts  map[string]*host
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

// needRoot skips the test, loudly, where namespaces cannot be made.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: needs root to create network namespaces and raw sockets; run as root to test real ARP and NDP")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("SKIPPED: needs iproute2's ip command: ", err)
	}
}

// newLab builds a segment with one host per name; hosts are numbered from 11
// in the order given. Cleanup deletes every namespace, also on failure.
func newLab(t testing.TB, names ...string) *lab {
	t.Helper()
	needRoot(t)
	var b [3]byte
	_, _ = rand.Read(b[:])
	lb := &lab{t: t, prefix: "pyl2" + hex.EncodeToString(b[:]), hosts: map[string]*host{}}
	sw := lb.addNS("sw")
	lb.ip("-n", sw, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0")
	lb.ip("-n", sw, "link", "set", "br0", "up")
	for i, name := range names {
		n := 11 + i
		h := &host{
			name: name,
			ns:   lb.addNS(name),
			mac:  net.HardwareAddr{0x02, 0, 0, 0, 0, byte(n)},
			v4:   netip.AddrFrom4([4]byte{198, 18, 0, byte(n)}),
			v6:   netip.MustParseAddr(fmt.Sprintf("2001:db8:18::%d", n)),
		}
		lb.hosts[name] = h
		lb.sysctl(h.ns, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
			"net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2")
		lb.ip("-n", h.ns, "link", "set", "lo", "up")
		lb.plug(h)
	}
	return lb
}

// plug (re)makes h's eth0 on the bridge, with its addresses and routes.
func (lb *lab) plug(h *host) {
	lb.t.Helper()
	sw := lb.prefix + "-sw"
	lb.ip("-n", sw, "link", "add", "p-"+h.name, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
	// Nodes keep their addresses over a link flap, as managed hosts do.
	lb.sysctl(h.ns, "net.ipv6.conf.eth0.accept_dad=0", "net.ipv6.conf.eth0.keep_addr_on_down=1")
	lb.ip("-n", h.ns, "link", "set", "eth0", "address", h.mac.String())
	lb.ip("-n", h.ns, "addr", "add", h.v4.String()+"/24", "dev", "eth0")
	lb.ip("-n", h.ns, "addr", "add", h.v6.String()+"/64", "dev", "eth0", "nodad")
	lb.ip("-n", h.ns, "link", "set", "eth0", "up")
	lb.ip("-n", h.ns, "route", "add", "198.51.100.0/24", "dev", "eth0")
	lb.ip("-n", h.ns, "-6", "route", "add", "2001:db8:51::/64", "dev", "eth0")
	lb.ip("-n", sw, "link", "set", "p-"+h.name, "master", "br0", "up")
	lb.waitLinkLocal(h, "eth0")
}

// waitLinkLocal waits for dev in h to have its IPv6 link-local address,
// which the kernel adds shortly after the link gets a carrier.
func (lb *lab) waitLinkLocal(h *host, dev string) {
	lb.t.Helper()
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(lb.ip("-n", h.ns, "-6", "addr", "show", "dev", dev, "scope", "link"), "fe80::") {
			return
		}
	}
	lb.t.Fatalf("%s: %s has no link-local address after 2 s", h.name, dev)
}

// addNS makes a namespace and registers its deletion.
func (lb *lab) addNS(name string) string {
	ns := lb.prefix + "-" + name
	lb.ip("netns", "add", ns)
	t := lb.t
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("delete namespace %s: %v: %s", ns, err, out)
		}
	})
	return ns
}

func (lb *lab) ip(args ...string) string {
	lb.t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		lb.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (lb *lab) sysctl(ns string, settings ...string) {
	lb.t.Helper()
	lb.ip(append([]string{"netns", "exec", ns, "sysctl", "-qw"}, settings...)...)
}

// inNetns runs f on an OS thread inside namespace ns and returns its error.
func inNetns(ns string, f func() error) error {
	done := make(chan error, 1)
	go func() {
		// The thread is never unlocked: when this goroutine returns, the
		// runtime ends the thread instead of reusing it in the wrong
		// namespace.
		runtime.LockOSThread()
		fd, err := unix.Open("/var/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- fmt.Errorf("open namespace %s: %w", ns, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("enter namespace %s: %w", ns, err)
			return
		}
		done <- f()
	}()
	return <-done
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
	if err := inNetns(h.ns, func() error { return a.SetOwned(owned) }); err != nil {
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
	err := inNetns(h.ns, func() error {
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
	for {
		mac := lb.neigh(h, ip).LLAddr
		if ok(mac) || time.Since(start) > within {
			return mac, time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
