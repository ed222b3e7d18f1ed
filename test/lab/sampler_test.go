package lab

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	lost := errors.New("timeout")
	samples := []Sample{
		{At: at(0), Node: "n1"},
		{At: at(20), Node: "n1"},
		{At: at(40), Err: lost},
		{At: at(60), Err: lost},
		{At: at(80), Err: lost},
		{At: at(100), Node: "n2"},
		{At: at(120), Node: "n2"},
		{At: at(140), Err: lost},
		{At: at(160), Node: "n2"},
	}
	// Shuffled: probes finish out of order.
	shuffled := append([]Sample(nil), samples[5:]...)
	shuffled = append(shuffled, samples[:5]...)
	r := Summarize(shuffled)
	if r.Samples != 9 || r.Failures != 4 {
		t.Errorf("samples %d failures %d, want 9 and 4", r.Samples, r.Failures)
	}
	if r.LongestGap != 80*time.Millisecond || !r.GapFrom.Equal(at(20)) || !r.GapTo.Equal(at(100)) {
		t.Errorf("longest gap %v from %v to %v, want 80ms from +20ms to +100ms", r.LongestGap, r.GapFrom.Sub(t0), r.GapTo.Sub(t0))
	}
	if r.Answers["n1"] != 2 || r.Answers["n2"] != 3 {
		t.Errorf("answers %v, want n1:2 n2:3", r.Answers)
	}
	if want := []Change{{At: at(100), From: "n1", To: "n2"}}; !slices.Equal(r.Changes, want) {
		t.Errorf("changes %v, want %v", r.Changes, want)
	}
	if !r.First.Equal(at(0)) || !r.Last.Equal(at(160)) {
		t.Errorf("first %v last %v", r.First, r.Last)
	}
}

func TestSummarizeEdges(t *testing.T) {
	t0 := time.Unix(1000, 0)
	if r := Summarize(nil); r.Samples != 0 || r.LongestGap != 0 {
		t.Errorf("no samples: %v", r)
	}
	none := []Sample{{At: t0, Err: errors.New("x")}, {At: t0.Add(time.Second), Err: errors.New("x")}}
	if r := Summarize(none); r.LongestGap != time.Second || len(r.Answers) != 0 {
		t.Errorf("nothing answered: gap %v answers %v, want the whole second and none", r.LongestGap, r.Answers)
	}
	steady := []Sample{{At: t0, Node: "n1"}, {At: t0.Add(20 * time.Millisecond), Node: "n1"}, {At: t0.Add(45 * time.Millisecond), Node: "n1"}}
	if r := Summarize(steady); r.LongestGap != 25*time.Millisecond || r.Failures != 0 || len(r.Changes) != 0 {
		t.Errorf("no loss: gap %v failures %d changes %v, want 25ms, 0, none", r.LongestGap, r.Failures, r.Changes)
	}
}

func TestStartSampling(t *testing.T) {
	// A probe that answers "a" for the first 100 ms, then fails for 200
	// ms, then answers "b"; the sampler must see a gap of about 200 ms.
	start := time.Now()
	var calls atomic.Int32
	probe := func(ctx context.Context) (string, error) {
		calls.Add(1)
		switch since := time.Since(start); {
		case since < 100*time.Millisecond:
			return "a", nil
		case since < 300*time.Millisecond:
			return "", errors.New("down")
		default:
			return "b", nil
		}
	}
	s := StartSampling(context.Background(), 10*time.Millisecond, probe)
	time.Sleep(450 * time.Millisecond)
	r, samples := s.Stop()
	if int(calls.Load()) != len(samples) || r.Samples != len(samples) {
		t.Errorf("%d probes ran, %d samples kept, report says %d", calls.Load(), len(samples), r.Samples)
	}
	if r.Samples < 20 {
		t.Errorf("only %d samples in 450ms at 10ms", r.Samples)
	}
	if r.LongestGap < 190*time.Millisecond || r.LongestGap > 300*time.Millisecond {
		t.Errorf("longest gap %v, want about 200ms", r.LongestGap)
	}
	if len(r.Changes) != 1 || r.Changes[0].From != "a" || r.Changes[0].To != "b" {
		t.Errorf("changes %v, want one from a to b", r.Changes)
	}
}

func TestSamplerDoesNotWaitForSlowProbes(t *testing.T) {
	// Probes that each take 100 ms must not slow sampling to 100 ms.
	probe := func(ctx context.Context) (string, error) {
		time.Sleep(100 * time.Millisecond)
		return "a", nil
	}
	s := StartSampling(context.Background(), 10*time.Millisecond, probe)
	time.Sleep(300 * time.Millisecond)
	r, _ := s.Stop()
	if r.Samples < 15 {
		t.Errorf("%d samples in 300ms at 10ms with 100ms probes: sampling waited for probes", r.Samples)
	}
}
