package netlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultGrace is how long Stop waits after SIGTERM before SIGKILL.
const DefaultGrace = 5 * time.Second

// ProcessSpec says what to run and where.
type ProcessSpec struct {
	// Name is unique in the lab; the log is Dir/logs/<Name>.log.
	Name string
	// Netns is the network namespace to run in; empty: the host's.
	Netns string
	// Path is the binary; Args its arguments.
	Path string
	Args []string
	// Env is added to the lab's own environment.
	Env []string
	// Layer orders teardown: Close stops processes layer by layer, the
	// lowest first, those of one layer at once. What tests start is 0 (the
	// zero value), FRR's daemons LayerFRR, the last.
	Layer int
	// HostMounts enters Netns with `nsenter --net` instead of `ip netns
	// exec`: the process keeps the host's mounts, among them /sys with the
	// cgroup hierarchy (ip netns exec mounts a fresh /sys, whose
	// /sys/fs/cgroup is empty) and whatever its peers mount (the kubelet's
	// volumes, seen by containerd). /sys/class/net then shows the host's
	// links, not the namespace's. The node stack runs this way.
	HostMounts bool
}

// LayerFRR is the Layer of FRR's daemons: they stop last, so that the
// routes of what stops before them are withdrawn through a live router.
const LayerFRR = 9

// Process is a program the lab started. Its output (stdout and stderr,
// every run of it) goes to LogPath. The lab stops it on Close.
type Process struct {
	Spec    ProcessSpec
	LogPath string

	lab *Lab
	mu  sync.Mutex
	cmd *exec.Cmd
	// done is closed when the current run has exited and been reaped.
	done    chan struct{}
	exitErr error
}

// StartProcess starts spec. In a namespace it runs under `ip netns exec`
// (or nsenter, see HostMounts), which execs the program, so the PID is the
// program's own.
func (l *Lab) StartProcess(spec ProcessSpec) (*Process, error) {
	l.mu.Lock()
	for _, p := range l.procs {
		if p.Spec.Name == spec.Name {
			l.mu.Unlock()
			return nil, fmt.Errorf("a process named %s exists already", spec.Name)
		}
	}
	p := &Process{Spec: spec, LogPath: filepath.Join(l.Dir, "logs", spec.Name+".log"), lab: l}
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	if err := p.start(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Process) start() error {
	if err := p.startLocked(); err != nil {
		return err
	}
	p.lab.RecordProcs()
	return nil
}

func (p *Process) startLocked() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !isClosed(p.done) {
		return fmt.Errorf("%s runs already (pid %d)", p.Spec.Name, p.cmd.Process.Pid)
	}
	log, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close() // the child holds its own copy
	argv := append([]string{p.Spec.Path}, p.Spec.Args...)
	switch {
	case p.Spec.Netns != "" && p.Spec.HostMounts:
		argv = append([]string{"nsenter", "--net=/run/netns/" + p.Spec.Netns, "--"}, argv...)
	case p.Spec.Netns != "":
		argv = append([]string{"ip", "netns", "exec", p.Spec.Netns}, argv...)
	}
	fmt.Fprintf(log, "=== %s start: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), p.Spec.Env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own process group: a terminal's Ctrl-C reaches only
		// pylonlab, which then stops everything in order.
		Setpgid: true,
		// Should the lab's process die without tearing down, its
		// processes die with it; not those that change their user (FRR's
		// daemons): the kernel clears it then, and the next lab's sweep
		// kills them by the record.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Spec.Name, err)
	}
	p.cmd, p.done, p.exitErr = cmd, make(chan struct{}), nil
	go func(cmd *exec.Cmd, done chan struct{}) {
		err := cmd.Wait()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(done)
	}(cmd, p.done)
	return nil
}

// PID is the process ID of the current run.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// Running reports whether the current run has not exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !isClosed(p.done)
}

// Done is closed when the current run exits.
func (p *Process) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// ExitErr is how the last run ended (nil while running or on exit 0).
func (p *Process) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

// Signal sends sig to the current run (no-op once it has exited).
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if isClosed(p.done) {
		return nil
	}
	return p.cmd.Process.Signal(sig)
}

// Kill sends SIGKILL and waits until the process is gone: a crash.
func (p *Process) Kill() error {
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-p.Done()
	return nil
}

// Term sends SIGTERM and waits up to grace for the process to exit; then
// it sends SIGKILL and reports that the process ignored SIGTERM.
func (p *Process) Term(grace time.Duration) error {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.Done():
		return nil
	case <-time.After(grace):
	}
	if err := p.Kill(); err != nil {
		return err
	}
	return fmt.Errorf("%s ignored SIGTERM for %v: killed", p.Spec.Name, grace)
}

// Restart stops the process (SIGTERM, DefaultGrace) and starts it again
// with the same spec; the log continues.
func (p *Process) Restart() error {
	err := p.Term(DefaultGrace)
	return errors.Join(err, p.start())
}

// Start starts a process that has exited (after Kill or Term) again.
func (p *Process) Start() error { return p.start() }

// Wait waits for the current run to exit or ctx to end.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.Done():
		return p.ExitErr()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Log returns what the process has written so far.
func (p *Process) Log() string {
	data, _ := os.ReadFile(p.LogPath)
	return string(data)
}

// stopAll stops every process, layer by layer (ProcessSpec.Layer), each
// with SIGTERM and then SIGKILL after grace.
func (l *Lab) stopAll(grace time.Duration) error {
	l.mu.Lock()
	procs := append([]*Process(nil), l.procs...)
	l.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	var layers []int
	for _, p := range procs {
		layers = append(layers, p.Spec.Layer)
	}
	slices.Sort(layers)
	// Concurrently within a layer: what tests started (controller,
	// speakers) before what the lab runs for them, FRR last.
	for _, layer := range slices.Compact(layers) {
		for _, p := range procs {
			if p.Spec.Layer != layer {
				continue
			}
			wg.Add(1)
			go func(p *Process) {
				defer wg.Done()
				if err := p.Term(grace); err != nil {
					l.mu.Lock()
					errs = append(errs, err)
					l.mu.Unlock()
				}
			}(p)
		}
		wg.Wait()
	}
	return errors.Join(errs...)
}

func isClosed(c chan struct{}) bool {
	if c == nil {
		return true
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}
