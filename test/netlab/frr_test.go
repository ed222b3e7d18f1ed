package netlab

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFRR runs a router of the network layer: zebra and bgpd start and
// serve, Configure changes the running configuration and refuses what
// vtysh does not take, Sessions reads the change, Restart starts bgpd
// again from its file (a new PID, the change gone), and Kill kills a
// daemon by its pid file, but only this router's.
func TestFRR(t *testing.T) {
	if err := Preflight(FRRTools()...); err != nil {
		t.Skipf("SKIPPED: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	l := Start(t, Options{})
	ns, err := l.AddNetns(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.NewFRR(ns, "frr")
	if err != nil {
		t.Fatal(err)
	}
	zebra, err := r.Start(ctx, "zebra", "hostname r\nlog file "+r.Dir+"/zebra.log\n")
	if err != nil {
		t.Fatal(err)
	}
	bgpd, err := r.Start(ctx, "bgpd", "hostname r\nlog file "+r.Dir+"/bgpd.log\n!\nrouter bgp 64999\n bgp router-id 198.18.3.1\n!\n")
	if err != nil {
		t.Fatal(err)
	}
	if r.Daemon("bgpd") != bgpd || r.Daemon("zebra") != zebra {
		t.Fatalf("Daemon does not return the started processes")
	}
	if out, err := r.Vtysh(ctx, "show running-config"); err != nil || !strings.Contains(string(out), "router bgp 64999") {
		t.Fatalf("running config: %v: %s", err, out)
	}

	peer := netip.MustParseAddr("198.18.3.2")
	if err := r.Configure(ctx, "router bgp 64999", "neighbor 198.18.3.2 remote-as 64998"); err != nil {
		t.Fatal(err)
	}
	sessions, err := r.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(sessions, func(s Session) bool { return s.Peer == peer && s.RemoteAS == 64998 }) {
		t.Errorf("after Configure, sessions %+v lack %s AS 64998", sessions, peer)
	}
	if err := r.Configure(ctx, "router bgp 64999", "neighbor 198.18.3.3 no-such-keyword"); err == nil {
		t.Error("Configure took a line vtysh refuses")
	}

	pid := bgpd.PID()
	if err := r.Restart(ctx, "bgpd"); err != nil {
		t.Fatal(err)
	}
	if bgpd.PID() == pid {
		t.Errorf("bgpd's PID is still %d after Restart", pid)
	}
	if sessions, err = r.Sessions(ctx); err != nil || len(sessions) != 0 {
		t.Errorf("after Restart: sessions %+v (%v), want none: the file has no neighbour", sessions, err)
	}

	// Another router's pid file naming a process that is not its daemon:
	// Kill refuses it.
	stranger, err := l.StartProcess(ProcessSpec{Name: "stranger", Path: "sleep", Args: []string{"30"}})
	if err != nil {
		t.Fatal(err)
	}
	other := &FRR{Netns: ns, Dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(other.Dir, "zebra.pid"), []byte(strconv.Itoa(stranger.PID())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := other.Kill("zebra"); err == nil || !stranger.Running() {
		t.Errorf("Kill of a PID that is not the router's: %v; the process runs: %v", err, stranger.Running())
	}
	if err := (&FRR{Netns: ns, Dir: r.Dir}).Kill("zebra"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-zebra.Done():
	case <-time.After(5 * time.Second):
		t.Error("zebra still runs 5 s after Kill")
	}
}
