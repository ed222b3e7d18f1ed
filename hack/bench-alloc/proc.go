package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/pylonlb/pylon/test/procfs"
)

// controllerProc is one run of the controller binary.
type controllerProc struct {
	cmd     *exec.Cmd
	started time.Time
	logPath string
	// exited is closed when the process has exited; err is then Wait's.
	exited chan struct{}
	err    error
}

// startController runs bin with args (and extra environment variables),
// its stdout and stderr going to logPath.
func startController(bin string, args, env []string, logPath string) (*controllerProc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	// Should the benchmark die without cleaning up, so does the controller.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &controllerProc{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// running reports whether the process has not exited.
func (p *controllerProc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM to the process (by its PID) and waits for it to exit;
// after grace it sends SIGKILL. It returns how long the exit took, and an
// error when the process had to be killed or exited with an error.
func (p *controllerProc) stop(grace time.Duration) (time.Duration, error) {
	if p == nil {
		return 0, nil
	}
	began := time.Now()
	if !p.running() {
		return 0, p.err
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return 0, fmt.Errorf("SIGTERM controller (pid %d): %w", p.cmd.Process.Pid, err)
	}
	select {
	case <-p.exited:
		return time.Since(began), p.err
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	return time.Since(began), fmt.Errorf("controller (pid %d) did not exit within %v of SIGTERM; killed", p.cmd.Process.Pid, grace)
}

// usage is what a process has consumed so far.
type usage struct {
	// cpu is user plus system CPU time.
	cpu time.Duration
	// peakRSS is the resident set's high-water mark (VmHWM), in bytes.
	peakRSS int64
}

// usage reads the process's CPU time and peak RSS.
func (p *controllerProc) usage() (usage, error) { return procUsage(p.cmd.Process.Pid) }

// procUsage reads a process's CPU time and peak RSS from /proc.
func procUsage(pid int) (usage, error) {
	st, err := procfs.ReadStat(pid)
	if err != nil {
		return usage{}, err
	}
	rss, err := procfs.PeakRSS(pid)
	return usage{cpu: st.CPU, peakRSS: rss}, err
}

// childPID returns the PID of this process's child running the command
// name (as /proc/<pid>/stat names it), or 0.
func childPID(name string) int {
	kids, _ := procfs.Processes(func(s procfs.Stat) bool { return s.Comm == name && s.PPID == os.Getpid() })
	if len(kids) == 0 {
		return 0
	}
	return kids[0].PID
}

// logTail returns the last n lines of the process's log.
func (p *controllerProc) logTail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
