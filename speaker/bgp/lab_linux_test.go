package bgp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The lab: two network namespaces joined by a veth, FRR in one of them.
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
// its own.) vtysh talks to FRR over Unix sockets in the lab directory, which
// a process in any network namespace can reach. The parent owns the lab and
// tears it down in t.Cleanup whatever the child did.

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
	Node, Router string // namespace names
	Dir          string // FRR's directory: configs, pid files, vty sockets
}

// newLab builds the namespaces and starts FRR; everything goes away in
// t.Cleanup. It skips when not root.
func newLab(t *testing.T) *labInfo {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: the BGP lab needs root (network namespaces, FRR); run the tests as root to exercise GoBGP against FRR")
	}
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: the BGP lab starts FRR in network namespaces")
	}
	ensureFRR(t)
	sweepLeftovers(t)

	buf := make([]byte, 4)
	_, _ = rand.Read(buf)
	prefix := "pylbgp" + hex.EncodeToString(buf)
	lab := &labInfo{Node: prefix + "-node", Router: prefix + "-rtr"}
	dir, err := os.MkdirTemp("", prefix+"-")
	if err != nil {
		t.Fatal(err)
	}
	lab.Dir = dir
	// The owner file lets a later run tell a crashed run's leftovers from
	// a lab in use.
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { teardown(t, lab) })

	for _, ns := range []string{lab.Node, lab.Router} {
		run(t, "ip", "netns", "add", ns)
		// DAD off before any link is up, so IPv6 addresses are usable at
		// once instead of tentative for ~2 s.
		run(t, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	run(t, "ip", "-n", lab.Node, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", lab.Router)
	for _, a := range []string{nodeEBGP + "/24", nodeIBGP + "/24", nodeMD5 + "/24"} {
		run(t, "ip", "-n", lab.Node, "addr", "add", a, "dev", "eth0")
	}
	run(t, "ip", "-n", lab.Node, "addr", "add", nodeV6+"/64", "dev", "eth0", "nodad")
	for _, a := range []string{routerV4 + "/24", routerV4b + "/24"} {
		run(t, "ip", "-n", lab.Router, "addr", "add", a, "dev", "eth0")
	}
	run(t, "ip", "-n", lab.Router, "addr", "add", routerV6+"/64", "dev", "eth0", "nodad")
	run(t, "ip", "-n", lab.Node, "link", "set", "eth0", "up")
	run(t, "ip", "-n", lab.Router, "link", "set", "eth0", "up")

	startFRR(t, lab)
	return lab
}

const bgpdConf = `frr defaults traditional
hostname pylon-lab-router
log file %[1]s/bgpd.log
!
router bgp 64513
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

// startFRR runs zebra and bgpd in the router namespace, as the lab does: all
// state in the lab directory, owned by frr.
func startFRR(t *testing.T, lab *labInfo) {
	t.Helper()
	d := lab.Dir
	u, err := user.Lookup("frr")
	if err != nil {
		t.Fatalf("FRR's user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	files := map[string]string{
		"zebra.conf": "hostname pylon-lab-router\nlog file " + d + "/zebra.log\n",
		"bgpd.conf":  fmt.Sprintf(bgpdConf, d, md5Password),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(d, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{d, filepath.Join(d, "zebra.conf"), filepath.Join(d, "bgpd.conf")} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, daemon := range []string{"zebra", "bgpd"} {
		run(t, "ip", "netns", "exec", lab.Router, "/usr/lib/frr/"+daemon, "-d", "-u", "frr", "-g", "frr",
			"-f", filepath.Join(d, daemon+".conf"), "-i", filepath.Join(d, daemon+".pid"),
			"-z", filepath.Join(d, "zserv.api"), "--vty_socket", d, "-A", "127.0.0.1", "-P", "0")
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := exec.Command("vtysh", "--vty_socket", d, "-c", "show bgp summary json").CombinedOutput()
		if err == nil && bytes.Contains(out, []byte("64513")) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bgpd did not answer within 15 s: %v: %s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// teardown stops FRR by the PIDs in its pid files, deletes the namespaces
// and removes the directory.
func teardown(t *testing.T, lab *labInfo) {
	if t.Failed() {
		for _, f := range []string{"bgpd.log", "zebra.log"} {
			if b, err := os.ReadFile(filepath.Join(lab.Dir, f)); err == nil {
				t.Logf("%s (last 3000 bytes):\n%s", f, tail(b, 3000))
			}
		}
	}
	stopFRR(lab.Dir)
	for _, ns := range []string{lab.Node, lab.Router} {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil && !bytes.Contains(out, []byte("No such file")) {
			t.Errorf("delete namespace %s: %v: %s", ns, err, out)
		}
	}
	if err := os.RemoveAll(lab.Dir); err != nil {
		t.Errorf("remove %s: %v", lab.Dir, err)
	}
}

// stopFRR signals the daemons whose pid files are in dir, if the process
// with that PID is still that daemon, and waits for them to go.
func stopFRR(dir string) {
	var pids []int
	for _, daemon := range []string{"bfdd", "bgpd", "zebra"} {
		b, err := os.ReadFile(filepath.Join(dir, daemon+".pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if !bytes.Contains(cmdline, []byte(dir)) {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGTERM)
		pids = append(pids, pid)
	}
	deadline := time.Now().Add(3 * time.Second)
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// sweepLeftovers removes labs of earlier runs whose test process is gone
// (killed before its cleanup ran). Labs of live processes are left alone.
func sweepLeftovers(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pylbgp*-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(string(b))
		if err != nil || syscall.Kill(pid, 0) == nil {
			continue
		}
		prefix := strings.SplitN(filepath.Base(d), "-", 2)[0]
		t.Logf("removing the lab of a dead test process %d: %s", pid, prefix)
		stopFRR(d)
		for _, ns := range []string{prefix + "-node", prefix + "-rtr"} {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
		_ = os.RemoveAll(d)
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
	info, _ := json.Marshal(lab)
	args := []string{"netns", "exec", lab.Node, os.Args[0],
		"-test.run=^" + test + "$/^" + scenario + "$", "-test.v", "-test.count=1", "-test.timeout=5m"}
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		args = append(args, "-test.bench="+f.Value.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Env = append(os.Environ(), labEnv+"="+string(info))
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

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
