package bgp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/netlab"
	"github.com/pylonlb/pylon/test/poll"
)

// The lab: two network namespaces joined by a veth, FRR (or BIRD 2, see
// bird_linux_test.go) in one of them, a
// network-only lab of test/netlab (names <p>, "pyn" and six hex digits):
//
//	<p>-node   eth0  198.18.2.1-.3/24  2001:db8:2::1/64      the speaker
//	<p>-rtr    eth0  198.18.2.254, .253/24  2001:db8:2::fe/64 FRR, AS 64513
//
// FRR knows the node's addresses as passive neighbours (it never dials):
// 198.18.2.1 eBGP (AS 64512), 198.18.2.2 iBGP, 198.18.2.3 eBGP with a
// TCP-MD5 password, 2001:db8:2::1 eBGP over IPv6.
//
// How the speaker gets into the node namespace: the test re-executes its
// own binary under `ip netns exec <p>-node`, with labEnv set, running only
// the scenario at hand. Every thread of that process, so every goroutine
// GoBGP starts, is in the node namespace from the first instruction; nothing
// depends on which OS thread a goroutine lands on. (Locking one thread and
// setns-ing it would cover only that thread: GoBGP dials from goroutines of
// its own.) vtysh talks to FRR over Unix sockets in the router's
// directory, which a process in any network namespace can reach: the child
// uses netlab.FRR{Netns, Dir}. The parent owns the lab (netlab.Start) and
// it is torn down when the test ends whatever the child did.

// labEnv carries the lab to the re-executed test binary, as JSON.
const labEnv = "PYLON_BGP_LAB"

// Addresses and AS numbers of the lab.
const (
	routerASN   = 64513
	nodeASN     = 64512
	routerV4    = "198.18.2.254"
	routerV4b   = "198.18.2.253"
	routerV6    = "2001:db8:2::fe"
	nodeEBGP    = "198.18.2.1"
	nodeIBGP    = "198.18.2.2"
	nodeMD5     = "198.18.2.3"
	nodeV6      = "2001:db8:2::1"
	md5Password = "pylon-lab-md5"
)

// labInfo is what the child needs to know.
type labInfo struct {
	// Kind is the router: routerFRR or routerBIRD.
	Kind         string
	Node, Router string // namespace names
	Dir          string // the router's directory: configs, pid files, sockets
	// BFD: the router runs BFD with the node (TestBFDBIRD: BIRD's bfd
	// protocol in its configuration).
	BFD bool
	// Router2 and Dir2: the second router, when a test adds it
	// (addRouterB in lab2_linux_test.go).
	Router2, Dir2 string

	// In the parent only: the lab and its routers (FRR's; BIRD's are
	// reached by Dir and Dir2).
	lab       *netlab.Lab
	rtr, rtr2 *netlab.FRR
}

// router is the lab's router as the child's scenarios query it.
func (lab *labInfo) router(t *testing.T) router {
	return router{kind: lab.Kind, t: t, dir: lab.Dir, lab: lab, ns: lab.Router}
}

// newLab builds the namespaces and starts the router, FRR or BIRD (kind);
// everything goes away when the test ends. It skips when not root, and in
// -short mode.
func newLab(t *testing.T, kind string) *labInfo {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: the BGP lab needs root (network namespaces, FRR); run the tests as root to exercise GoBGP against FRR")
	}
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: the BGP lab starts FRR in network namespaces")
	}
	if kind == routerFRR {
		ensureFRR(t)
	}
	ctx := context.Background()
	l := netlab.Start(t, netlab.Options{})
	lab := &labInfo{Kind: kind, lab: l}
	var err error
	if lab.Node, err = l.AddNetns(ctx, "node"); err != nil {
		t.Fatal(err)
	}
	if lab.Router, err = l.AddNetns(ctx, "rtr"); err != nil {
		t.Fatal(err)
	}
	ip(t, lab.Node, "link add eth0 type veth peer name eth0 netns "+lab.Router,
		"addr add "+nodeEBGP+"/24 dev eth0", "addr add "+nodeIBGP+"/24 dev eth0", "addr add "+nodeMD5+"/24 dev eth0",
		"addr add "+nodeV6+"/64 dev eth0 nodad")
	ip(t, lab.Router, "addr add "+routerV4+"/24 dev eth0", "addr add "+routerV4b+"/24 dev eth0",
		"addr add "+routerV6+"/64 dev eth0 nodad")
	ip(t, lab.Node, "link set eth0 up")
	ip(t, lab.Router, "link set eth0 up")
	if kind == routerBIRD {
		lab.Dir = startBIRD(t, l, lab.Router, "bird", birdLabRouter())
		return lab
	}
	lab.rtr = startRouter(t, l, lab.Router, "frr", func(dir string) string { return fmt.Sprintf(bgpdConf, dir, md5Password) })
	lab.Dir = lab.rtr.Dir
	return lab
}

// bgpdConf is the lab router's bgpd configuration: the lab's lines (its
// log in the router's directory, %[1]s) and frrPeering.
const bgpdConf = `frr defaults traditional
hostname pylon-lab-router
log file %[1]s/bgpd.log
!
` + frrPeering

// frrPeering is what FRR needs to peer with pylon's nodes, the MD5
// password as %[2]s: docs/configuration.md shows it (TestRouterSnippets
// keeps the two in step).
const frrPeering = `router bgp 64513
 bgp router-id 198.18.2.254
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 timers bgp 3 9
 neighbor 198.18.2.1 remote-as 64512
 neighbor 198.18.2.1 passive
 neighbor 198.18.2.2 remote-as 64513
 neighbor 198.18.2.2 passive
 neighbor 198.18.2.3 remote-as 64512
 neighbor 198.18.2.3 passive
 neighbor 198.18.2.3 password %[2]s
 neighbor 2001:db8:2::1 remote-as 64512
 neighbor 2001:db8:2::1 passive
 !
 address-family ipv4 unicast
  maximum-paths 8
  maximum-paths ibgp 8
  neighbor 198.18.2.1 activate
  neighbor 198.18.2.2 activate
  neighbor 198.18.2.3 activate
 exit-address-family
 !
 address-family ipv6 unicast
  maximum-paths 8
  neighbor 2001:db8:2::1 activate
 exit-address-family
!
`

// startRouter runs zebra and bgpd (bgpd's configuration from the router's
// directory) in namespace ns and waits until bgpd answers with its AS.
// When the test fails, the tails of the router's logs are logged.
func startRouter(t *testing.T, l *netlab.Lab, ns, name string, bgpd func(dir string) string) *netlab.FRR {
	t.Helper()
	ctx := context.Background()
	r, err := l.NewFRR(ns, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, f := range []string{"zebra.log", "bgpd.log", "bfdd.log"} {
			if b, err := os.ReadFile(filepath.Join(r.Dir, f)); err == nil {
				t.Logf("%s %s (last 3000 bytes):\n%s", name, f, tail(b, 3000))
			}
		}
	})
	if _, err := r.Start(ctx, "zebra", "hostname pylon-lab-router\nlog file "+r.Dir+"/zebra.log\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(ctx, "bgpd", bgpd(r.Dir)); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 20*time.Millisecond, 15*time.Second, name+"'s bgpd answers", func() error {
		out, err := r.Vtysh(ctx, "show bgp summary json")
		if err == nil && !bytes.Contains(out, []byte("64513")) {
			err = fmt.Errorf("no AS 64513 in %s", out)
		}
		return err
	})
	return r
}

// ip runs ip commands in namespace ns ("": this process's), failing t.
func ip(t *testing.T, ns string, lines ...string) {
	t.Helper()
	if err := netlab.IP(context.Background(), ns, lines...); err != nil {
		t.Fatal(err)
	}
}

// ensureFRR installs FRR when it is missing, running apt-get update first if
// the package lists do not know it, and retrying while another apt-get holds
// the lock.
func ensureFRR(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/lib/frr/bgpd"); err == nil {
		return
	}
	t.Log("FRR is missing: apt-get install -y frr")
	apt := func(args ...string) ([]byte, error) {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	updated := false
	deadline := time.Now().Add(5 * time.Minute)
	for {
		out, err := apt("install", "-y", "-q", "frr")
		switch {
		case err == nil:
			return
		case time.Now().After(deadline):
		case bytes.Contains(out, []byte("lock")):
			time.Sleep(3 * time.Second)
			continue
		case !updated && (bytes.Contains(out, []byte("Unable to locate package")) || bytes.Contains(out, []byte("no installation candidate"))):
			updated = true
			if out, err := apt("update", "-q"); err != nil && !bytes.Contains(out, []byte("lock")) {
				t.Fatalf("apt-get update: %v\n%s", err, tail(out, 2000))
			}
			continue
		}
		t.Fatalf("apt-get install frr: %v\n%s", err, tail(out, 2000))
	}
}

// inLab runs the named scenario of test in the node namespace: the test
// binary again, under ip netns exec, with the lab in its environment. Its
// output is logged line by line; the subtest fails if the child fails.
func inLab(t *testing.T, lab *labInfo, test, scenario string) {
	t.Helper()
	var extra []string
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		extra = append(extra, "-test.bench="+f.Value.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := childCmd(ctx, lab, test, scenario, extra...)
	sc := startChild(t, cmd)
	ran := false
	for sc.Scan() {
		line := sc.Text()
		ran = ran || strings.Contains(line, "--- PASS: "+test+"/"+scenario)
		t.Log("node| " + line)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("scenario %s in namespace %s: %v", scenario, lab.Node, err)
	}
	if !ran {
		t.Fatalf("scenario %s did not run in the namespace (no PASS line)", scenario)
	}
}

// childCmd is the test binary again, in the lab's node namespace, running
// only test/scenario, with the lab in its environment; extra are more
// flags.
func childCmd(ctx context.Context, lab *labInfo, test, scenario string, extra ...string) *exec.Cmd {
	info, _ := json.Marshal(lab)
	args := append([]string{"netns", "exec", lab.Node, os.Args[0],
		"-test.run=^" + test + "$/^" + scenario + "$", "-test.v", "-test.count=1", "-test.timeout=5m"}, extra...)
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Env = append(os.Environ(), labEnv+"="+string(info))
	return cmd
}

// startChild starts cmd; its stdout and stderr come line by line from the
// scanner.
func startChild(t *testing.T, cmd *exec.Cmd) *bufio.Scanner {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return sc
}

// childLab returns the lab when this process is the re-executed child.
func childLab(t *testing.T) *labInfo {
	env := os.Getenv(labEnv)
	if env == "" {
		return nil
	}
	var lab labInfo
	if err := json.Unmarshal([]byte(env), &lab); err != nil {
		t.Fatalf("%s: %v", labEnv, err)
	}
	return &lab
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
