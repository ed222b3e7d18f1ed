package bgp

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLatencyFRR measures, against the lab's FRR, how long a path takes from
// SetPaths to a route in the router's kernel table (what forwards traffic:
// FRR's bgpd, then zebra, then netlink), and back out on withdrawal. It
// watches `ip monitor route` in the router namespace, so the figure holds no
// vtysh polling. It fails only if a route never arrives; the figures are
// logged (docs/benchmarks.md).
func TestLatencyFRR(t *testing.T) { latency(t, routerFRR) }

// TestLatencyBIRD is TestLatencyFRR against BIRD 2 (its kernel protocol
// installs the routes, proto bird).
func TestLatencyBIRD(t *testing.T) { latency(t, routerBIRD) }

func latency(t *testing.T, kind string) {
	if lab := childLab(t); lab != nil {
		t.Run("Measure", func(t *testing.T) { measureLatency(t, lab) })
		return
	}
	lab := newLab(t, kind)
	t.Run("Measure", func(t *testing.T) { inLab(t, lab, "TestLatency"+kind, "Measure") })
}

// routeWatch records when each prefix appears in and leaves the router's
// kernel table.
type routeWatch struct {
	mu      sync.Mutex
	added   map[string]time.Time
	deleted map[string]time.Time
}

func watchRoutes(t *testing.T, routerNS, proto string) *routeWatch {
	t.Helper()
	w := &routeWatch{added: map[string]time.Time{}, deleted: map[string]time.Time{}}
	cmd := exec.Command("ip", "netns", "exec", routerNS, "ip", "monitor", "route")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		<-done
	})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			now := time.Now()
			f := strings.Fields(sc.Text())
			deleted := len(f) > 0 && f[0] == "Deleted"
			if deleted {
				f = f[1:]
			}
			if len(f) == 0 || !strings.Contains(sc.Text(), "proto "+proto) {
				continue
			}
			prefix := f[0]
			if !strings.Contains(prefix, "/") {
				if a, err := netip.ParseAddr(prefix); err == nil {
					prefix = netip.PrefixFrom(a, a.BitLen()).String()
				}
			}
			w.mu.Lock()
			if deleted {
				w.deleted[prefix] = now
			} else {
				w.added[prefix] = now
			}
			w.mu.Unlock()
		}
	}()
	time.Sleep(200 * time.Millisecond) // let the monitor subscribe
	return w
}

// wait returns when every prefix has an entry in the chosen map, and the
// latest of those times.
func (w *routeWatch) wait(t *testing.T, added bool, prefixes []netip.Prefix, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		w.mu.Lock()
		m := w.deleted
		if added {
			m = w.added
		}
		var last time.Time
		missing := 0
		for _, p := range prefixes {
			at, ok := m[p.String()]
			if !ok {
				missing++
			}
			if at.After(last) {
				last = at
			}
		}
		w.mu.Unlock()
		if missing == 0 {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d routes not seen (added=%v) within %v", missing, len(prefixes), added, within)
		}
		time.Sleep(time.Millisecond)
	}
}

func measureLatency(t *testing.T, lab *labInfo) {
	ctx := context.Background()
	r := lab.router(t)
	s := newSpeaker(t, nodeEBGP)
	if err := s.SetPeers(ctx, []Peer{ebgpPeer()}); err != nil {
		t.Fatal(err)
	}
	up := established(t, r, s, "router", nodeEBGP)
	w := watchRoutes(t, lab.Router, r.proto())

	// One path at a time, the way Services come and go.
	const n = 40
	var paths []Path
	var add, del []time.Duration
	for i := range n {
		p := Path{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(100 + i)}), 32)}
		paths = append(paths, p)
		start := time.Now()
		if err := s.SetPaths(ctx, paths); err != nil {
			t.Fatal(err)
		}
		add = append(add, w.wait(t, true, []netip.Prefix{p.Prefix}, 5*time.Second).Sub(start))
	}
	for len(paths) > 0 {
		p := paths[len(paths)-1]
		paths = paths[:len(paths)-1]
		start := time.Now()
		if err := s.SetPaths(ctx, paths); err != nil {
			t.Fatal(err)
		}
		del = append(del, w.wait(t, false, []netip.Prefix{p.Prefix}, 5*time.Second).Sub(start))
	}

	// A burst: 250 paths in one SetPaths.
	var burst []netip.Prefix
	for i := 1; i <= 250; i++ {
		p := Path{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), 32)}
		paths = append(paths, p)
		burst = append(burst, p.Prefix)
	}
	start := time.Now()
	if err := s.SetPaths(ctx, paths); err != nil {
		t.Fatal(err)
	}
	applied := time.Since(start)
	burstAdd := w.wait(t, true, burst, 20*time.Second).Sub(start)
	start = time.Now()
	if err := s.SetPaths(ctx, nil); err != nil {
		t.Fatal(err)
	}
	burstDel := w.wait(t, false, burst, 20*time.Second).Sub(start)

	t.Logf("FIGURE %s AddPeer -> Established (%s and Sessions agree): %v", r.kind, r.kind, up.Round(time.Millisecond))
	t.Logf("FIGURE %s SetPaths(+1 path) -> route in router kernel, %d samples: %s", r.kind, n, summary(add))
	t.Logf("FIGURE %s SetPaths(-1 path) -> route gone from router kernel, %d samples: %s", r.kind, n, summary(del))
	t.Logf("FIGURE %s 250 paths in one SetPaths: call returned in %v, all 250 in router kernel after %v, all gone %v after SetPaths(nil)",
		r.kind, applied.Round(time.Millisecond), burstAdd.Round(time.Millisecond), burstDel.Round(time.Millisecond))
	measureDualStackLatency(t, lab, s, w)
}

// summary writes p50, p90, p99 and max (nearest rank below: with 40
// samples p99 is the 39th, the one below the max).
func summary(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(f float64) time.Duration { return s[int(f*float64(len(s)-1))].Round(100 * time.Microsecond) }
	return fmt.Sprintf("min %v, p50 %v, p90 %v, p99 %v, max %v", s[0].Round(100*time.Microsecond), q(0.5), q(0.9), q(0.99), s[len(s)-1].Round(100*time.Microsecond))
}
