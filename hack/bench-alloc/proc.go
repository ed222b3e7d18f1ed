package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is sysconf(_SC_CLK_TCK), the unit of utime and stime in
// /proc/<pid>/stat: 100 on every Linux architecture Go supports.
const clockTicks = 100

// buildController builds cmd/controller into dir and returns the binary.
func buildController(root, dir string) (string, error) {
	bin := filepath.Join(dir, "controller")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/controller")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/controller: %w\n%s", err, out)
	}
	return bin, nil
}

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

// procUsage reads a process's CPU time from /proc/<pid>/stat and its peak
// RSS from /proc/<pid>/status.
func procUsage(pid int) (usage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return usage{}, err
	}
	f, err := statFields(stat)
	if err != nil {
		return usage{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	// utime and stime are fields 14 and 15 of stat.
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return usage{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	u := usage{cpu: time.Duration(ticks) * time.Second / clockTicks}

	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return u, fmt.Errorf("/proc/%d/status VmHWM: %w", pid, err)
			}
			u.peakRSS = kb * 1024
			return u, nil
		}
	}
	return u, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
}

// statFields returns the fields of /proc/<pid>/stat after the command name
// (field 2, which may hold spaces): f[0] is field 3, the state.
func statFields(stat []byte) ([]string, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return nil, errors.New("no ')'")
	}
	f := strings.Fields(string(stat[end+1:]))
	if len(f) < 13 {
		return nil, fmt.Errorf("%d fields", len(f))
	}
	return f, nil
}

// childPID returns the PID of this process's child running the command
// name (as /proc/<pid>/comm shows it), or 0.
func childPID(name string) int {
	self := strconv.Itoa(os.Getpid())
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		if f, err := statFields(stat); err == nil && f[1] == self {
			return pid
		}
	}
	return 0
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
