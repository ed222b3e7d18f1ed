package procfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is sysconf(_SC_CLK_TCK), the unit of the times in
// /proc/<pid>/stat: 100 on every Linux architecture Go supports.
const clockTicks = 100

// Stat is what /proc/<pid>/stat says of a process, the fields tests use.
type Stat struct {
	// PID is the process's ID (field 1).
	PID int
	// Comm is the command name (field 2, without its parentheses), at most
	// 15 bytes long.
	Comm string
	// State is field 3: R running, S sleeping, Z zombie, ...
	State string
	// PPID is the parent's PID (field 4).
	PPID int
	// CPU is the user and system CPU time used (fields 14 and 15).
	CPU time.Duration
	// StartTime is when the process started, in clock ticks after boot
	// (field 22): with the PID, it tells a process from a later one that
	// reused its PID.
	StartTime uint64
}

// ReadStat reads /proc/<pid>/stat.
func ReadStat(pid int) (Stat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, err
	}
	s, err := ParseStat(data)
	if err != nil {
		return Stat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return s, nil
}

// ParseStat parses the text of a /proc/<pid>/stat file.
func ParseStat(data []byte) (Stat, error) {
	// The command name is in parentheses and may hold spaces and
	// parentheses itself: it ends at the last ')'.
	open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return Stat{}, errors.New("no command name in parentheses")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data[:open])))
	if err != nil {
		return Stat{}, fmt.Errorf("PID: %w", err)
	}
	// f[0] is field 3, the state.
	f := strings.Fields(string(data[end+1:]))
	if len(f) < 20 {
		return Stat{}, fmt.Errorf("%d fields after the command name, want at least 20", len(f))
	}
	s := Stat{PID: pid, Comm: string(data[open+1 : end]), State: f[0]}
	if s.PPID, err = strconv.Atoi(f[1]); err != nil {
		return Stat{}, fmt.Errorf("ppid: %w", err)
	}
	var ticks uint64
	for _, v := range f[11:13] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return Stat{}, fmt.Errorf("utime or stime: %w", err)
		}
		ticks += n
	}
	s.CPU = time.Duration(ticks) * time.Second / clockTicks
	if s.StartTime, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return Stat{}, fmt.Errorf("starttime: %w", err)
	}
	return s, nil
}

// PeakRSS reads a process's peak resident set size in bytes (VmHWM in
// /proc/<pid>/status).
func PeakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status VmHWM: %w", pid, err)
			}
			return kb * 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
}

// Processes lists the processes in /proc for which keep returns true
// (every process when keep is nil), in /proc's order. A process that exits
// while it is read is left out.
func Processes(keep func(Stat) bool) ([]Stat, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []Stat
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s, err := ReadStat(pid)
		if err != nil {
			continue
		}
		if keep == nil || keep(s) {
			out = append(out, s)
		}
	}
	return out, nil
}
