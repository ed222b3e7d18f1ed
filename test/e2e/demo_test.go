package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/demo"
	"github.com/pylonlb/pylon/test/lab"
)

// TestDemo runs `make demo`'s demo without a terminal and checks what it
// saw, so the demo, the examples it applies and the README's first
// command cannot rot.
func TestDemo(t *testing.T) {
	lab.Require(t)
	out := &lineLog{t: t}
	// As long as the other lab tests wait for each other (make test runs
	// the lab and e2e packages at once).
	sum, err := demo.Run(t.Context(), demo.Options{BinDir: t.TempDir(), LockWait: 15 * time.Minute}, out)
	out.flush()
	if err != nil {
		t.Fatalf("the demo failed: %v", err)
	}
	if len(sum.Steps) != 13 {
		t.Errorf("%d steps ran, want 13", len(sum.Steps))
	}
	for i, s := range sum.Steps {
		if !s.OK() || s.Took <= 0 || s.Took > s.Timeout {
			t.Errorf("step %d %q: %v in %v (timeout %v)", i+1, s.Name, s.Err, s.Took, s.Timeout)
		}
	}
	nodes := []string{"n1", "n2", "n3"}
	// pylonctl, run as an operator would, found pylon healthy and named
	// the node that answered ARP and the pool.
	if p := sum.Pylonctl; p.StatusExit != 0 || p.WhyOwner != sum.L2.Owner || p.WhyPool != sum.L2.Pool {
		t.Errorf("pylonctl: status exit %d, why names owner %q pool %q; want 0, %q, %q", p.StatusExit, p.WhyOwner, p.WhyPool, sum.L2.Owner, sum.L2.Pool)
	}

	l2, bgp := sum.L2, sum.BGP
	if !lab.PoolV4.Contains(l2.IP) || l2.Pool != "default" || l2.Service != "demo/web-l2" {
		t.Errorf("layer-2 Service %+v: want an address of IPPool default in %v", l2, lab.PoolV4)
	}
	// externalTrafficPolicy Local: the owner's own pod answers.
	if !slices.Contains(nodes, l2.Owner) || l2.AnsweredOn != l2.Owner || !strings.HasPrefix(l2.Answered, "web-") || l2.Client != "c1" {
		t.Errorf("layer 2: ARP owner %q, HTTP answered by pod %q on %q for %q; want one node, and a pod of web on it", l2.Owner, l2.Answered, l2.AnsweredOn, l2.Client)
	}
	if !lab.PoolV4Alt.Contains(bgp.IP) || bgp.Pool != "bgp" || bgp.IP.As4()[3] == 0 {
		t.Errorf("BGP Service %+v: want an address of IPPool bgp in %v, not .0 (avoidBuggyIPs)", bgp, lab.PoolV4Alt)
	}
	if !slices.Equal(bgp.NextHops, nodes) || !slices.Contains(nodes, bgp.AnsweredOn) || !strings.HasPrefix(bgp.Answered, "web-") || bgp.Client != "c2" {
		t.Errorf("BGP: next hops %v, remote client answered by pod %q on %q; want %v and a pod of web on one of them", bgp.NextHops, bgp.Answered, bgp.AnsweredOn, nodes)
	}
	if len(sum.Sessions) != 3 {
		t.Errorf("BGP sessions %v, want one Established from each node", sum.Sessions)
	}

	f := sum.Failover
	survivors := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == f.Owner })
	if f.Owner != l2.Owner || !slices.Contains(survivors, f.Next) {
		t.Errorf("failover %s -> %s: want the owner %s replaced by another node", f.Owner, f.Next, l2.Owner)
	}
	// A real failure: the client lost probes, for about what memberlist
	// needs to notice (docs/benchmarks.md: 0.78–1.04 s), not for ever.
	if f.Lost == 0 || f.Gap <= 0 || f.Gap > 5*time.Second {
		t.Errorf("failover: longest gap %v, %d of %d probes lost; want a gap of a few seconds at most, with probes lost", f.Gap, f.Lost, f.Probes)
	}
	if !slices.Equal(f.BGPNextHops, survivors) || f.BGPWithdrawn <= 0 || f.BGPWithdrawn > 15*time.Second {
		t.Errorf("BGP after the failure: next hops %v after %v; want %v within the 9 s hold time and some slack", f.BGPNextHops, f.BGPWithdrawn, survivors)
	}
	if sum.Helm <= 0 || sum.Ready <= 0 {
		t.Errorf("helm install %v, Ready %v later", sum.Helm, sum.Ready)
	}
	if r := sum.Return; !slices.Contains(nodes, r.Owner) || r.Restarted <= 0 || r.Rejoined < r.Restarted || r.Routed < r.Rejoined {
		t.Errorf("the node's return: %+v", r)
	}

	// Torn down: nothing of the lab is left.
	if sum.Teardown <= 0 {
		t.Errorf("teardown took %v", sum.Teardown)
	}
	if _, err := os.Stat(sum.LogDir); !os.IsNotExist(err) {
		t.Errorf("the lab's directory %s is still there: %v", sum.LogDir, err)
	}
	ns, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ns), sum.Lab+"-") {
		t.Errorf("namespaces of lab %s are left:\n%s", sum.Lab, ns)
	}
	t.Logf("figures: helm install %v, Ready %v later; layer-2 failover %s -> %s, longest gap %v (%d of %d probes lost); BGP withdrawal %v; speaker back %v; total %v (lock wait %v), teardown %v",
		sum.Helm, sum.Ready, f.Owner, f.Next, f.Gap, f.Lost, f.Probes, f.BGPWithdrawn, sum.Return.Restarted, sum.Total, sum.LockWait, sum.Teardown)
}

// lineLog writes each complete line it is given to the test's log.
type lineLog struct {
	t   *testing.T
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lineLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			// An incomplete line: keep it for the next write.
			w.buf.Reset()
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.t.Log(strings.TrimRight(line, "\n"))
	}
}

// flush logs what is left of an incomplete last line.
func (w *lineLog) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.t.Log(w.buf.String())
		w.buf.Reset()
	}
}
