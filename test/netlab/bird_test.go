package netlab

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/poll"
)

// birdRouterConf is the router of TestBIRD: AS 64513, a passive eBGP
// neighbour per family (the node, AS 64512), kernel protocols that merge
// ECMP paths. extra goes at the end.
const birdRouterConf = `log stderr all;
router id 198.18.3.1;
timeformat protocol iso long ms;
protocol device {}
protocol kernel kernel4 { ipv4 { export all; }; merge paths on; }
protocol kernel kernel6 { ipv6 { export all; }; merge paths on; }
protocol bgp node4 { local as 64513; neighbor 198.18.3.2 as 64512; passive on; hold time 9;
  ipv4 { import all; export none; }; }
protocol bgp node6 { local as 64513; neighbor 2001:db8:3::2 as 64512; passive on; hold time 9;
  ipv6 { import all; export none; }; }
%s
`

// birdNodeConf is the node: a second BIRD announcing a host route per
// family with communities, dialling the router.
const birdNodeConf = `log stderr all;
router id 198.18.3.2;
protocol device {}
protocol static { ipv4; route 198.51.100.90/32 unreachable; }
protocol static { ipv6; route 2001:db8:51::90/128 unreachable; }
filter mark { bgp_community.add((65535,65281)); bgp_community.add((65000,90)); bgp_large_community.add((64512,9,0)); accept; }
protocol bgp r4 { local 198.18.3.2 as 64512; neighbor 198.18.3.1 as 64513; hold time 9; connect retry time 1;
  ipv4 { import none; export filter mark; }; }
protocol bgp r6 { local 2001:db8:3::2 as 64512; neighbor 2001:db8:3::1 as 64513; hold time 9; connect retry time 1;
  ipv6 { import none; export filter mark; }; }
`

// TestBIRD runs a BIRD router of the network layer against a second BIRD
// as its peer: bird starts and serves its socket, Sessions, Paths, View
// and KernelRoutes read the real sessions, paths (communities in FRR's
// form, next hops, the peer) and kernel routes (proto bird); Configure
// changes the configuration and refuses what bird refuses; Restart starts
// bird again (a new PID, the sessions anew); Kill kills it by its pid
// file, but only this router's.
func TestBIRD(t *testing.T) {
	if err := Preflight(BIRDTools()...); err != nil {
		t.Skipf("SKIPPED: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	l := Start(t, Options{})
	rns, err := l.AddNetns(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	nns, err := l.AddNetns(ctx, "n")
	if err != nil {
		t.Fatal(err)
	}
	if err := IP(ctx, rns, "link add eth0 type veth peer name eth0 netns "+nns, "addr add 198.18.3.1/24 dev eth0",
		"addr add 2001:db8:3::1/64 dev eth0 nodad", "link set eth0 up"); err != nil {
		t.Fatal(err)
	}
	if err := IP(ctx, nns, "addr add 198.18.3.2/24 dev eth0", "addr add 2001:db8:3::2/64 dev eth0 nodad", "link set eth0 up"); err != nil {
		t.Fatal(err)
	}
	r, err := l.NewBIRD(rns, "bird-r")
	if err != nil {
		t.Fatal(err)
	}
	proc, err := r.Start(ctx, fmt.Sprintf(birdRouterConf, ""))
	if err != nil {
		t.Fatal(err)
	}
	if r.Process() != proc {
		t.Fatal("Process does not return the started process")
	}
	n, err := l.NewBIRD(nns, "bird-n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Start(ctx, birdNodeConf); err != nil {
		t.Fatal(err)
	}
	var router Router = r

	v4, v6 := netip.MustParsePrefix("198.51.100.90/32"), netip.MustParsePrefix("2001:db8:51::90/128")
	node4, node6 := netip.MustParseAddr("198.18.3.2"), netip.MustParseAddr("2001:db8:3::2")
	poll.Eventually(t, 20*time.Millisecond, 15*time.Second, "both sessions up with a prefix each", func() error {
		sessions, err := router.Sessions(ctx)
		if err != nil {
			return err
		}
		if len(sessions) != 2 || sessions[0].Peer != node4 || sessions[1].Peer != node6 {
			return fmt.Errorf("sessions %+v, want %s and %s", sessions, node4, node6)
		}
		for i, fam := range []string{"ipv4", "ipv6"} {
			if s := sessions[i]; !s.Established() || s.RemoteAS != 64512 || s.PrefixesReceived[fam] != 1 || s.Since == "" {
				return fmt.Errorf("session %+v, want Established with AS 64512, one %s prefix, a since time", s, fam)
			}
		}
		return nil
	})
	for _, c := range []struct {
		prefix netip.Prefix
		peer   netip.Addr
	}{{v4, node4}, {v6, node6}} {
		paths, err := router.Paths(ctx, c.prefix)
		if err != nil {
			t.Fatal(err)
		}
		if len(paths) != 1 {
			t.Fatalf("%s: %d paths %+v, want 1", c.prefix, len(paths), paths)
		}
		p := paths[0]
		if p.Peer != c.peer || p.NextHops[0] != c.peer || !p.Best || !p.Valid || p.Multipath || p.PeerType != "external" ||
			!slices.Equal(p.ASPath, []uint32{64512}) || !slices.Equal(p.Communities, []string{"65000:90", "no-export"}) ||
			!slices.Equal(p.LargeCommunities, []string{"64512:9:0"}) {
			t.Errorf("%s: %+v", c.prefix, p)
		}
	}
	if none, err := router.Paths(ctx, netip.MustParsePrefix("198.51.100.91/32")); err != nil || len(none) != 0 {
		t.Errorf("a prefix the router lacks: %+v, %v; want no paths", none, err)
	}
	view, err := router.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(view.Routes) != 2 || len(view.Routes[v4]) != 1 || len(view.Routes[v6]) != 1 || len(view.Sessions) != 2 {
		t.Errorf("View: %+v, want both sessions and both routes", view)
	}
	poll.Eventually(t, 20*time.Millisecond, 5*time.Second, "kernel routes", func() error {
		routes, err := router.KernelRoutes(ctx)
		if err != nil {
			return err
		}
		if !slices.Equal(routes[v4], []netip.Addr{node4}) || !slices.Equal(routes[v6], []netip.Addr{node6}) || len(routes) != 2 {
			return fmt.Errorf("kernel routes %v", routes)
		}
		return nil
	})

	// Configure: a third neighbour appears; a configuration bird refuses
	// is an error, and the running one stays.
	if err := r.Configure(ctx, fmt.Sprintf(birdRouterConf, "protocol bgp third { local as 64513; neighbor 198.18.3.3 as 64999; passive on; ipv4 { import all; export none; }; }")); err != nil {
		t.Fatal(err)
	}
	sessions, err := r.Sessions(ctx)
	if err != nil || !slices.ContainsFunc(sessions, func(s Session) bool { return s.Peer == netip.MustParseAddr("198.18.3.3") && s.RemoteAS == 64999 }) {
		t.Errorf("after Configure: sessions %+v (%v) lack 198.18.3.3 AS 64999", sessions, err)
	}
	if err := r.Configure(ctx, fmt.Sprintf(birdRouterConf, "protocol bgp { no-such-keyword; }")); err == nil {
		t.Error("Configure took a configuration bird refuses")
	}
	if sessions, err := r.Sessions(ctx); err != nil || len(sessions) != 3 {
		t.Errorf("after a refused configuration: %+v (%v), want the 3 sessions of the running one", sessions, err)
	}

	// Restart: a new process from the file (the refused one is on disk:
	// write the last good one back first), sessions from nothing.
	if err := os.WriteFile(filepath.Join(r.Dir, "bird.conf"), []byte(fmt.Sprintf(birdRouterConf, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	pid := proc.PID()
	if err := r.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if proc.PID() == pid {
		t.Errorf("bird's PID is still %d after Restart", pid)
	}
	poll.Eventually(t, 20*time.Millisecond, 15*time.Second, "sessions back after Restart", func() error {
		sessions, err := r.Sessions(ctx)
		if err != nil {
			return err
		}
		if len(sessions) != 2 || !sessions[0].Established() {
			return fmt.Errorf("sessions %+v", sessions)
		}
		return nil
	})

	// Kill refuses a pid file naming another process, and kills bird.
	stranger, err := l.StartProcess(ProcessSpec{Name: "stranger", Path: "sleep", Args: []string{"30"}})
	if err != nil {
		t.Fatal(err)
	}
	other := &BIRD{Netns: rns, Dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(other.Dir, "bird.pid"), []byte(strconv.Itoa(stranger.PID())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := other.Kill(); err == nil || !stranger.Running() {
		t.Errorf("Kill of a PID that is not the router's: %v; the process runs: %v", err, stranger.Running())
	}
	if err := (&BIRD{Netns: rns, Dir: r.Dir}).Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-proc.Done():
	case <-time.After(5 * time.Second):
		t.Error("bird still runs 5 s after Kill")
	}
	if out, err := r.Birdc(ctx, "show", "status"); err == nil || !strings.Contains(err.Error(), "birdc") {
		t.Errorf("birdc after Kill: %v, %s; want an error", err, out)
	}
}
