package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/knob"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// apiOutage stops the API server for PYLON_FAULT_OUTAGE (30 s): nothing
// is lost in the first half; then the layer-2 owner's speaker is
// SIGKILLed and another node must take over from what the speakers have
// cached; after the API server returns nothing may flap (no lost probe, no
// change of the answering node, the router's next hops unchanged) and
// nothing be written needlessly (no Service, pool or advertisement
// written, also by the restarted controller; no SpeakerStatus written
// once the failover's own status writes are done).
func (f *faultLab) apiOutage(t *testing.T) {
	l, p := f.l, f.p
	outage := knob.Get(t, "PYLON_FAULT_OUTAGE", 30*time.Second)
	owner := waitOwner(t, l, f.l2, 20*time.Second)
	before := versions(t, l)
	pr := f.probe(t)
	stopped := time.Now()
	f.apiDown(t)
	time.Sleep(outage / 2)
	killed := time.Now()
	if err := p.speakers[owner].Kill(); err != nil {
		t.Fatal(err)
	}
	next := waitOwner(t, l, f.l2, 15*time.Second, owner)
	tookOver := time.Since(killed)
	time.Sleep(time.Until(stopped.Add(outage)))
	f.apiUp(t)
	returned := time.Now()
	f.controllerBack(t)
	live := slices.DeleteFunc(slices.Clone(f.nodes), func(n string) bool { return n == owner })
	// The failover's status writes, held back by the outage, land first.
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "the live speakers to report the dead member", func() (bool, string) {
		var list v1alpha1.SpeakerStatusList
		if err := l.Client.List(t.Context(), &list); err != nil {
			return false, err.Error()
		}
		n := 0
		for _, s := range list.Items {
			if slices.Contains(live, s.Name) && int(s.Status.MembersAlive) == len(live) {
				n++
			}
		}
		return n == len(live), fmt.Sprintf("%d of %d", n, len(live))
	})
	time.Sleep(2 * time.Second)
	quiet := speakerStates(t, l)
	f.stableHops(t, 5*time.Second, live...)
	if w := diffStates(quiet, speakerStates(t, l)); len(w) > 0 {
		t.Errorf("SpeakerStatuses written after the API server returned and the failover was reported: %v", w)
	}
	if w := changed(before, versions(t, l)); len(w) > 0 {
		t.Errorf("written across the outage, though no address changed: %v", w)
	}
	run := pr.stop()
	t.Log(run.line(fmt.Sprintf("API server stopped %v", outage), stopped, killed, "before the kill"))
	t.Log(run.line(fmt.Sprintf("%s's speaker SIGKILLed %v into the outage", owner, outage/2), killed, returned,
		fmt.Sprintf("%s answered %v after the kill", next, tookOver.Round(time.Millisecond))))
	t.Log(run.line("after the API server returned", returned, time.Time{}, ""))
	if a, b := between(run.l2, stopped, killed), between(run.bgp, stopped, killed); a.Failures+b.Failures > 0 {
		t.Errorf("probes lost while only the API server was down: %d (L2), %d (BGP)", a.Failures, b.Failures)
	}
	a, b := between(run.l2, returned, time.Time{}), between(run.bgp, returned, time.Time{})
	if a.Failures+b.Failures > 0 || len(a.Changes) > 0 || a.Answers[next] != a.Samples {
		t.Errorf("after the API server returned: %d (L2) and %d (BGP) probes lost, L2 answers %v, changes %v; want every probe answered by %s",
			a.Failures, b.Failures, a.Answers, a.Changes, next)
	}
	restart(t, p, owner)
	if got := waitOwner(t, l, f.l2, 20*time.Second); got != owner {
		t.Errorf("after %s's speaker came back %s answers, want its owner %s", owner, got, owner)
	}
	waitNextHops(t, l, f.bgp, 30*time.Second, f.nodes...)
}

// speakerRestartInOutage restarts the layer-2 owner's speaker (SIGTERM,
// then started again) while the API server is down. The new process
// cannot read its Node nor the memberlist key: it must wait, not exit and
// not answer, while another node answers; once the API server is back it
// joins and takes back its own address, and nothing else moves.
func (f *faultLab) speakerRestartInOutage(t *testing.T) {
	l, p := f.l, f.p
	outage := knob.Get(t, "PYLON_FAULT_OUTAGE", 30*time.Second) / 3
	owner := waitOwner(t, l, f.l2, 20*time.Second)
	if owner != f.electionOwner(f.l2) {
		t.Fatalf("%s answers for %s, the election says %s", owner, f.l2, f.electionOwner(f.l2))
	}
	pr := f.probe(t)
	stopped := time.Now()
	f.apiDown(t)
	time.Sleep(time.Second)
	sp := p.speakers[owner]
	if err := sp.Restart(); err != nil {
		t.Fatal(err)
	}
	next := waitOwner(t, l, f.l2, 10*time.Second, owner)
	time.Sleep(time.Until(stopped.Add(outage)))
	exited := !sp.Running()
	if exited {
		t.Errorf("the speaker restarted during the outage exited (%v) instead of waiting for the API server:\n%s", sp.ExitErr(), tail(sp.Log(), 600))
	}
	f.apiUp(t)
	if exited { // started again, as its DaemonSet would, to go on
		if err := sp.Start(); err != nil {
			t.Fatal(err)
		}
	}
	returned := time.Now()
	f.controllerBack(t)
	waitMembers(t, p)
	if got := waitOwner(t, l, f.l2, 20*time.Second); got != owner {
		t.Errorf("%s answers after the restart, want its owner %s back", got, owner)
	}
	back := time.Since(returned)
	waitNextHops(t, l, f.bgp, 30*time.Second, f.nodes...)
	time.Sleep(time.Second)
	run := pr.stop()
	a, b := lab.Summarize(run.l2), lab.Summarize(run.bgp)
	t.Log(run.line(fmt.Sprintf("%s's speaker restarted %v into a %v API outage", owner, time.Second, outage), stopped, time.Time{},
		fmt.Sprintf("%s answered meanwhile; %s answered again %v after the API server returned; L2 changes %v",
			next, owner, back.Round(time.Millisecond), a.Changes)))
	// One probe may be lost on each move (a connection opened just before
	// the neighbour entry moved); the address moves twice, and nowhere
	// else.
	if a.Failures > 2 || b.Failures > 2 {
		t.Errorf("lost %d (L2) and %d (BGP) probes, want at most one per move", a.Failures, b.Failures)
	}
	if len(a.Changes) != 2 || a.Changes[0].To != next || a.Changes[1].To != owner {
		t.Errorf("L2 answers changed %v, want %s -> %s on the restart and back once the API server returned", a.Changes, owner, next)
	}
}

// etcdRestart restarts etcd under the running API server, then compacts
// its history and restarts the API server, whose fresh watch cache cannot
// resume the clients' watches: every watcher (the controller and each
// speaker) must list again, shown by the API server's request counts.
// Nothing may flap and nothing be written.
func (f *faultLab) etcdRestart(t *testing.T) {
	l := f.l
	owner := waitOwner(t, l, f.l2, 20*time.Second)
	before, beforeSt := versions(t, l), speakerStates(t, l)
	pr := f.probe(t)
	began := time.Now()
	if err := l.RestartEtcd(); err != nil {
		t.Fatal(err)
	}
	etcdBack := time.Since(began)
	rev, err := l.API.CompactEtcd(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	f.p.apiStarting()
	if err := l.RestartAPIServer(); err != nil {
		t.Fatal(err)
	}
	// The API server's counters start from zero: every relist counted
	// here is one made after it restarted.
	var relists int
	// client-go's reflector backs off up to 30 s (with jitter, up to a
	// minute) after failures, and any outage before grows its backoff
	// (TestFaults runs this first of the API server faults).
	poll.Eventually(t, 50*time.Millisecond, 90*time.Second, "the controller and every speaker to list L2Advertisements again", func() (bool, string) {
		relists = relistCount(t, l, "l2advertisements")
		return relists >= 1+len(f.nodes), fmt.Sprintf("%d relists", relists)
	})
	f.controllerBack(t)
	time.Sleep(2 * time.Second)
	run := pr.stop()
	t.Log(run.line("etcd restarted, compacted and the API server restarted", began, time.Time{},
		fmt.Sprintf("etcd back in %v, compacted at revision %d, %d relists of L2Advertisements after", etcdBack.Round(time.Millisecond), rev, relists)))
	a, b := lab.Summarize(run.l2), lab.Summarize(run.bgp)
	if a.Failures+b.Failures > 0 || a.Answers[owner] != a.Samples {
		t.Errorf("lost %d (L2) and %d (BGP) probes, L2 answers %v: want every probe answered by %s", a.Failures, b.Failures, a.Answers, owner)
	}
	if w := changed(before, versions(t, l)); len(w) > 0 {
		t.Errorf("written after the relist, though nothing changed: %v", w)
	}
	if w := diffStates(beforeSt, speakerStates(t, l)); len(w) > 0 {
		t.Errorf("SpeakerStatuses written after the relist, though nothing changed: %v", w)
	}
	f.stableHops(t, time.Second, f.nodes...)
}

// relistCount is how many times, since the API server started, clients
// read a resource whole: LIST requests, and watches that began with the
// current state (watch-list, client-go's default since 1.35), counted by
// the API server's own metrics.
func relistCount(t testing.TB, l *lab.Lab, resource string) int {
	t.Helper()
	body, err := l.API.Kubectl(t.Context(), "get", "--raw", "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.Contains(line, `resource="`+resource+`"`) {
			continue
		}
		switch {
		case strings.HasPrefix(line, "apiserver_request_total{") && strings.Contains(line, `verb="LIST"`),
			strings.HasPrefix(line, "apiserver_watch_list_duration_seconds_count{"):
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
				n += int(v)
			}
		}
	}
	return n
}
