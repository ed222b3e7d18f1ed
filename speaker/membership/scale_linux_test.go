package membership

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pylonlb/pylon/memberlistkey"
	"github.com/pylonlb/pylon/test/knob"
)

// swarm is many members on loopback in one process, each started as the
// speaker starts its own (Start's configuration, LANProfile, a shared
// key), with its traffic counted at the transport and its log read for
// false alarms.
type swarm struct {
	tb      testing.TB
	keys    *memberlistkey.Keys
	members []*counter
	alarms  *alarms
}

// counter is one member of a swarm.
type counter struct {
	*List
	name    string
	traffic *traffic
}

// newSwarm starts n members named m000.. and waits until every one sees
// all n live.
func newSwarm(tb testing.TB, n int) *swarm {
	tb.Helper()
	s := &swarm{tb: tb, keys: &memberlistkey.Keys{Primary: memberlistkey.New()}, alarms: &alarms{}}
	if name := os.Getenv("PYLON_BENCH_LOG"); name != "" {
		f, err := os.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = f.Close() })
		s.alarms.tee = f
	}
	// Five at a time, each batch settled before the next: 100 joins at once
	// are a burst of gossip (every join is retransmitted by every member)
	// that starves the process of CPU, which 100 real nodes would not.
	for i := range n {
		m := s.start(fmt.Sprintf("m%03d", i))
		if i > 0 {
			// Through three members, which all tell the others at once.
			s.join(m, s.members[i-1], s.members[i/2], s.members[0])
		}
		s.members = append(s.members, m)
		if i%5 == 4 {
			s.settle()
			time.Sleep(2 * time.Second) // every member's retransmissions end
		}
	}
	s.settle()
	return s
}

func (s *swarm) start(name string) *counter {
	s.tb.Helper()
	tr := &traffic{}
	l, err := startWith(Config{Name: name, BindAddr: "127.0.0.1", Profile: LANProfile(), Keys: s.keys, LogOutput: s.alarms}, tr.transport)
	if err != nil {
		s.tb.Fatal(err)
	}
	s.tb.Cleanup(func() { _ = l.Shutdown() })
	return &counter{List: l, name: name, traffic: tr}
}

func (s *swarm) join(m *counter, through ...*counter) {
	s.tb.Helper()
	var addrs []string
	for _, t := range through {
		if !slices.Contains(addrs, t.Address()) {
			addrs = append(addrs, t.Address())
		}
	}
	if _, err := m.Join(addrs); err != nil {
		s.tb.Fatalf("%s joining through %v: %v", m.name, addrs, err)
	}
}

// names are the members' names, sorted as Live sorts them.
func (s *swarm) names() []string {
	var out []string
	for _, m := range s.members {
		out = append(out, m.name)
	}
	return out
}

// settle waits until every member sees every member live. Like the
// speaker (its rejoin), a member that misses some joins them: gossip
// spreads a join to nearly every member, and memberlist leaves the rest to
// its push/pull exchanges, which come minutes apart with 100 members.
func (s *swarm) settle() {
	s.tb.Helper()
	want := s.names()
	addr := map[string]string{}
	for _, m := range s.members {
		addr[m.name] = m.Address()
	}
	deadline := time.Now().Add(time.Minute)
	for _, m := range s.members {
		for {
			live := m.Live()
			if slices.Equal(live, want) {
				break
			}
			if time.Now().After(deadline) {
				s.tb.Fatalf("%s sees %d of %d members live after a minute", m.name, len(live), len(want))
			}
			var missing []string
			for _, name := range want {
				if !slices.Contains(live, name) {
					missing = append(missing, addr[name])
				}
			}
			_, _ = m.Join(missing)
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// kill crashes member i (its transport shut, no leave) and returns how
// long the first and the last of the others took to stop counting it live.
// It fails the benchmark if one still does after limit.
func (s *swarm) kill(i int, limit time.Duration) (first, last time.Duration) {
	s.tb.Helper()
	victim := s.members[i]
	var others []*counter
	for _, m := range s.members {
		if m != victim {
			others = append(others, m)
			select { // changes before the kill are not the kill's
			case <-m.Changes():
			default:
			}
		}
	}
	s.alarms.expecting(victim.name)
	began := time.Now()
	if err := victim.Shutdown(); err != nil {
		s.tb.Fatal(err)
	}
	took := make(chan time.Duration, len(others))
	for _, m := range others {
		go func() {
			deadline := time.After(limit)
			for slices.Contains(m.Live(), victim.name) {
				select {
				case <-m.Changes():
				case <-deadline:
					took <- -1
					return
				}
			}
			took <- time.Since(began)
		}()
	}
	var all []time.Duration
	for range others {
		d := <-took
		if d < 0 {
			s.tb.Fatalf("a member still counts %s live %v after its crash", victim.name, limit)
		}
		all = append(all, d)
	}
	slices.Sort(all)
	return all[0], all[len(all)-1]
}

// revive starts member i again under its name, as a restarted speaker
// comes back (on a new port), and waits until every member sees it.
func (s *swarm) revive(i int) {
	s.tb.Helper()
	old := s.members[i]
	// memberlist lets a dead member back on another address only once it
	// has been dead for DeadNodeReclaimTime.
	time.Sleep(1100 * time.Millisecond)
	m := s.start(old.name)
	s.members[i] = m
	n := len(s.members)
	s.join(m, s.members[(i+1)%n], s.members[(i+n/2)%n])
	s.settle()
	s.alarms.expecting("")
}

// traffic is the members' counts so far, in order.
func (s *swarm) traffic() []counted {
	var out []counted
	for _, m := range s.members {
		out = append(out, m.traffic.now())
	}
	return out
}

// stalls measures how late this process runs: a goroutine sleeps 10 ms at
// a time and records by how much each sleep overran. When the whole
// process stalls (other work on the machine, the garbage collector), every
// member in it misses its probes at once, which 100 nodes would not.
type stalls struct {
	mu      sync.Mutex
	longest time.Duration
	// over counts overruns longer than limit.
	over  int
	limit time.Duration
}

func watchStalls(tb testing.TB, limit time.Duration) *stalls {
	s := &stalls{limit: limit}
	done, stopped := make(chan struct{}), make(chan struct{})
	tb.Cleanup(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		const nap = 10 * time.Millisecond
		for {
			began := time.Now()
			select {
			case <-done:
				return
			case <-time.After(nap):
			}
			late := time.Since(began) - nap
			s.mu.Lock()
			s.longest = max(s.longest, late)
			if late > s.limit {
				s.over++
			}
			s.mu.Unlock()
		}
	}()
	return s
}

// take returns the longest overrun and how many passed the limit since the
// last take.
func (s *stalls) take() (time.Duration, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	longest, over := s.longest, s.over
	s.longest, s.over = 0, 0
	return longest, over
}

// cpu is the process's CPU time so far, user and system.
func cpu(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMembers runs PYLON_BENCH_MEMBERS (default 100) members on
// loopback in this process, each started by Start's own code with
// LANProfile and a key, as speakers run, and reports:
//
//   - over a quiet run of PYLON_BENCH_SECONDS (default 60), memberlist's
//     bytes per second per member, counted at the transport (UDP and TCP,
//     in and out; mean of the members, and the busiest member's total),
//     the process's CPU per member, goroutines and open files, and how
//     often the whole process stalled longer than the probe timeout
//     (quiet-stalls; a 10 ms sleep that overran by more);
//   - false alarms in the quiet run and during the crashes: a live member
//     suspected (false-suspicions) or declared dead (false-deaths), and in
//     the quiet run direct probes that went unanswered (missed-probes, near
//     misses); the log adds those of the start-up, and refutations;
//   - over PYLON_BENCH_TRIALS (default 20) crashes of one member (its
//     transport shut without leaving), the time until the first and until
//     the last of the others stopped counting it live: p50 and worst over
//     the trials. The crashed member comes back under its name between
//     trials.
//
// PYLON_BENCH_LOG names a file to write every member's memberlist log to.
//
// go test -run '^$' -bench Members -benchtime 1x -timeout 60m ./speaker/membership/
func BenchmarkMembers(b *testing.B) {
	n := knob.Get(b, "PYLON_BENCH_MEMBERS", 100)
	quiet := time.Duration(knob.Get(b, "PYLON_BENCH_SECONDS", 60)) * time.Second
	trials := knob.Get(b, "PYLON_BENCH_TRIALS", 20)
	for b.Loop() {
		s := newSwarm(b, n)
		time.Sleep(5 * time.Second) // the joins' gossip dies down
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
		b.ReportMetric(float64(len(fds)), "open-files")
		startup := s.alarms.seen()
		st := watchStalls(b, LANProfile().ProbeTimeout)

		before, cpuBefore, began := s.traffic(), cpu(b), time.Now()
		time.Sleep(quiet)
		after, cpuAfter, secs := s.traffic(), cpu(b), time.Since(began).Seconds()
		var sum counted
		var busiest int64
		for i := range after {
			d := after[i].minus(before[i])
			sum = counted{sum.udpOut + d.udpOut, sum.udpIn + d.udpIn, sum.tcpOut + d.tcpOut, sum.tcpIn + d.tcpIn}
			busiest = max(busiest, d.total())
		}
		perMember := func(v int64) float64 { return float64(v) / float64(n) / secs }
		b.ReportMetric(perMember(sum.udpOut), "udp-out-B/s/member")
		b.ReportMetric(perMember(sum.udpIn), "udp-in-B/s/member")
		b.ReportMetric(perMember(sum.tcpOut), "tcp-out-B/s/member")
		b.ReportMetric(perMember(sum.tcpIn), "tcp-in-B/s/member")
		b.ReportMetric(float64(busiest)/secs, "busiest-B/s")
		b.ReportMetric(float64((cpuAfter-cpuBefore).Microseconds())/1000/float64(n)/secs, "cpu-ms/s/member")
		calm := s.alarms.seen()
		stall, stalled := st.take()
		b.ReportMetric(float64(stall.Microseconds())/1000, "quiet-longest-stall-ms")
		b.ReportMetric(float64(stalled), "quiet-stalls")
		q := calm.minus(startup)
		b.ReportMetric(float64(q.suspected), "quiet-false-suspicions")
		b.ReportMetric(float64(q.dead), "quiet-false-deaths")
		b.ReportMetric(float64(q.missed), "quiet-missed-probes")

		var first, last []time.Duration
		for t := range trials {
			i := (1 + 37*t) % n
			f, l := s.kill(i, 30*time.Second)
			first, last = append(first, f), append(last, l)
			s.revive(i)
		}
		slices.Sort(first)
		slices.Sort(last)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(ms(last[len(last)/2]), "detect-p50-ms")
		b.ReportMetric(ms(last[len(last)-1]), "detect-max-ms")
		b.ReportMetric(ms(first[len(first)/2]), "first-p50-ms")
		k := s.alarms.seen().minus(calm)
		b.ReportMetric(float64(k.suspected), "crash-false-suspicions")
		b.ReportMetric(float64(k.dead), "crash-false-deaths")
		// One line each: benchmark logs are cut after a few lines.
		b.Logf("%d members; start-up (joins in fives): %v; quiet %v: %v, the process stalled past the probe timeout %d times (longest %v); during the crashes: %v",
			n, startup, quiet, q, stalled, stall, k)
		b.Logf("%d crashes: every other member dropped it after p50 %v, worst %v (first member: p50 %v); all: %v",
			trials, last[len(last)/2], last[len(last)-1], first[len(first)/2], last)
	}
}
