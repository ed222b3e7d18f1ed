package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/election"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// TestFaults is the fault suite (docs/reliability.md, "Faults"): on one
// lab, with the controller and the speakers running as shipped, each
// subtest injects one fault while the local client probes a layer-2
// Service and the remote client, behind the router, a BGP Service, every
// 20 ms. Each logs a line "<fault>: lost N probes (L2) / M (BGP), longest
// gap …" and fails on whatever must not happen. The subtests run in order
// and each leaves the lab as it found it. Heavy variants are knobs
// (PYLON_FAULT_OUTAGE, PYLON_FAULT_SPEAKER_LOOP) and
// BenchmarkControllerKillLoop.
func TestFaults(t *testing.T) {
	f := startFaultLab(t)
	for _, fault := range []struct {
		name string
		run  func(*testing.T)
	}{
		// Before the API server faults: after them a client's watches can
		// stay backed off for up to a minute (client-go's reflector), and
		// a key edit would reach that speaker late.
		{"memberlist key replaced in one edit", f.keyChange},
		{"router's bgpd restarted", f.bgpdRestart},
		// First of the API server faults: it waits for every watcher to
		// list again, which a reflector backed off by the outages
		// before did up to a minute late (73 s of a 234 s run).
		{"etcd restarted and watches expired", f.etcdRestart},
		{"API server stopped", f.apiOutage},
		{"speaker restarted during an API outage", f.speakerRestartInOutage},
		{"node partitioned and healed", f.partition},
		{"speaker SIGKILL loop on one node", f.speakerKillLoop},
		{"controller SIGKILL loop during churn", f.controllerKillLoop},
	} {
		t.Run(fault.name, func(t *testing.T) {
			f.ready(t)
			fault.run(t)
		})
	}
}

// apiDown stops the API server; apiUp starts it again, if it is down.
func (f *faultLab) apiDown(t *testing.T) {
	t.Helper()
	if err := f.l.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	f.down = true
}

func (f *faultLab) apiUp(t *testing.T) {
	t.Helper()
	if !f.down {
		return
	}
	f.p.apiStarting()
	if err := f.l.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	f.down = false
}

// ready brings the lab back to where every fault starts, should the one
// before have failed half-way: the API server, the controller and every
// speaker running, every speaker seeing the others.
func (f *faultLab) ready(t *testing.T) {
	t.Helper()
	f.apiUp(t)
	f.controllerBack(t)
	for _, n := range f.nodes {
		if sp := f.p.speakers[n]; !sp.Running() {
			t.Logf("the speaker on %s is not running (left so by the fault before); started again", n)
			if err := sp.Start(); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitMembers(t, f.p)
	// A fault that restarted the router's bgpd leaves the sessions coming
	// back up for a while; their status write must not fall inside the
	// next fault's window either.
	waitSessions(t, f.l, 1)
	// A fault that moved the layer-2 address may leave a Layer2Conflict
	// condition True for a while (both nodes answered during the handback);
	// it clears on its own, and must not clear inside the next fault's
	// window, where a status write would count as caused by that fault.
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "no Layer2Conflict condition True", func() (bool, string) {
		var list v1alpha1.SpeakerStatusList
		if err := f.l.Client.List(t.Context(), &list); err != nil {
			return false, err.Error()
		}
		for _, st := range list.Items {
			if c := meta.FindStatusCondition(st.Status.Conditions, speaker.ConditionLayer2Conflict); c != nil && c.Status == metav1.ConditionTrue {
				return false, st.Name + ": " + c.Message
			}
		}
		return true, ""
	})
}

// faultLab is the fault suite's lab: pylon with a layer-2 Service "l2"
// (pool "lab", answered over ARP by its owner) and a BGP Service "bgp"
// (pool "bgp" in PoolV4Alt, routed by the router over every node).
type faultLab struct {
	l       *lab.Lab
	p       *pylon
	l2, bgp netip.Addr
	nodes   []string
	down    bool // the API server is stopped
}

func startFaultLab(t *testing.T) *faultLab {
	l := lab.Start(t, lab.Options{NodeASN: nodeASN})
	// pylon as processes: speakers and the controller are killed in loops,
	// restarted while the API server is down (a kubelet cannot report a
	// pod then, and its restart back-off would pace the loops), and their
	// logs read as they write them.
	f := &faultLab{l: l, p: startPylon(t, l)}
	for _, n := range l.Nodes {
		f.nodes = append(f.nodes, n.Name)
	}
	bgpPool(t, l)
	f.l2 = f.pooled(t, "l2", "lab")
	f.bgp = f.pooled(t, "bgp", "bgp")
	waitOwner(t, l, f.l2, 20*time.Second)
	waitNextHops(t, l, f.bgp, 30*time.Second, f.nodes...)
	return f
}

// bgpPool creates the IPPool "bgp" over PoolV4Alt, advertised over BGP
// to the router (BGPPeer "router", the nodes in nodeASN).
func bgpPool(t testing.TB, l *lab.Lab) {
	t.Helper()
	create(t, l.Client, gen.IPPool("bgp", gen.AvoidBuggyIPs(), gen.Addresses(lab.PoolV4Alt.String())))
	create(t, l.Client, gen.BGPAdvertisement("bgp", gen.BGPPools("bgp")))
	create(t, l.Client, gen.BGPPeer("router", nodeASN, lab.RouterASN, l.Router.IPv4.String()))
}

// pooled creates a single-stack IPv4 Service from pool with an endpoint
// on every node and returns its address.
func (f *faultLab) pooled(t *testing.T, name, pool string) netip.Addr {
	svc := lab.LoadBalancerService("default", name, 80)
	svc.Annotations = map[string]string{controller.AnnotationPool: pool}
	_, ips := createService(t, f.l, svc, lab.ReadyOn(f.nodes...)...)
	return ips[0]
}

// probes are the two clients' samplers: the local client on the layer-2
// address, the remote one (through the router) on the BGP address.
type probes struct{ l2, bgp *lab.Sampler }

func (f *faultLab) probe(t *testing.T) *probes {
	pr := &probes{
		l2:  f.l.LocalClient.StartSampler(t.Context(), f.l2, 80),
		bgp: f.l.RemoteClient.StartSampler(t.Context(), f.bgp, 80),
	}
	time.Sleep(300 * time.Millisecond)
	return pr
}

// probeRun is what both clients saw, whole and sliced by time.
type probeRun struct{ l2, bgp []lab.Sample }

func (pr *probes) stop() probeRun {
	_, l2 := pr.l2.Stop()
	_, bgp := pr.bgp.Stop()
	return probeRun{l2, bgp}
}

// between summarises the probes that started in [from, to) (zero: open).
// The last answered probe before from counts for the longest gap and the
// changes of node only: a fault at from that silences the address shows
// as a gap from before it.
func between(s []lab.Sample, from, to time.Time) lab.SampleReport {
	var in []lab.Sample
	var anchor *lab.Sample
	for i, x := range s {
		if x.At.Before(from) {
			if x.OK() && (anchor == nil || x.At.After(anchor.At)) {
				anchor = &s[i]
			}
			continue
		}
		if to.IsZero() || x.At.Before(to) {
			in = append(in, x)
		}
	}
	if anchor == nil {
		return lab.Summarize(in)
	}
	r := lab.Summarize(append(in, *anchor))
	r.Samples--
	if r.Answers[anchor.Node]--; r.Answers[anchor.Node] == 0 {
		delete(r.Answers, anchor.Node)
	}
	r.First = from
	return r
}

// line is the figure a subtest logs for docs/reliability.md.
func (r probeRun) line(fault string, from, to time.Time, extra string) string {
	a, b := between(r.l2, from, to), between(r.bgp, from, to)
	s := fmt.Sprintf("%s: lost %d of %d probes (L2) / %d of %d (BGP), longest gap %v (L2) / %v (BGP), L2 answered by %v",
		fault, a.Failures, a.Samples, b.Failures, b.Samples, a.LongestGap.Round(time.Millisecond), b.LongestGap.Round(time.Millisecond), a.Answers)
	if extra != "" {
		s += "; " + extra
	}
	return s
}

// versions is the resourceVersion of every Service, IPPool,
// L2Advertisement and BGPAdvertisement: what a controller that rewrote
// statuses after a relist or a restart would change.
func versions(t testing.TB, l *lab.Lab) map[string]string {
	t.Helper()
	out := map[string]string{}
	lists := map[string]client.ObjectList{
		"Service": &corev1.ServiceList{}, "IPPool": &v1alpha1.IPPoolList{},
		"L2Advertisement": &v1alpha1.L2AdvertisementList{}, "BGPAdvertisement": &v1alpha1.BGPAdvertisementList{},
	}
	for kind, list := range lists {
		if err := l.Client.List(t.Context(), list); err != nil {
			t.Fatal(err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range items {
			o, err := meta.Accessor(item)
			if err != nil {
				t.Fatal(err)
			}
			out[kind+" "+o.GetNamespace()+"/"+o.GetName()] = o.GetResourceVersion()
		}
	}
	return out
}

// speakerStates is every SpeakerStatus's spec and status, as JSON. The
// fault checks compare these, not resourceVersions: on a loaded machine
// memberlist may suspect a member for a moment, and the speakers write that
// and write it back (a real change, twice); a needless write, such as
// conditions whose transition times a relist reset, leaves a difference.
func speakerStates(t testing.TB, l *lab.Lab) map[string]string {
	t.Helper()
	var list v1alpha1.SpeakerStatusList
	if err := l.Client.List(t.Context(), &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range list.Items {
		b, err := json.Marshal(struct {
			Spec   v1alpha1.SpeakerStatusSpec
			Status v1alpha1.SpeakerStatusStatus
		}{s.Spec, s.Status})
		if err != nil {
			t.Fatal(err)
		}
		out[s.Name] = string(b)
	}
	return out
}

// diffStates names the SpeakerStatuses that differ, with both versions.
func diffStates(before, after map[string]string) []string {
	var out []string
	for _, name := range changed(before, after) {
		out = append(out, fmt.Sprintf("%s: before %s; after %s", name, before[name], after[name]))
	}
	return out
}

// changed lists the keys whose values differ, sorted.
func changed(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if before[k] != v {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k+" (gone)")
		}
	}
	slices.Sort(out)
	return out
}

// controllerBack starts the controller again if it exited, as its
// Deployment would: with leader election it gives up its lease after 10 s
// without the API server and exits. It reports whether it had exited.
func (f *faultLab) controllerBack(t *testing.T) bool {
	t.Helper()
	if f.p.controller.Running() {
		return false
	}
	t.Logf("the controller exited during the fault (%v); started again", f.p.controller.ExitErr())
	if err := f.p.controller.Start(); err != nil {
		t.Fatal(err)
	}
	return true
}

// stable fails unless, for d, the router routes the BGP address over
// exactly want, polled every 100 ms.
func (f *faultLab) stableHops(t *testing.T, d time.Duration, want ...string) {
	t.Helper()
	w := nodeAddrs(f.l, f.bgp, want...)
	prefix := netip.PrefixFrom(f.bgp, 32)
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		routes, err := f.l.Router.KernelRoutes(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := slices.Clone(routes[prefix])
		slices.SortFunc(got, netip.Addr.Compare)
		if !slices.Equal(got, w) {
			t.Fatalf("the router routes %s via %v, want %v throughout", f.bgp, got, w)
		}
	}
}

// oneAnswer fails unless, checked n times 200 ms apart, exactly the node
// want answers ARP for ip.
func oneAnswer(t *testing.T, l *lab.Lab, ip netip.Addr, want string, n int) {
	t.Helper()
	for range n {
		if who := answering(t, l, ip); len(who) != 1 || who[0] != want {
			t.Fatalf("%v answer ARP for %s, want only %s", who, ip, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// electionOwner is the node the election picks for ip among all nodes.
func (f *faultLab) electionOwner(ip netip.Addr) string {
	owner, _ := election.Owner(ip, f.nodes)
	return owner
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// keyChange replaces the memberlist key in one edit (the rollover's check,
// keyChangeKeepsMembers) while the clients probe: no member is declared
// dead and no probe is lost.
func (f *faultLab) keyChange(t *testing.T) {
	owner := waitOwner(t, f.l, f.l2, 20*time.Second)
	pr := f.probe(t)
	began := time.Now()
	keyChangeKeepsMembers(t, f.l, f.p)
	run := pr.stop()
	t.Log(run.line("memberlist key replaced in one edit", began, time.Time{}, ""))
	a, b := lab.Summarize(run.l2), lab.Summarize(run.bgp)
	if a.Failures+b.Failures > 0 || a.Answers[owner] != a.Samples {
		t.Errorf("lost %d (L2) and %d (BGP) probes, L2 answers %v: want every probe answered by %s", a.Failures, b.Failures, a.Answers, owner)
	}
	f.stableHops(t, time.Second, f.nodes...)
}
