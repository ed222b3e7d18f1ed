package allocator

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/pylonlb/pylon/config"
)

// step is one line of a scenario: an operation, and what it should answer
// written as text ("10.0.0.1 a" for an address and its pool, the name of
// the sentinel error for a refusal, "ok" for what answers nothing).
type step struct {
	desc string
	run  func(a *Allocator) string
	want string
}

// scenario is a pool set and the steps run against it in order; after each
// step the Allocator's internal consistency is checked too.
type scenario struct {
	name  string
	pools []*config.Pool
	steps []step
}

func runScenarios(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			a := New()
			a.SetPools(sc.pools)
			for i, s := range sc.steps {
				if got := s.run(a); got != s.want {
					t.Fatalf("step %d, %s: got %q, want %q", i, s.desc, got, s.want)
				}
				if err := a.check(); err != nil {
					t.Fatalf("step %d, %s: inconsistent: %v", i, s.desc, err)
				}
			}
		})
	}
}

// result writes an operation's answer the way steps compare it.
func result(ip netip.Addr, pool string, err error) string {
	if err != nil {
		name := fmt.Sprint(sentinel(err))
		for n, s := range sentinelNames {
			if s == sentinel(err) {
				name = n
			}
		}
		return name
	}
	if !ip.IsValid() {
		return pool
	}
	return strings.TrimSpace(ip.String() + " " + pool)
}

var sentinelNames = map[string]error{
	"ErrInvalidIP": ErrInvalidIP, "ErrInvalidFamily": ErrInvalidFamily, "ErrNotInPool": ErrNotInPool,
	"ErrPoolNotFound": ErrPoolNotFound, "ErrPoolUnusable": ErrPoolUnusable, "ErrNotAllowed": ErrNotAllowed,
	"ErrBuggyIP": ErrBuggyIP, "ErrUnsafe": ErrUnsafe, "ErrInUse": ErrInUse, "ErrNoPool": ErrNoPool, "ErrPoolExhausted": ErrPoolExhausted,
}

func alloc(s Service, f Family, pool string) func(*Allocator) string {
	return func(a *Allocator) string { return result(a.Allocate(s, f, pool)) }
}

func assign(s Service, ip string) func(*Allocator) string {
	return func(a *Allocator) string {
		pool, err := a.Assign(s, addr(ip))
		return result(addr(ip), pool, err)
	}
}

func restore(s Service, ip string) func(*Allocator) string {
	return func(a *Allocator) string {
		pool, err := a.Restore(s, addr(ip))
		return result(addr(ip), pool, err)
	}
}

// recheck answers Recheck's verdict: "ok" or the sentinel.
func recheck(s Service, ip string) func(*Allocator) string {
	return func(a *Allocator) string {
		if err := a.Recheck(s, addr(ip)); err != nil {
			return result(netip.Addr{}, "", err)
		}
		return "ok"
	}
}

func release(key string) func(*Allocator) string {
	return func(a *Allocator) string { a.Release(key); return "ok" }
}

func releaseIP(key, ip string) func(*Allocator) string {
	return func(a *Allocator) string { a.ReleaseIP(key, addr(ip)); return "ok" }
}

// setUnsafe sets the unsafe blocks, each "prefix=why".
func setUnsafe(blocks ...string) func(*Allocator) string {
	return func(a *Allocator) string {
		var us []config.Unsafe
		for _, b := range blocks {
			p, why, _ := strings.Cut(b, "=")
			us = append(us, config.Unsafe{Prefix: netip.MustParsePrefix(p), Why: why})
		}
		a.SetUnsafe(us)
		return "ok"
	}
}

func setPools(pools ...*config.Pool) func(*Allocator) string {
	return func(a *Allocator) string { a.SetPools(pools); return "ok" }
}

// repool sets the pools like setPools and answers the held addresses whose
// standing changed, space-separated ("-" for none).
func repool(pools ...*config.Pool) func(*Allocator) string {
	return func(a *Allocator) string {
		var out []string
		for _, ip := range a.SetPools(pools) {
			out = append(out, ip.String())
		}
		if len(out) == 0 {
			return "-"
		}
		return strings.Join(out, " ")
	}
}

// ips answers the Service's addresses, space-separated.
func ips(key string) func(*Allocator) string {
	return func(a *Allocator) string {
		var out []string
		for _, ip := range a.IPs(key) {
			out = append(out, ip.String())
		}
		return strings.Join(out, " ")
	}
}

// poolOf answers Pool(ip), with "-" for "".
func poolOf(ip string) func(*Allocator) string {
	return func(a *Allocator) string {
		if p := a.Pool(addr(ip)); p != "" {
			return p
		}
		return "-"
	}
}

// counts answers "v4 total/allocated/available v6 total/allocated/available".
func counts(pool string) func(*Allocator) string {
	return func(a *Allocator) string {
		v4, v6 := a.Counts(pool)
		return fmt.Sprintf("v4 %v/%d/%v v6 %v/%d/%v", v4.Total, v4.Allocated, v4.Available, v6.Total, v6.Allocated, v6.Available)
	}
}

// fill allocates for n Services key-0 .. key-(n-1) and answers the last
// result.
func fill(key string, n int, f Family, pool string) func(*Allocator) string {
	return func(a *Allocator) string {
		var last string
		for i := range n {
			last = result(a.Allocate(svc(fmt.Sprintf("%s-%d", key, i)), f, pool))
		}
		return last
	}
}

// addr parses an address, or returns the zero Addr for "".
func addr(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	return netip.MustParseAddr(s)
}
