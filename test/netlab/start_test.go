package netlab

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
)

// failedTB is a test that has failed: Start's cleanup sees Failed() and
// runs when the test calls cleanups.
type failedTB struct {
	*testing.T
	cleanups []func()
	logs     []string
}

func (f *failedTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *failedTB) Failed() bool      { return true }
func (f *failedTB) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

// TestStartTearsDownAfterFailure: when the test has failed, Start's
// cleanup still stops the lab's processes and deletes its namespaces and
// record, and keeps its directory (the logs) and says where.
func TestStartTearsDownAfterFailure(t *testing.T) {
	if err := Preflight(); err != nil {
		t.Skipf("SKIPPED: %v", err)
	}
	tb := &failedTB{T: t}
	l := Start(tb, Options{})
	ns, err := l.AddNetns(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.StartProcess(ProcessSpec{Name: "sleeper", Netns: ns, Path: "sleep", Args: []string{"300"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(l.Dir) })
	for _, fn := range slices.Backward(tb.cleanups) {
		fn()
	}
	if p.Running() || NetnsExists(ns) {
		t.Errorf("after the failed test: sleeper running %v, namespace %s exists %v; want both gone", p.Running(), ns, NetnsExists(ns))
	}
	if _, err := os.Stat(recordPath(l.Prefix)); !os.IsNotExist(err) {
		t.Errorf("record still there: %v", err)
	}
	if _, err := os.Stat(l.Dir); err != nil {
		t.Errorf("the failed lab's directory is gone: %v", err)
	}
	if !slices.ContainsFunc(tb.logs, func(s string) bool { return s == fmt.Sprintf("lab %s failed: logs kept in %s", l.Prefix, l.Dir) }) {
		t.Errorf("no word of the kept logs in %q", tb.logs)
	}
}
