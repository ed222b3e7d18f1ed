package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// row is one line of the results table.
type row struct {
	phase, measure, value, target, verdict string
}

// report collects the results table.
type report struct {
	rows []row
	// broken is set by a failed correctness check.
	broken bool
}

// info adds a figure without a target.
func (r *report) info(phase, measure, value string) {
	r.rows = append(r.rows, row{phase, measure, value, "", ""})
}

// target adds a figure with its target and whether it was met.
func (r *report) target(phase, measure, value, target string, met bool) {
	v := "PASS"
	if !met {
		v = "FAIL"
	}
	r.rows = append(r.rows, row{phase, measure, value, target, v})
}

// check adds a correctness check: it passes when problems is empty. A
// failure marks the run broken and lists the first few problems.
func (r *report) check(phase, measure string, problems []string) {
	if len(problems) == 0 {
		r.rows = append(r.rows, row{phase, measure, "none", "none", "PASS"})
		return
	}
	r.broken = true
	shown := problems[:min(3, len(problems))]
	value := fmt.Sprintf("%d: %s", len(problems), strings.Join(shown, "; "))
	if len(problems) > len(shown) {
		value += "; …"
	}
	r.rows = append(r.rows, row{phase, measure, value, "none", "FAIL"})
}

// fail adds a correctness failure.
func (r *report) fail(phase, measure, value string) {
	r.broken = true
	r.rows = append(r.rows, row{phase, measure, value, "", "FAIL"})
}

// write prints the table in markdown.
func (r *report) write(w io.Writer) {
	fmt.Fprintln(w, "| phase | measure | value | target | |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, x := range r.rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", x.phase, x.measure, escape(x.value), x.target, x.verdict)
	}
}

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// secs writes a duration in seconds, to the millisecond.
func secs(d time.Duration) string {
	if d < 0 && d > -time.Millisecond/2 {
		d = 0 // not "-0.000 s"
	}
	return fmt.Sprintf("%.3f s", d.Seconds())
}

// since writes the time from a phase's last answer to its convergence; the
// watch may show the last change before the last answer arrives.
func since(d time.Duration) string {
	if d < 0 {
		return fmt.Sprintf("%s (seen %s before the last answer arrived)", secs(0), secs(-d))
	}
	return secs(d)
}

// mib writes bytes in MiB.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// latencies are the times from each create's answer to the watch showing
// the Service's address; Services without one are left out. An address
// seen before the create's answer arrived counts as 0.
func latencies(ns []string, times map[string]timing, firstIP []time.Time) []time.Duration {
	var out []time.Duration
	for i, n := range ns {
		if firstIP[i].IsZero() {
			continue
		}
		out = append(out, max(0, firstIP[i].Sub(times[n].end)))
	}
	slices.Sort(out)
	return out
}

// quantiles writes p50, p99 and max (nearest rank) of sorted durations.
func quantiles(d []time.Duration) string {
	if len(d) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%s / %s / %s", secs(rank(d, 0.50)), secs(rank(d, 0.99)), secs(d[len(d)-1]))
}

// rank is the q quantile (nearest rank) of sorted, non-empty durations.
func rank(d []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(d))+0.999999) - 1
	return d[min(max(i, 0), len(d)-1)]
}
