package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/knob"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// speakerPprofAddr is where they serve Go's profiles, also on loopback.
const speakerPprofAddr = "127.0.0.1:6060"

// speakerMetricsAddr is where BenchmarkSpeakersScale's speakers serve
// their metrics, over plain HTTP: loopback of each node's own namespace.
const speakerMetricsAddr = "127.0.0.1:7472"

// BenchmarkSpeakersScale is the speakers at the scale issue's size: 5,000
// single-stack IPv6 Services (PYLON_BENCH_SERVICES to change: the issue's
// figure is 50,000) from one pool announced both over layer 2 and over BGP
// to the lab's FRR, on three nodes, each Service with a ready endpoint on
// every node. It reports:
//
//   - announced-after-last-ip-s: from the last address assignment until
//     every address has its layer-2 owner (the speakers'
//     pylon_speaker_layer2_owned_ips add up to the count) and the router's
//     kernel routes every one over all three nodes;
//   - speaker-peak-MiB and speaker-cpu-s: the largest speaker's;
//   - noop-pass-mean-ms and noop-pass-max-ms: the speakers' passes (their
//     pylon_speaker_pass_duration_seconds) while 20 annotation edits of one
//     Service, one a second, wake every speaker with nothing to change. The
//     max is the upper bound of the histogram bucket that holds the
//     slowest pass.
//
// With PYLON_BENCH_PROFILE set to a file name, n1's speaker's CPU profile
// over the edits is written there (go tool pprof reads it); with
// PYLON_BENCH_HEAPPROFILE, its heap profile once every address is
// announced.
//
// Creating the Services is the long part: the API server's cluster IP
// allocator costs more per Service the more there are (docs/benchmarks.md).
//
// Run as root: PYLON_BENCH_SERVICES=50000 go test -run '^$' -bench SpeakersScale -benchtime 1x -timeout 3h ./test/e2e/
func BenchmarkSpeakersScale(b *testing.B) {
	n := knob.Get(b, "PYLON_BENCH_SERVICES", 5000)
	for b.Loop() {
		l := lab.Start(b, lab.Options{NodeASN: nodeASN})
		p := startPylon(b, l, "--metrics-bind-address="+speakerMetricsAddr, "--metrics-secure=false", "--pprof-bind-address="+speakerPprofAddr)
		bgpConfig(b, l)
		waitSessions(b, l, 2)
		create(b, l.Client, gen.L2Advertisement("scale", gen.L2Pools("scale")))
		create(b, l.Client, gen.BGPAdvertisement("scale", gen.BGPPools("scale")))
		lastIP := massServices(b, l, n)
		var owned, routed int
		poll.Eventually(b, 200*time.Millisecond, 10*time.Minute, fmt.Sprintf("all %d addresses owned over layer 2 and routed over all three nodes", n), func() (bool, string) {
			owned = 0
			for _, nd := range l.Nodes {
				owned += int(gauge(b, scrape(b, nd), "pylon_speaker_layer2_owned_ips"))
			}
			if owned == n {
				routed = routedOverAll(b, l, 3)
			}
			return owned == n && routed >= n, fmt.Sprintf("%d owned over layer 2, %d routed over all nodes", owned, routed)
		})
		after := time.Since(lastIP)
		if out := os.Getenv("PYLON_BENCH_HEAPPROFILE"); out != "" {
			heapProfile(b, l.Nodes[0], out)
		}
		mean, worst, passes := noopPasses(b, l, 20)
		peak, cpu := speakersUsage(b, p)
		checkSampleAnswers(b, l, 20)
		b.ReportMetric(after.Seconds(), "announced-after-last-ip-s")
		b.ReportMetric(peak, "speaker-peak-MiB")
		b.ReportMetric(cpu, "speaker-cpu-s")
		b.ReportMetric(float64(mean.Microseconds())/1000, "noop-pass-mean-ms")
		b.ReportMetric(float64(worst.Milliseconds()), "noop-pass-max-ms")
		b.Logf("%d Services: all owned over layer 2 and routed over 3 nodes %v after the last assignment; %d no-op passes, mean %v, slowest ≤ %v; speaker peak RSS %.1f MiB, CPU %.1f s",
			n, after, passes, mean, worst, peak, cpu)
	}
}

// noopPasses edits an annotation of one Service edits times, a second
// apart, and returns the mean of the speakers' passes meanwhile, the upper
// bound of the bucket holding the slowest, and how many there were. Nothing
// else changes, so every pass has nothing to do.
func noopPasses(b *testing.B, l *lab.Lab, edits int) (mean, worst time.Duration, passes int) {
	time.Sleep(5 * time.Second) // the last status writes and their passes
	before := make([]*dto.Histogram, len(l.Nodes))
	for i, nd := range l.Nodes {
		before[i] = histogram(b, scrape(b, nd), "pylon_speaker_pass_duration_seconds")
	}
	profiled := make(chan error, 1)
	if out := os.Getenv("PYLON_BENCH_PROFILE"); out != "" {
		go func() { profiled <- profile(b, l.Nodes[0], time.Duration(edits)*time.Second, out) }()
	} else {
		profiled <- nil
	}
	key := client.ObjectKey{Namespace: "scale", Name: "s-00000"}
	for i := range edits {
		var svc corev1.Service
		if err := l.Client.Get(b.Context(), key, &svc); err != nil {
			b.Fatal(err)
		}
		patch := client.MergeFrom(svc.DeepCopy())
		if svc.Annotations == nil {
			svc.Annotations = map[string]string{}
		}
		svc.Annotations["bench.pylonlb.io/noop"] = strconv.Itoa(i)
		if err := l.Client.Patch(b.Context(), &svc, patch); err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Second)
	}
	if err := <-profiled; err != nil {
		b.Fatal(err)
	}
	var sum float64
	worstLE := 0.0
	for i, nd := range l.Nodes {
		after := histogram(b, scrape(b, nd), "pylon_speaker_pass_duration_seconds")
		count := int(after.GetSampleCount() - before[i].GetSampleCount())
		if count < edits {
			b.Fatalf("%s: %d passes for %d edits; want one a wake-up at least", nd.Name, count, edits)
		}
		passes += count
		sum += after.GetSampleSum() - before[i].GetSampleSum()
		// The first bucket whose count went up by all the passes holds
		// the slowest.
		le := math.Inf(1)
		for j, bk := range after.GetBucket() {
			if bk.GetCumulativeCount()-before[i].GetBucket()[j].GetCumulativeCount() == uint64(count) {
				le = bk.GetUpperBound()
				break
			}
		}
		worstLE = max(worstLE, le)
	}
	return time.Duration(sum / float64(passes) * float64(time.Second)), time.Duration(worstLE * float64(time.Second)), passes
}

// scrape reads a speaker's metrics from inside its node's namespace.
func scrape(b *testing.B, nd *lab.Node) map[string]*dto.MetricFamily {
	ctx, cancel := context.WithTimeout(b.Context(), 10*time.Second)
	defer cancel()
	body, err := getIn(ctx, nd, "http://"+speakerMetricsAddr+"/metrics")
	if err != nil {
		b.Fatalf("%s: metrics: %v", nd.Name, err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		b.Fatalf("%s: metrics: %v", nd.Name, err)
	}
	return fams
}

// profile writes nd's speaker's CPU profile over d to out.
func profile(b *testing.B, nd *lab.Node, d time.Duration, out string) error {
	ctx, cancel := context.WithTimeout(b.Context(), d+30*time.Second)
	defer cancel()
	body, err := getIn(ctx, nd, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", speakerPprofAddr, int(d.Seconds())))
	if err != nil {
		return fmt.Errorf("%s: profile: %w", nd.Name, err)
	}
	return os.WriteFile(out, body, 0o644)
}

// heapProfile writes nd's speaker's heap profile (what is in use and what
// was allocated since the start) to out.
func heapProfile(b *testing.B, nd *lab.Node, out string) {
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
	defer cancel()
	body, err := getIn(ctx, nd, "http://"+speakerPprofAddr+"/debug/pprof/heap")
	if err == nil {
		err = os.WriteFile(out, body, 0o644)
	}
	if err != nil {
		b.Fatalf("%s: heap profile: %v", nd.Name, err)
	}
}

// getIn GETs url from inside nd's namespace and returns the body of a 200.
func getIn(ctx context.Context, nd *lab.Node, url string) ([]byte, error) {
	c := http.Client{Transport: &http.Transport{DialContext: nd.DialContext}}
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return body, nil
}

// gauge is the value of an unlabelled gauge.
func gauge(b *testing.B, fams map[string]*dto.MetricFamily, name string) float64 {
	f, ok := fams[name]
	if !ok || len(f.GetMetric()) != 1 {
		b.Fatalf("metric %s: %v", name, f)
	}
	return f.GetMetric()[0].GetGauge().GetValue()
}

// histogram is an unlabelled histogram.
func histogram(b *testing.B, fams map[string]*dto.MetricFamily, name string) *dto.Histogram {
	f, ok := fams[name]
	if !ok || len(f.GetMetric()) != 1 {
		b.Fatalf("metric %s: %v", name, f)
	}
	return f.GetMetric()[0].GetHistogram()
}
