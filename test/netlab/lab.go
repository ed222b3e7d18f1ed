package netlab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Options shape a lab.
type Options struct {
	// Lock makes the lab wait for the machine's lab lock and hold it until
	// Close: for a lab that uses the host's namespace (a link into its
	// segment, addresses, routes, an API server on a fixed address), which
	// exists once. Its names start with "pyl". Without it the lab is
	// network-only: everything it makes is inside its own namespaces, its
	// names start with "pyn", and it runs beside any other lab.
	Lock bool
	// LockWait bounds the wait for the lock; 0 means 15 minutes (in `make
	// test` the lab and e2e packages run at the same time, and an e2e
	// package holds labs one after another).
	LockWait time.Duration
	// CleanDir, with Lock, removes what a dead run left on the host besides
	// processes, namespaces and links (test/lab: its node stack's).
	CleanDir CleanDir
	// ExtraProcs lists processes the lab runs that it did not start with
	// StartProcess (test/lab: the API server and etcd), for its record.
	ExtraProcs func() []ProcRecord
	// Logf receives the lab's progress and problems; nil: only the lab's
	// log file (Dir/lab.log).
	Logf func(format string, args ...any)
}

// Lab is a running network lab: namespaces, the processes in them, a
// directory for their files, and the record that lets a later lab clean up
// after a crash. Close tears it down.
type Lab struct {
	// Prefix starts every name this run creates: "pyl" (Options.Lock) or
	// "pyn" and six hex digits.
	Prefix string
	// Dir holds logs (logs/<process>.log, lab.log) and whatever the lab's
	// users put there (FRR's state). Close removes it unless KeepDir was
	// called.
	Dir string
	// Began is when the lab had what it waited for (the lock, with
	// Options.Lock) and started building.
	Began time.Time

	opts    Options
	lock    *machineLock
	logFile *os.File

	mu         sync.Mutex
	procs      []*Process
	namespaces []string
	links      []string
	afterStop  []func() error
	keep       bool
	closed     bool

	recordMu sync.Mutex
}

// New starts a lab: it waits for the machine's lab lock (Options.Lock),
// makes Dir, removes what dead runs left (see sweep) and writes the lab's
// record. Everything else is the caller's: AddNetns, AddSwitch, IP,
// StartProcess, NewFRR.
func New(ctx context.Context, o Options) (*Lab, error) {
	if o.LockWait == 0 {
		o.LockWait = 15 * time.Minute
	}
	if err := Preflight(); err != nil {
		return nil, err
	}
	waited := time.Now()
	var lock *machineLock
	if o.Lock {
		lockCtx, cancel := context.WithTimeout(ctx, o.LockWait)
		var err error
		lock, err = acquireLock(lockCtx)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	l := &Lab{Began: time.Now(), opts: o, lock: lock}
	if err := l.start(ctx, l.Began.Sub(waited)); err != nil {
		return nil, errors.Join(err, l.Close())
	}
	return l, nil
}

func (l *Lab) start(ctx context.Context, lockWait time.Duration) error {
	var err error
	if l.Prefix, err = newPrefix(l.opts.Lock); err != nil {
		return err
	}
	l.Dir = filepath.Join(os.TempDir(), "pylonlab-"+l.Prefix)
	for _, d := range []string{l.Dir, filepath.Join(l.Dir, "logs")} {
		// Traversable by the frr user, which FRR's daemons drop to.
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(l.Dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(l.Dir, "lab.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	l.logFile = f
	if lockWait > time.Second {
		l.Logf("waited %v for another lab on this machine to end", lockWait.Round(time.Millisecond))
	}
	left, err := sweep(ctx, l.opts.Lock, l.opts.CleanDir)
	if !left.Empty() {
		l.Logf("removed leftovers of earlier runs: %s", left)
	}
	if err != nil {
		return fmt.Errorf("remove leftovers of earlier runs: %w", err)
	}
	// Before any namespace: a sweep treats a namespace without a record
	// as a dead run's.
	return l.writeRecord()
}

// newPrefix returns a fresh run prefix: "pyl" (a lab holding the lock) or
// "pyn", and six hex digits.
func newPrefix(locked bool) (string, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	if locked {
		return "pyl" + hex.EncodeToString(b), nil
	}
	return "pyn" + hex.EncodeToString(b), nil
}

// AddNetns makes network namespace <Prefix>-<name>, which Close deletes,
// and returns its name. Before any link exists in it, so that every new
// interface inherits them, it sets accept_dad=0 (no duplicate address
// detection: IPv6 addresses are usable at once, and NDP sockets can bind
// to fe80:: without waiting ~2 s) and sysctls; then it brings lo up.
func (l *Lab) AddNetns(ctx context.Context, name string, sysctls ...string) (string, error) {
	ns := l.Prefix + "-" + name
	if _, err := Run(ctx, "", "ip", "netns", "add", ns); err != nil {
		return "", err
	}
	l.mu.Lock()
	l.namespaces = append(l.namespaces, ns)
	l.mu.Unlock()
	kv := append([]string{"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"}, sysctls...)
	if err := Sysctl(ctx, ns, kv...); err != nil {
		return "", err
	}
	return ns, IP(ctx, ns, "link set lo up")
}

// AddHostLink registers a link of the host's namespace, named
// <Prefix>-<name>, for Close to delete, and returns its name; making it is
// the caller's. Only a lab with Options.Lock may have one.
func (l *Lab) AddHostLink(name string) (string, error) {
	if !l.opts.Lock {
		return "", errors.New("a host link needs the machine's lab lock (Options.Lock)")
	}
	link := l.Prefix + "-" + name
	l.mu.Lock()
	l.links = append(l.links, link)
	l.mu.Unlock()
	return link, nil
}

// Namespaces lists the lab's network namespaces, in the order made.
func (l *Lab) Namespaces() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.namespaces...)
}

// AfterStop registers fn for Close to run once every process has stopped
// and before the namespaces go, in the order registered.
func (l *Lab) AfterStop(fn func() error) {
	l.mu.Lock()
	l.afterStop = append(l.afterStop, fn)
	l.mu.Unlock()
}

// Process returns the lab's process named name, or nil.
func (l *Lab) Process(name string) *Process {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.procs {
		if p.Spec.Name == name {
			return p
		}
	}
	return nil
}

// KeepDir keeps Dir (the logs) when the lab is closed.
func (l *Lab) KeepDir() {
	l.mu.Lock()
	l.keep = true
	l.mu.Unlock()
}

// Close tears the lab down: every process (SIGTERM, then SIGKILL after
// DefaultGrace, layer by layer), what AfterStop registered, the namespaces
// and host links, the record in StateDir and Dir (unless kept); then it
// releases the machine's lab lock. When something fails, the record and
// Dir stay for a later lab to clean up. It is safe to call twice.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	keep, after := l.keep, l.afterStop
	namespaces, links := l.namespaces, l.links
	l.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	errs = append(errs, l.stopAll(DefaultGrace))
	for _, fn := range after {
		errs = append(errs, fn())
	}
	for _, ns := range namespaces {
		if _, err := Run(ctx, "", "ip", "netns", "del", ns); err != nil && NetnsExists(ns) {
			errs = append(errs, err)
		}
	}
	for _, link := range links {
		if _, err := Run(ctx, "", "ip", "link", "del", link); err != nil && LinkExists(link) {
			errs = append(errs, err)
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		keep = true
		l.Logf("teardown: %v", err)
	}
	if l.logFile != nil {
		l.logFile.Close()
	}
	if !keep && l.Dir != "" {
		errs = append(errs, os.RemoveAll(l.Dir))
	}
	// After a failed teardown the record stays, so that a later lab
	// removes what is left.
	if errors.Join(errs...) == nil && l.Prefix != "" {
		if err := os.Remove(recordPath(l.Prefix)); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	if l.lock != nil {
		errs = append(errs, l.lock.release())
	}
	return errors.Join(errs...)
}

// PIDs lists every process the lab runs now: its own and ExtraProcs'.
func (l *Lab) PIDs() []int {
	var pids []int
	for _, r := range l.procRecords() {
		pids = append(pids, r.PID)
	}
	return pids
}

func (l *Lab) procRecords() []ProcRecord {
	l.mu.Lock()
	procs := append([]*Process(nil), l.procs...)
	l.mu.Unlock()
	var recs []ProcRecord
	for _, p := range procs {
		if !p.Running() {
			continue
		}
		pid := p.PID()
		if st, ok := procStartTime(pid); ok {
			recs = append(recs, ProcRecord{Name: p.Spec.Name, PID: pid, StartTime: st})
		}
	}
	if l.opts.ExtraProcs != nil {
		for _, r := range l.opts.ExtraProcs() {
			if !slices.ContainsFunc(recs, func(o ProcRecord) bool { return o.PID == r.PID }) {
				recs = append(recs, r)
			}
		}
	}
	return recs
}

// RecordProcs writes the lab's record again with the processes it runs now,
// for a later run to clean up after a crash of this one. StartProcess and
// Process.Start call it; call it after starting or stopping what
// ExtraProcs lists.
func (l *Lab) RecordProcs() {
	if err := l.writeRecord(); err != nil {
		l.Logf("write the lab's record: %v", err)
	}
}

func (l *Lab) writeRecord() error {
	// Processes start concurrently: one writer at a time, or two would
	// rename the same temporary file.
	l.recordMu.Lock()
	defer l.recordMu.Unlock()
	owner := os.Getpid()
	st, _ := procStartTime(owner)
	return writeRecord(record{Prefix: l.Prefix, Owner: owner, OwnerStart: st, Dir: l.Dir, Procs: l.procRecords()})
}

// Logf writes to the lab's log file and Options.Logf.
func (l *Lab) Logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if l.logFile != nil {
		fmt.Fprintf(l.logFile, "%s %s\n", time.Now().Format(time.RFC3339Nano), msg)
	}
	if l.opts.Logf != nil {
		l.opts.Logf("lab: %s", msg)
	}
}
