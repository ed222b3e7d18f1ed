package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/test/images"
	"github.com/pylonlb/pylon/test/lab"
)

// pollEvery is how often the demo checks what it waits for.
const pollEvery = 50 * time.Millisecond

// Options change how Run goes. The zero value is `make demo`.
type Options struct {
	// Keep leaves the lab running after the summary, prints how to reach
	// it, and tears it down only when ctx ends (Ctrl-C).
	Keep bool
	// Examples is the directory whose *.yaml files are applied; empty:
	// docs/examples of the repository.
	Examples string
	// BinDir receives the binaries the images are built from; empty: a
	// temporary directory that Run removes.
	BinDir string
	// LockWait bounds the wait for another lab on this machine to end; 0
	// means 5 minutes.
	LockWait time.Duration
}

// Summary is what the demo saw. Every field is filled in by the step that
// measures it; a failed run returns what it had so far.
type Summary struct {
	// Lab is the lab's run prefix; LogDir its directory (kept when the
	// demo failed).
	Lab, LogDir string
	Steps       []StepResult
	// Sessions lists, per node, the BGP sessions the router has
	// Established with it ("n1 198.18.0.11 AS 64512").
	Sessions []string
	// L2 and BGP are the two Services.
	L2, BGP ServiceResult
	// Failover is the owner of L2's address failing.
	Failover Failover
	// Return is the failed node coming back.
	Return Return
	// Pylonctl is what pylonctl said of the running demo.
	Pylonctl PylonctlResult
	// Helm is the helm install call; Ready from its return to pylon's
	// pods Ready and every speaker seeing every node in memberlist.
	Helm, Ready time.Duration
	// Total is from the start to the summary, of which Build went to
	// building the binaries and LockWait to waiting for another lab on
	// the machine to end; Teardown is how long the lab took to go.
	Total, Build, LockWait, Teardown time.Duration
}

// StepResult is one step's outcome.
type StepResult struct {
	Name    string
	Timeout time.Duration
	Took    time.Duration
	// Err is nil when the step happened.
	Err error
}

// OK reports whether the step happened.
func (r StepResult) OK() bool { return r.Err == nil }

// ServiceResult is a Service and what reached it.
type ServiceResult struct {
	// Service is namespace/name; IP its address; Pool the IPPool it came
	// from; Advertisement the one that announces that pool.
	Service, Pool, Advertisement string
	IP                           netip.Addr
	// Client is the lab client that fetched it; Answered the backend pod
	// that answered, AnsweredOn its node.
	Client, Answered, AnsweredOn string
	// Owner is, for layer 2, the node whose MAC answered ARP.
	Owner string
	// NextHops are, for BGP, the nodes the router forwards to, sorted.
	NextHops []string
}

// Failover is the owner of the layer-2 address failing.
type Failover struct {
	// Owner is the node that failed; How says what was done to it; Next
	// is the node that answers afterwards.
	Owner, How, Next string
	// Gap is the longest time the local client, probing every 20 ms, went
	// without an answer; Probes and Lost count its probes.
	Gap           time.Duration
	Probes, Lost  int
	TakenOverIn   time.Duration // failure to the new owner answering ARP and HTTP
	BGPWithdrawn  time.Duration // failure to the router no longer forwarding to Owner
	BGPNextHops   []string      // the router's next hops for the BGP address after
	RemoteGap     time.Duration // the longest gap the remote client saw
	RemoteAnswers []string      // the pods that answered the remote client, in order of change
}

// Return is the failed node coming back.
type Return struct {
	// Restarted is from healing the link to the kubelet having the
	// speaker's container running again (it restarts it on its own, as
	// the pod's restartPolicy says); Rejoined to every speaker seeing all
	// members; Routed to the router forwarding to every node again.
	Restarted, Rejoined, Routed time.Duration
	// Owner is the layer-2 address's owner afterwards.
	Owner string
}

// step is one thing the demo shows.
type step struct {
	name    string
	timeout time.Duration
	// logs are the lab's logs (relative to its directory) that tell why
	// the step did not happen.
	logs []string
	// run does the step and returns lines of detail to print under its
	// progress line.
	run func(ctx context.Context) ([]string, error)
}

// demo is one run's state, shared by its steps.
type demo struct {
	opts Options
	w    io.Writer
	sum  Summary

	root       string // the repository
	nodeAssets string // the node stack's binaries
	ex         *examples
	binDir     string
	// pylonctlBin is the pylonctl the build step made.
	pylonctlBin string
	ownBins     bool
	images      []images.Image
	lab         *lab.Lab
	// backends maps the backend's pods to their nodes.
	backends map[string]string
	// speakerBefore is the failed node's speaker pod before the failure.
	speakerBefore *corev1.Pod
	// installed is when helm install returned.
	installed, began time.Time
}

// Run runs the demo, printing to w, and returns what it saw. It fails on
// the first step that does not happen within its timeout, and always
// tears the lab down before it returns (with Options.Keep, once ctx ends).
func Run(ctx context.Context, o Options, w io.Writer) (Summary, error) {
	if o.LockWait == 0 {
		o.LockWait = 5 * time.Minute
	}
	d := &demo{opts: o, w: w, began: time.Now()}
	steps := d.steps()
	fmt.Fprintf(w, "pylon demo: %d steps in a network lab on this machine\n\n", len(steps))
	var err error
	for i, s := range steps {
		if err = d.runStep(ctx, i, len(steps), s); err != nil {
			break
		}
	}
	if err == nil {
		d.sum.Total = time.Since(d.began)
		printSummary(w, d.sum)
		if o.Keep {
			printKeep(w, d)
			<-ctx.Done()
			fmt.Fprintln(w, "\ninterrupted: tearing the lab down")
		}
	}
	// Keep the logs of a step that failed, not of one the user interrupted.
	return d.sum, errors.Join(err, d.cleanup(err != nil && ctx.Err() == nil))
}

// runStep runs s under its timeout and prints its progress line and detail.
func (d *demo) runStep(ctx context.Context, i, n int, s step) error {
	fmt.Fprintf(d.w, "[%d/%d] %s ... ", i+1, n, s.name)
	sctx, cancel := context.WithTimeout(ctx, s.timeout)
	began := time.Now()
	detail, err := s.run(sctx)
	took, timedOut := time.Since(began), errors.Is(sctx.Err(), context.DeadlineExceeded)
	cancel()
	switch {
	case err != nil && ctx.Err() != nil:
		err = fmt.Errorf("interrupted: %w", ctx.Err())
	case err != nil && timedOut:
		err = fmt.Errorf("did not happen within %v: %w", s.timeout, err)
	}
	d.sum.Steps = append(d.sum.Steps, StepResult{Name: s.name, Timeout: s.timeout, Took: took, Err: err})
	if err != nil {
		fmt.Fprintf(d.w, "FAILED after %v\n", round(took))
		for _, l := range detail {
			fmt.Fprintf(d.w, "      %s\n", l)
		}
		fmt.Fprintf(d.w, "\n  %s\n", err)
		if logs := d.logPaths(s.logs); len(logs) > 0 {
			fmt.Fprintf(d.w, "  look at: %s\n", strings.Join(logs, "\n           "))
		}
		return fmt.Errorf("step %d/%d (%s): %w", i+1, n, s.name, err)
	}
	fmt.Fprintf(d.w, "ok %v\n", round(took))
	for _, l := range detail {
		fmt.Fprintf(d.w, "      %s\n", l)
	}
	return nil
}

// logPaths turns a step's log names into paths in the lab's directory
// ("speaker-*" into one per node), keeping those that exist.
func (d *demo) logPaths(names []string) []string {
	if d.lab == nil {
		return nil
	}
	var out []string
	for _, n := range names {
		matches, _ := filepath.Glob(filepath.Join(d.lab.Dir, n))
		for _, m := range matches {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// cleanup tears the lab down (keeping its directory when keepLogs) and
// removes the binaries Run built in a directory of its own.
func (d *demo) cleanup(keepLogs bool) error {
	var errs []error
	if d.lab != nil {
		if keepLogs {
			d.lab.KeepDir()
		}
		fmt.Fprintf(d.w, "\nteardown: pods, node stack, processes, namespaces, the API server ... ")
		began := time.Now()
		err := d.lab.Close()
		d.sum.Teardown = time.Since(began)
		switch {
		case err != nil:
			fmt.Fprintf(d.w, "FAILED: %v\n", err)
			errs = append(errs, fmt.Errorf("tear the lab down: %w", err))
		case keepLogs:
			fmt.Fprintf(d.w, "ok %v; logs kept in %s\n", round(d.sum.Teardown), d.lab.Dir)
		default:
			fmt.Fprintf(d.w, "ok %v\n", round(d.sum.Teardown))
		}
	}
	if d.ownBins {
		errs = append(errs, os.RemoveAll(d.binDir))
	}
	return errors.Join(errs...)
}

// round shortens a duration for people: ms below 10 s, tenths above.
func round(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
