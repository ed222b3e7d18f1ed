package netlab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pylonlb/pylon/test/poll"
)

// FRRDaemons is where Debian's frr package puts zebra, bgpd, bfdd and
// staticd.
const FRRDaemons = "/usr/lib/frr"

// FRR is one FRR router: its daemons run in Netns, in the foreground under
// the lab's process control (so they die with the lab, and their output is
// kept), dropping to the frr user, with configuration, pid files, vty
// sockets and logs in Dir. vtysh reaches them through the sockets in Dir,
// from any namespace: Netns and Dir are all a client needs, so a process
// that did not start the router (a test re-executed in another namespace)
// may use FRR{Netns: …, Dir: …} to query and configure it.
type FRR struct {
	Netns string
	Dir   string

	lab  *Lab
	name string
}

// NewFRR prepares a router in netns with its state in Lab.Dir/<name>,
// owned by the frr user; its daemons' processes are <name>-<daemon>. Start
// starts them, zebra first.
func (l *Lab) NewFRR(netns, name string) (*FRR, error) {
	if err := Preflight(FRRTools()...); err != nil {
		return nil, err
	}
	dir := filepath.Join(l.Dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	uid, gid, err := frrOwner()
	if err != nil {
		return nil, err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &FRR{Netns: netns, Dir: dir, lab: l, name: name}, nil
}

// Start writes Dir/<daemon>.conf and starts the daemon ("zebra", "bgpd",
// "bfdd", "staticd"), waiting until it serves: zebra's zserv.api socket,
// the others' vty socket. Start zebra first; bfdd before bgpd when bgpd's
// configuration uses BFD (bgpd registers its sessions with bfdd through
// zebra). bfdd keeps its control socket in Dir (--bfdctl).
func (f *FRR) Start(ctx context.Context, daemon, config string) (*Process, error) {
	if f.lab == nil {
		return nil, fmt.Errorf("start %s: this FRR was not made by NewFRR", daemon)
	}
	uid, gid, err := frrOwner()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(f.Dir, daemon+".conf")
	if err := os.WriteFile(conf, []byte(config), 0o640); err != nil {
		return nil, err
	}
	if err := os.Chown(conf, uid, gid); err != nil {
		return nil, err
	}
	// -A 127.0.0.1 -P 0: no vty TCP port; vtysh uses the sockets.
	args := []string{"-u", "frr", "-g", "frr", "-f", conf, "-i", filepath.Join(f.Dir, daemon+".pid"),
		"-z", filepath.Join(f.Dir, "zserv.api"), "--vty_socket", f.Dir, "-A", "127.0.0.1", "-P", "0"}
	ready := filepath.Join(f.Dir, daemon+".vty")
	switch daemon {
	case "zebra":
		ready = filepath.Join(f.Dir, "zserv.api")
	case "bfdd":
		args = append(args, "--bfdctl", filepath.Join(f.Dir, "bfdd.sock"))
	}
	p, err := f.lab.StartProcess(ProcessSpec{Name: f.name + "-" + daemon, Netns: f.Netns,
		Path: filepath.Join(FRRDaemons, daemon), Args: args, Layer: LayerFRR})
	if err != nil {
		return nil, err
	}
	return p, WaitFile(ctx, p, ready)
}

// Daemon is the running daemon's process, nil if Start did not start it.
func (f *FRR) Daemon(daemon string) *Process {
	if f.lab == nil {
		return nil
	}
	return f.lab.Process(f.name + "-" + daemon)
}

// Restart stops a daemon (SIGTERM, as a service restart does: bgpd tells
// its peers and zebra withdraws its routes) and starts it again with the
// same configuration, waiting until its vty socket is back. bgpd's
// sessions then start from nothing.
func (f *FRR) Restart(ctx context.Context, daemon string) error {
	p := f.Daemon(daemon)
	if p == nil {
		return fmt.Errorf("restart %s: not started by this lab", daemon)
	}
	if err := p.Term(DefaultGrace); err != nil {
		return err
	}
	vty := filepath.Join(f.Dir, daemon+".vty")
	if err := os.Remove(vty); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := p.Start(); err != nil {
		return err
	}
	return WaitFile(ctx, p, vty)
}

// Kill sends SIGKILL to a daemon by the PID in its pid file, if that
// process's command line names Dir (it is this router's): a crash. It
// works from any process, the daemon's starter or not.
func (f *FRR) Kill(daemon string) error {
	return killByPidFile(f.Dir, daemon)
}

// killByPidFile sends SIGKILL to the PID in dir/<name>.pid if that
// process's command line names dir: a router's process, not whatever
// reused the PID.
func killByPidFile(dir, name string) error {
	b, err := os.ReadFile(filepath.Join(dir, name+".pid"))
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("%s.pid: %q", name, b)
	}
	if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); !bytes.Contains(cmdline, []byte(dir)) {
		return fmt.Errorf("PID %d is not this router's %s: %q", pid, name, cmdline)
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

// Vtysh runs vtysh commands (one -c each) against the router's daemons and
// returns the output.
func (f *FRR) Vtysh(ctx context.Context, commands ...string) ([]byte, error) {
	args := []string{"--vty_socket", f.Dir}
	for _, c := range commands {
		args = append(args, "-c", c)
	}
	return Run(ctx, "", "vtysh", args...)
}

// JSON runs one show command ("show bgp summary json") and decodes its
// output into v.
func (f *FRR) JSON(ctx context.Context, command string, v any) error {
	out, err := f.Vtysh(ctx, command)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("vtysh -c %q: %w: %s", command, err, out)
	}
	return nil
}

// Configure changes the running configuration: "configure terminal", then
// lines, as an operator types them ("router bgp 64513", "neighbor X
// passive"). A line vtysh refuses ("% Unknown command", "% Specify
// remote-as …", a daemon not running) makes it exit non-zero: the error
// carries what it said.
func (f *FRR) Configure(ctx context.Context, lines ...string) error {
	args := []string{"--vty_socket", f.Dir, "-c", "configure terminal"}
	for _, l := range lines {
		args = append(args, "-c", l)
	}
	if out, err := exec.CommandContext(ctx, "vtysh", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("vtysh configure %q: %w: %s", lines, err, bytes.TrimSpace(out))
	}
	return nil
}

// frrOwner is the frr user's uid and gid.
func frrOwner() (int, int, error) {
	u, err := user.Lookup("frr")
	if err != nil {
		return 0, 0, fmt.Errorf("no frr user (apt-get install frr): %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, err
	}
	gid, err := strconv.Atoi(u.Gid)
	return uid, gid, err
}

// WaitFile waits up to 10 s for process p to create path, failing early,
// with p's log, if p exits.
func WaitFile(ctx context.Context, p *Process, path string) error {
	_, err := poll.Until(ctx, 10*time.Millisecond, 10*time.Second, p.Spec.Name+" to create "+path, func(context.Context) (bool, string, error) {
		if _, err := os.Stat(path); err == nil {
			return true, "", nil
		}
		select {
		case <-p.Done():
			return false, "", fmt.Errorf("%s exited before creating %s: %v; log %s:\n%s", p.Spec.Name, path, p.ExitErr(), p.LogPath, p.Log())
		default:
			return false, "not there yet", nil
		}
	})
	return err
}
