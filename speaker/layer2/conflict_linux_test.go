package layer2

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"context"
	"github.com/pylonlb/pylon/test/netlab"
	"github.com/pylonlb/pylon/test/poll"
)

// conflicts collects what an Announcer reports.
type conflicts struct {
	mu  sync.Mutex
	got []Conflict
}

func (c *conflicts) add(x Conflict) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, x)
}

func (c *conflicts) list() []Conflict {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Conflict(nil), c.got...)
}

// wait returns the first conflict for ip, or false after within.
func (c *conflicts) wait(ip netip.Addr, within time.Duration) (Conflict, bool) {
	var found Conflict
	_, err := poll.Until(context.Background(), 10*time.Millisecond, within, "a conflict for "+ip.String(), func(context.Context) (bool, string, error) {
		for _, x := range c.list() {
			if x.IP == ip {
				found = x
				return true, "", nil
			}
		}
		return false, "", nil
	})
	return found, err == nil
}

// TestConflictDetected: a node's probes find a second node answering for
// its address, and a node sees a second node announce its address; a lone
// owner's own probes and answers are never reported.
func TestConflictDetected(t *testing.T) {
	lb := newLab(t, "n1", "n2")
	n1, n2 := lb.hosts["n1"], lb.hosts["n2"]
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			lb.t = t
			var seen1, seen2, seen3 conflicts
			// n2 probes every 50 ms; n1 only answers.
			prober := lb.announcer(Options{GratuitousCount: -1, ProbeInterval: 50 * time.Millisecond, OnConflict: seen2.add})
			lb.own(n2, prober, f.vip)
			time.Sleep(300 * time.Millisecond)
			if c := f.counters(prober.Stats()); c.Probes < 2 {
				t.Fatalf("a lone owner sent %d probes in 300 ms, want several", c.Probes)
			}
			if got := seen2.list(); len(got) != 0 {
				t.Fatalf("a lone owner reported conflicts: %+v", got)
			}

			answerer := lb.announcer(Options{GratuitousCount: -1, ProbeInterval: -1, OnConflict: seen1.add})
			lb.own(n1, answerer, f.vip)
			c, ok := seen2.wait(f.vip, 2*time.Second)
			if !ok {
				t.Fatalf("n2's probes found no conflict though n1 answers for %s (counters %+v)", f.vip, f.counters(prober.Stats()))
			}
			want := Conflict{IP: f.vip, Interface: "eth0", Protocol: protocolOf(f.vip), Kind: ConflictReply, MAC: n1.mac}
			if c.IP != want.IP || c.Interface != want.Interface || c.Protocol != want.Protocol || c.Kind != want.Kind || c.MAC.String() != want.MAC.String() {
				t.Fatalf("conflict = %+v, want %+v", c, want)
			}
			if got := f.counters(prober.Stats()).Conflicts; got == 0 {
				t.Errorf("conflict counter = 0 after a reported conflict")
			}
			if got := seen1.list(); len(got) != 0 {
				t.Fatalf("n1 answered probes and reported conflicts: %+v", got)
			}

			// n2 now announces itself: the silent n1 sees it.
			lb.own(n2, prober)
			announcer := lb.announcer(Options{GratuitousCount: 1, ProbeInterval: -1, OnConflict: seen3.add})
			lb.own(n2, announcer, f.vip)
			c, ok = seen1.wait(f.vip, 2*time.Second)
			if !ok || c.Kind != ConflictAnnouncement || c.MAC.String() != n2.mac.String() {
				t.Fatalf("n1 saw %+v (found: %v), want an announcement from n2's %s", c, ok, n2.mac)
			}
			if got := seen3.list(); len(got) != 0 {
				t.Fatalf("the announcing node reported conflicts: %+v", got)
			}
		})
	}
}

func protocolOf(ip netip.Addr) Protocol {
	if ip.Is4() {
		return ARP
	}
	return NDP
}

// TestConflictCallbackMayTakeCallersLock: the speaker's callback takes the
// lock its reconciler holds while calling SetOwned; SetOwned closing an
// interface must not wait for a callback that waits for that lock.
func TestConflictCallbackMayTakeCallersLock(t *testing.T) {
	lb := newLab(t, "n1", "n2")
	n1, n2 := lb.hosts["n1"], lb.hosts["n2"]
	var mu sync.Mutex
	calls := 0
	prober := lb.announcer(Options{GratuitousCount: -1, ProbeInterval: 20 * time.Millisecond, OnConflict: func(Conflict) {
		mu.Lock()
		defer mu.Unlock()
		calls++
	}})
	lb.own(n1, lb.announcer(quiet), vip4)
	lb.own(n2, prober, vip4)
	poll.Eventually(t, 10*time.Millisecond, 2*time.Second, "the prober to find a conflict", func() bool { return prober.Stats().ARP.Conflicts >= 1 })

	done := make(chan error, 1)
	go func() {
		mu.Lock() // as a reconcile does
		defer mu.Unlock()
		before := prober.Stats().ARP.Conflicts
		for prober.Stats().ARP.Conflicts < before+3 { // callbacks now wait for mu
			time.Sleep(5 * time.Millisecond)
		}
		done <- netlab.InNetns(n2.ns, func() error { return prober.SetOwned(nil) })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SetOwned, called under the lock the conflict callback takes, did not return: deadlock")
	}
	if err := prober.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls < 1 {
		t.Errorf("callback ran %d times, want at least once", calls)
	}
}
