package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/knob"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// BenchmarkLayer2Failover measures layer-2 failover on three nodes, each
// trial on an address owned by a node chosen by the election:
//
//   - node-*: the owner dies as a whole (its speaker SIGKILLed and its
//     link to the segment cut at the same instant): the time from the kill
//     to the start of the first probe answered by another node, the client
//     probing over HTTP every 20 ms.
//   - speaker-*: only the owner's speaker is SIGKILLed (the node still
//     forwards what reaches it): the time until the first probe answered
//     by the new owner, and the probes lost on the way.
//
// PYLON_BENCH_TRIALS sets the trials of each kind (default 20).
//
// Run as root: go test -run '^$' -bench Layer2Failover -benchtime 1x ./test/e2e/
func BenchmarkLayer2Failover(b *testing.B) {
	trials := knob.Get(b, "PYLON_BENCH_TRIALS", 20)
	for b.Loop() {
		l := lab.Start(b, lab.Options{})
		p := startPylon(b, l)
		_, ips := service(b, l, "web", false)
		vip := ips[0]

		var nodeDeath, speakerDeath []time.Duration
		lost := 0
		var trialLog []string // node death / speaker death / probes lost
		for i := range trials {
			d, _ := failoverTrial(b, p, vip, true)
			nodeDeath = append(nodeDeath, d)
			d, r := failoverTrial(b, p, vip, false)
			speakerDeath = append(speakerDeath, d)
			lost = max(lost, r.Failures)
			trialLog = append(trialLog, fmt.Sprintf("%d: %v/%v/%d", i+1, nodeDeath[i].Round(time.Millisecond), d.Round(time.Millisecond), r.Failures))
		}
		slices.Sort(nodeDeath)
		slices.Sort(speakerDeath)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(ms(nodeDeath[len(nodeDeath)/2]), "node-p50-ms")
		b.ReportMetric(ms(nodeDeath[len(nodeDeath)-1]), "node-max-ms")
		b.ReportMetric(ms(speakerDeath[len(speakerDeath)/2]), "speaker-p50-ms")
		b.ReportMetric(ms(speakerDeath[len(speakerDeath)-1]), "speaker-max-ms")
		b.ReportMetric(float64(lost), "speaker-max-lost-probes")
		b.Logf("%d trials each: node death p50 %v, worst %v; speaker death p50 %v, worst %v, at most %d probes lost",
			trials, nodeDeath[len(nodeDeath)/2], nodeDeath[len(nodeDeath)-1],
			speakerDeath[len(speakerDeath)/2], speakerDeath[len(speakerDeath)-1], lost)
		// One line: benchmark logs are cut after a few lines.
		b.Logf("trials (node death/speaker death/probes lost): %s", strings.Join(trialLog, ", "))
	}
}

// failoverTrial kills the owner of vip (its speaker, and with node its
// link too), waits for another node to answer, then brings the owner back
// and waits until all speakers see each other. It returns the time from
// the kill to the start of the first probe another node answered.
func failoverTrial(b *testing.B, p *pylon, vip netip.Addr, node bool) (time.Duration, lab.SampleReport) {
	l := p.lab
	owner := waitOwner(b, l, vip, 20*time.Second)
	n := l.Node(owner)
	s := l.LocalClient.StartSampler(b.Context(), vip, 80)
	time.Sleep(200 * time.Millisecond)
	killed := time.Now()
	if err := p.speakers[owner].Kill(); err != nil {
		b.Fatal(err)
	}
	if node {
		if err := l.LinkDown(b.Context(), n); err != nil {
			b.Fatal(err)
		}
	}
	var took time.Duration
	poll.Eventually(b, 50*time.Millisecond, 10*time.Second, "another node to answer for "+vip.String(), func() (bool, string) {
		r := s.Snapshot()
		for _, c := range r.Changes {
			if c.To != owner && c.At.After(killed) {
				took = c.At.Sub(killed)
				return true, ""
			}
		}
		return false, r.String()
	})
	time.Sleep(100 * time.Millisecond)
	rep, _ := s.Stop()
	if node {
		if err := l.LinkUp(b.Context(), n); err != nil {
			b.Fatal(err)
		}
	}
	restart(b, p, owner)
	return took, rep
}

// BenchmarkLayer2Scale creates 5,000 IPv6 Services announced over layer 2
// on three nodes (PYLON_BENCH_SERVICES to change) and reports how long
// after the last address assignment the speakers announce all of them
// (from their SpeakerStatus counts), and the speakers' peak RSS. A sample
// of the addresses is checked from the local client: one node answers NDP.
//
// Run as root: go test -run '^$' -bench Layer2Scale -benchtime 1x ./test/e2e/
func BenchmarkLayer2Scale(b *testing.B) {
	n := knob.Get(b, "PYLON_BENCH_SERVICES", 5000)
	for b.Loop() {
		l := lab.Start(b, lab.Options{})
		p := startPylon(b, l)
		create(b, l.Client, gen.L2Advertisement("scale", gen.L2Pools("scale")))
		lastIP := massServices(b, l, n)
		var counts string
		poll.Eventually(b, 50*time.Millisecond, 5*time.Minute, fmt.Sprintf("%d addresses announced", n), func() (bool, string) {
			var list v1alpha1.SpeakerStatusList
			if err := l.Client.List(b.Context(), &list); err != nil {
				return false, err.Error()
			}
			total := 0
			counts = ""
			for _, st := range list.Items {
				total += int(st.Status.Announced)
				counts += fmt.Sprintf(" %s:%d", st.Name, st.Status.Announced)
			}
			return total == n, counts
		})
		after := time.Since(lastIP)
		peak, cpu := speakersUsage(b, p)
		checkSampleAnswers(b, l, 20)
		b.ReportMetric(after.Seconds(), "announced-after-last-ip-s")
		b.ReportMetric(peak, "speaker-peak-MiB")
		b.ReportMetric(cpu, "speaker-cpu-s")
		b.Logf("%d Services announced %v after the last assignment (per node:%s); speaker peak RSS %.1f MiB, CPU %.1f s",
			n, after, counts, peak, cpu)
	}
}

// checkSampleAnswers asks NDP for k addresses spread over namespace
// "scale"'s Services and fails unless exactly one node answers each.
func checkSampleAnswers(b *testing.B, l *lab.Lab, k int) {
	var list corev1.ServiceList
	if err := l.Client.List(b.Context(), &list, client.InNamespace("scale")); err != nil {
		b.Fatal(err)
	}
	step := max(1, len(list.Items)/k)
	for i := 0; i < len(list.Items); i += step {
		svc := list.Items[i]
		ip, err := netip.ParseAddr(svc.Status.LoadBalancer.Ingress[0].IP)
		if err != nil {
			b.Fatalf("%s: %v", svc.Name, err)
		}
		if who := answering(b, l, ip); len(who) != 1 {
			b.Fatalf("%s (%s): answered by %v, want one node", ip, svc.Name, who)
		}
	}
}

// BenchmarkLayer2CPUHog keeps every core busy for 5 minutes
// (PYLON_BENCH_HOG_SECONDS to change) with one busy-looping process per
// CPU, at the speakers' own priority, while three nodes hold 30 layer-2
// addresses and the local client fetches one of them every 20 ms. It
// reports false failovers: a node that stopped announcing an address
// (StoppedAnnouncing events), a change of the node answering the sampled
// address, or a speaker that saw fewer than three members alive (its
// SpeakerStatus, read every 250 ms); and the suspicions memberlist had to
// refute (its "Refuting" lines in the speakers' logs), which are near
// misses, not failovers.
//
// Run as root: go test -run '^$' -bench Layer2CPUHog -benchtime 1x ./test/e2e/
func BenchmarkLayer2CPUHog(b *testing.B) {
	hold := time.Duration(knob.Get(b, "PYLON_BENCH_HOG_SECONDS", 300)) * time.Second
	for b.Loop() {
		l := lab.Start(b, lab.Options{})
		p := startPylon(b, l)
		var vips []netip.Addr
		for i := range 30 {
			_, ips := service(b, l, fmt.Sprintf("hog-%02d", i), false)
			vips = append(vips, ips[0])
		}
		waitOwner(b, l, vips[0], 20*time.Second)
		logSizes := map[string]int{}
		for name, sp := range p.speakers {
			logSizes[name] = len(sp.Log())
		}
		stoppedBefore := countEvents(b, l, "StoppedAnnouncing")

		stop := startHogs(b, runtime.NumCPU())
		began := time.Now()
		s := l.LocalClient.StartSampler(b.Context(), vips[0], 80)
		minAlive := int32(len(l.Nodes))
		for time.Since(began) < hold {
			var list v1alpha1.SpeakerStatusList
			if err := l.Client.List(b.Context(), &list); err != nil {
				b.Fatal(err)
			}
			for _, st := range list.Items {
				minAlive = min(minAlive, st.Status.MembersAlive)
			}
			time.Sleep(250 * time.Millisecond)
		}
		rep, _ := s.Stop()
		load := stop()

		stopped := countEvents(b, l, "StoppedAnnouncing") - stoppedBefore
		refuted := 0
		for name, sp := range p.speakers {
			refuted += strings.Count(sp.Log()[logSizes[name]:], "Refuting a ")
		}
		answerChanges := len(rep.Changes)
		falseFailovers := stopped + answerChanges
		if minAlive < int32(len(l.Nodes)) {
			falseFailovers++
		}
		b.ReportMetric(float64(falseFailovers), "false-failovers")
		b.ReportMetric(float64(refuted), "refuted-suspicions")
		b.ReportMetric(float64(rep.Failures), "lost-probes")
		b.ReportMetric(float64(rep.LongestGap.Milliseconds()), "longest-gap-ms")
		b.Logf("%v with %d CPU hogs (load average at the end %s): %d StoppedAnnouncing events, %d changes of the answering node, fewest members alive %d, %d suspicions refuted; client: %v",
			hold, runtime.NumCPU(), load, stopped, answerChanges, minAlive, refuted, rep)
	}
}

// startHogs starts n busy-looping processes; stop kills them (by PID) and
// returns the load average read just before.
func startHogs(b *testing.B, n int) (stop func() string) {
	var cmds []*exec.Cmd
	for range n {
		cmd := exec.Command("/bin/sh", "-c", "while :; do :; done")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	stopped := false
	stop = func() string {
		if stopped {
			return ""
		}
		stopped = true
		load, _ := os.ReadFile("/proc/loadavg")
		for _, cmd := range cmds {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		return strings.Join(strings.Fields(string(load))[:3], " ")
	}
	b.Cleanup(func() { stop() })
	return stop
}
