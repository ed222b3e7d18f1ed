package demo

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/poll"
)

// TestRunStep: a progress line per step with its timing; a step that does
// not happen in time says so, with what it last saw.
func TestRunStep(t *testing.T) {
	var out bytes.Buffer
	d := &demo{w: &out}
	ok := step{name: "a thing happens", timeout: time.Second, run: func(context.Context) ([]string, error) {
		return []string{"detail"}, nil
	}}
	if err := d.runStep(t.Context(), 2, 9, ok); err != nil {
		t.Fatal(err)
	}
	late := step{name: "another never does", timeout: 100 * time.Millisecond, run: func(ctx context.Context) ([]string, error) {
		_, err := poll.Until(ctx, pollEvery, 0, "the other thing", func(context.Context) (bool, string, error) { return false, "still nothing", nil })
		return nil, err
	}}
	err := d.runStep(t.Context(), 3, 9, late)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("late step: %v, want a deadline error", err)
	}
	got := out.String()
	for _, want := range []string{
		"[3/9] a thing happens ... ok ",
		"      detail\n",
		"[4/9] another never does ... FAILED after 1",
		"did not happen within 100ms: waiting for the other thing; last seen: still nothing",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if len(d.sum.Steps) != 2 || !d.sum.Steps[0].OK() || d.sum.Steps[1].OK() {
		t.Errorf("step results %+v", d.sum.Steps)
	}
}

// TestPrintSummary: the table names every step with its result and the
// figures, and splits the total.
func TestPrintSummary(t *testing.T) {
	var out bytes.Buffer
	printSummary(&out, Summary{
		Lab:   "pyl000000",
		Steps: []StepResult{{Name: "a", Timeout: time.Second, Took: 5 * time.Millisecond}, {Name: "b", Timeout: time.Second, Took: time.Second, Err: errors.New("x")}},
		Failover: Failover{Owner: "n2", Next: "n3", Gap: 742 * time.Millisecond, Lost: 36, Probes: 423,
			BGPWithdrawn: 7468 * time.Millisecond, BGPNextHops: []string{"n1", "n3"}},
		Total: 157 * time.Second, Build: 52 * time.Second, LockWait: 83 * time.Second,
	})
	got := out.String()
	for _, want := range []string{
		"summary (lab pyl000000)",
		"  1  a     ok      5ms   1s",
		"  2  b     FAILED  1s    1s",
		"n2 -> n3: longest gap 742ms for the local client (36 of 423 probes unanswered)",
		"router dropped n2 after 7.468s; next hops n1, n3",
		"2m37s (building 52s; waiting for another lab 1m23s)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

// TestSetFlags: chart values as the --set flag of the command line the
// demo prints.
func TestSetFlags(t *testing.T) {
	got := setFlags("", map[string]any{"image": map[string]any{"tag": "demo", "controller": "r/c"}, "logLevel": "info"})
	if want := "image.controller=r/c,image.tag=demo,logLevel=info"; got != want {
		t.Errorf("setFlags: %q, want %q", got, want)
	}
}
