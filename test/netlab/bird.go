package netlab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pylonlb/pylon/test/poll"
)

// BIRD is one BIRD 2 router: bird runs in Netns in the foreground (-f)
// under the lab's process control, as root, with its configuration
// (bird.conf), control socket (bird.ctl) and pid file (bird.pid) in Dir.
// birdc reaches it through the socket from any namespace, so, as with FRR,
// BIRD{Netns: …, Dir: …} is all a process that did not start it needs to
// query and configure it.
//
// The read side (Sessions, Paths, View, KernelRoutes) expects what the
// configuration of a lab router has: BGP protocols, and kernel protocols
// named kernel4 and kernel6 exporting to the namespace's kernel table with
// `merge paths on` (ECMP), whose export Paths reads for Multipath.
type BIRD struct {
	Netns string
	Dir   string

	lab  *Lab
	name string
}

// BIRDKernel4 and BIRDKernel6 are the names the read side expects of the
// router's kernel protocols.
const (
	BIRDKernel4 = "kernel4"
	BIRDKernel6 = "kernel6"
)

// NewBIRD prepares a router in netns with its state in Lab.Dir/<name>; its
// process is <name>. Start starts it.
func (l *Lab) NewBIRD(netns, name string) (*BIRD, error) {
	if err := Preflight(BIRDTools()...); err != nil {
		return nil, err
	}
	dir := filepath.Join(l.Dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &BIRD{Netns: netns, Dir: dir, lab: l, name: name}, nil
}

func (b *BIRD) conf() string   { return filepath.Join(b.Dir, "bird.conf") }
func (b *BIRD) socket() string { return filepath.Join(b.Dir, "bird.ctl") }

// Start writes Dir/bird.conf and starts bird, waiting until its control
// socket is there. A configuration with `log stderr all;` logs to the
// process's log (Process.Log).
func (b *BIRD) Start(ctx context.Context, config string) (*Process, error) {
	if b.lab == nil {
		return nil, fmt.Errorf("start bird: this BIRD was not made by NewBIRD")
	}
	if err := os.WriteFile(b.conf(), []byte(config), 0o644); err != nil {
		return nil, err
	}
	p, err := b.lab.StartProcess(ProcessSpec{Name: b.name, Netns: b.Netns, Path: "bird",
		Args: []string{"-f", "-c", b.conf(), "-s", b.socket(), "-P", filepath.Join(b.Dir, "bird.pid")}, Layer: LayerFRR})
	if err != nil {
		return nil, err
	}
	return p, b.waitServing(ctx, p)
}

// waitServing waits up to 10 s until bird answers on its socket, failing
// early, with its log, if it exits (bird makes the socket before it reads
// its configuration, and leaves it behind when it refuses it).
func (b *BIRD) waitServing(ctx context.Context, p *Process) error {
	_, err := poll.Until(ctx, 10*time.Millisecond, 10*time.Second, p.Spec.Name+" to answer on "+b.socket(), func(ctx context.Context) (bool, string, error) {
		select {
		case <-p.Done():
			return false, "", fmt.Errorf("%s exited: %v; log %s:\n%s", p.Spec.Name, p.ExitErr(), p.LogPath, p.Log())
		default:
		}
		if _, err := b.Birdc(ctx, "show", "status"); err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
	return err
}

// Process is the running bird, nil if Start did not start it.
func (b *BIRD) Process() *Process {
	if b.lab == nil {
		return nil
	}
	return b.lab.Process(b.name)
}

// Restart stops bird (SIGTERM: it closes its sessions with a
// notification and its kernel protocols withdraw their routes) and starts
// it again from Dir/bird.conf, waiting until the control socket is back.
func (b *BIRD) Restart(ctx context.Context) error {
	p := b.Process()
	if p == nil {
		return fmt.Errorf("restart bird: not started by this lab")
	}
	if err := p.Term(DefaultGrace); err != nil {
		return err
	}
	if err := os.Remove(b.socket()); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := p.Start(); err != nil {
		return err
	}
	return b.waitServing(ctx, p)
}

// Kill sends SIGKILL to bird by the PID in its pid file, if that process's
// command line names Dir: a crash, from any process.
func (b *BIRD) Kill() error { return killByPidFile(b.Dir, "bird") }

// Birdc runs one birdc command ("show protocols all") and returns its
// output without birdc's greeting line. birdc exits non-zero when BIRD
// answers with an error ("Network not found", a syntax error): the error
// carries the output.
func (b *BIRD) Birdc(ctx context.Context, command ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, "birdc", append([]string{"-s", b.socket()}, command...)...).CombinedOutput()
	if _, rest, ok := bytes.Cut(out, []byte("ready.\n")); ok {
		out = rest
	}
	if err != nil {
		return out, fmt.Errorf("birdc %s: %w: %s", strings.Join(command, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// Configure replaces the configuration: it writes Dir/bird.conf and has
// bird read it (birdc configure), which restarts the protocols whose
// configuration changed and leaves the others alone. A configuration bird
// refuses is an error that carries what bird said; bird keeps the old one
// running (the file on disk is then the refused one).
func (b *BIRD) Configure(ctx context.Context, config string) error {
	if err := os.WriteFile(b.conf(), []byte(config), 0o644); err != nil {
		return err
	}
	out, err := b.Birdc(ctx, "configure")
	if err != nil {
		return err
	}
	if !bytes.Contains(out, []byte("Reconfigur")) {
		return fmt.Errorf("birdc configure: %s", bytes.TrimSpace(out))
	}
	return nil
}
