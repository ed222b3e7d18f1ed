package lab

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Sampling defaults: a probe every 20 ms, each given 500 ms.
const (
	SampleEvery   = 20 * time.Millisecond
	SampleTimeout = 500 * time.Millisecond
)

// Sample is one probe: when it started, who answered, or why not.
type Sample struct {
	At   time.Time
	Node string
	Err  error
}

// OK reports whether the probe got an answer.
func (s Sample) OK() bool { return s.Err == nil }

// Change is the first answer from a node other than the one before.
type Change struct {
	At       time.Time
	From, To string
}

// SampleReport sums up a run of samples.
type SampleReport struct {
	// Samples and Failures count probes, all and unanswered.
	Samples, Failures int
	// Answers counts answers per node.
	Answers map[string]int
	// LongestGap is the longest time between the starts of two
	// consecutive answered probes: about the probe interval when nothing
	// was lost, the outage plus up to one interval when something was, and
	// the whole run when nothing answered.
	LongestGap time.Duration
	// GapFrom and GapTo are the answered probes around LongestGap.
	GapFrom, GapTo time.Time
	// Changes lists the moments the answering node changed.
	Changes []Change
	// First and Last are the first and last probes' start times.
	First, Last time.Time
}

func (r SampleReport) String() string {
	return fmt.Sprintf("%d samples, %d unanswered, answers %v, longest gap %v, changes %v",
		r.Samples, r.Failures, r.Answers, r.LongestGap.Round(time.Millisecond), r.Changes)
}

// Summarize reads samples (in any order) into a report.
func Summarize(samples []Sample) SampleReport {
	s := append([]Sample(nil), samples...)
	slices.SortStableFunc(s, func(a, b Sample) int { return a.At.Compare(b.At) })
	r := SampleReport{Samples: len(s), Answers: map[string]int{}}
	if len(s) == 0 {
		return r
	}
	r.First, r.Last = s[0].At, s[len(s)-1].At
	var prev *Sample // last answered
	for i := range s {
		cur := &s[i]
		if !cur.OK() {
			r.Failures++
			continue
		}
		r.Answers[cur.Node]++
		if prev != nil {
			if gap := cur.At.Sub(prev.At); gap > r.LongestGap {
				r.LongestGap, r.GapFrom, r.GapTo = gap, prev.At, cur.At
			}
			if cur.Node != prev.Node {
				r.Changes = append(r.Changes, Change{At: cur.At, From: prev.Node, To: cur.Node})
			}
		}
		prev = cur
	}
	if prev == nil {
		r.LongestGap, r.GapFrom, r.GapTo = r.Last.Sub(r.First), r.First, r.Last
	}
	return r
}

// Sampler probes an address at a fixed rate until stopped.
type Sampler struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	samples []Sample
}

// StartSampler probes ip:port over HTTP from h every SampleEvery, each
// probe on its own (so a probe that hangs does not delay the next), each
// bounded by SampleTimeout, until Stop.
func (h *Host) StartSampler(ctx context.Context, ip netip.Addr, port int) *Sampler {
	return StartSampling(ctx, SampleEvery, func(ctx context.Context) (string, error) {
		return h.Get(ctx, ip, port, SampleTimeout)
	})
}

// StartSampling runs probe every interval, concurrently, until Stop. A
// probe's answer is the name of who answered.
func StartSampling(ctx context.Context, every time.Duration, probe func(context.Context) (string, error)) *Sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &Sampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		var wg sync.WaitGroup
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			wg.Add(1)
			go func(at time.Time) {
				defer wg.Done()
				// Each probe runs to its own timeout, even across Stop:
				// the answer of the last one counts.
				node, err := probe(context.WithoutCancel(ctx))
				s.mu.Lock()
				s.samples = append(s.samples, Sample{At: at, Node: node, Err: err})
				s.mu.Unlock()
			}(time.Now())
			select {
			case <-ctx.Done():
				wg.Wait()
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Snapshot summarises the samples collected so far, without stopping.
func (s *Sampler) Snapshot() SampleReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Summarize(s.samples)
}

// Samples returns the samples collected so far, in the order probes
// finished.
func (s *Sampler) Samples() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.samples...)
}

// FirstAnswer returns the start of the first probe started after since
// that node answered, and whether there is one yet.
func (s *Sampler) FirstAnswer(since time.Time, node string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first time.Time
	for _, x := range s.samples {
		if x.OK() && x.Node == node && x.At.After(since) && (first.IsZero() || x.At.Before(first)) {
			first = x.At
		}
	}
	return first, !first.IsZero()
}

// Stop ends sampling, waits for the probes in flight and reports.
func (s *Sampler) Stop() (SampleReport, []Sample) {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return Summarize(s.samples), append([]Sample(nil), s.samples...)
}
