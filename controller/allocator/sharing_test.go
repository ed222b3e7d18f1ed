package allocator

import (
	"fmt"
	"testing"

	"github.com/pylonlb/pylon/config"
)

func TestSharing(t *testing.T) {
	web := svc("ns/web", sharing("k"), ports("TCP/80"))
	dns := svc("ns/dns", sharing("k"), ports("UDP/53"))
	ssh := svc("ns/ssh", sharing("k"), ports("TCP/22"))
	pools := []*config.Pool{pool("a", "10.0.0.0/30")}
	runScenarios(t, []scenario{{
		name:  "same key, different ports: shared",
		pools: pools,
		steps: []step{
			{"web gets the lowest", alloc(web, IPv4, ""), "10.0.0.0 a"},
			{"dns joins it", alloc(dns, IPv4, ""), "10.0.0.0 a"},
			{"ssh asks for it by name", assign(ssh, "10.0.0.0"), "10.0.0.0 a"},
			{"web2, same key, same port, takes a higher address by name", assign(svc("ns/web2", sharing("k"), ports("TCP/80")), "10.0.0.2"), "10.0.0.2 a"},
			{"a newcomer that fits both joins the lower", alloc(svc("ns/ntp", sharing("k"), ports("UDP/123")), IPv4, ""), "10.0.0.0 a"},
			{"a shared address counts once", counts("a"), "v4 4/2/2 v6 0/0/0"},
			{"web leaves", release("ns/web"), "ok"},
			{"still held by the others", poolOf("10.0.0.0"), "a"},
			{"a newcomer without a key may not have it", assign(svc("ns/x"), "10.0.0.0"), "ErrInUse"},
			{"dns, ssh and ntp leave", func(a *Allocator) string {
				a.Release("ns/dns")
				a.Release("ns/ssh")
				a.Release("ns/ntp")
				return "ok"
			}, "ok"},
			{"free again", assign(svc("ns/x"), "10.0.0.0"), "10.0.0.0 a"},
		},
	}, {
		name:  "each clause refuses",
		pools: pools,
		steps: []step{
			{"web takes the lowest", assign(web, "10.0.0.0"), "10.0.0.0 a"},
			{"no key: refused", assign(svc("ns/nokey", ports("UDP/53")), "10.0.0.0"), "ErrInUse"},
			{"another key: refused", assign(svc("ns/other", sharing("other"), ports("UDP/53")), "10.0.0.0"), "ErrInUse"},
			{"same port: refused", assign(svc("ns/web2", sharing("k"), ports("UDP/53", "TCP/80")), "10.0.0.0"), "ErrInUse"},
			{"same number, other protocol: shared", assign(svc("ns/quic", sharing("k"), ports("UDP/80")), "10.0.0.0"), "10.0.0.0 a"},
			{"Local next to Cluster: refused", assign(svc("ns/loc", sharing("k"), ports("TCP/443"), local("app=web")), "10.0.0.0"), "ErrInUse"},
			{"a holder without a key refuses everyone", assign(svc("ns/solo"), "10.0.0.1"), "10.0.0.1 a"},
			{"even with a key", assign(svc("ns/k", sharing("k"), ports("TCP/1")), "10.0.0.1"), "ErrInUse"},
			{"Allocate with the key joins the lowest compatible", alloc(svc("ns/k", sharing("k"), ports("TCP/1")), IPv4, ""), "10.0.0.0 a"},
			{"Allocate with a clashing port gets a free one", alloc(svc("ns/k2", sharing("k"), ports("TCP/80")), IPv4, ""), "10.0.0.2 a"},
			{"the next clash joins the lowest compatible", alloc(svc("ns/k3", sharing("k"), ports("UDP/80")), IPv4, ""), "10.0.0.2 a"},
		},
	}, {
		name:  "Local services share only with equal selectors",
		pools: pools,
		steps: []step{
			{"l1 is Local", alloc(svc("ns/l1", sharing("k"), ports("TCP/80"), local("app=web")), IPv4, ""), "10.0.0.0 a"},
			{"l2, same selector: shared", alloc(svc("ns/l2", sharing("k"), ports("TCP/443"), local("app=web")), IPv4, ""), "10.0.0.0 a"},
			{"l3, other selector: refused", assign(svc("ns/l3", sharing("k"), ports("TCP/8080"), local("app=api")), "10.0.0.0"), "ErrInUse"},
			{"l3 allocates: gets its own", alloc(svc("ns/l3", sharing("k"), ports("TCP/8080"), local("app=api")), IPv4, ""), "10.0.0.1 a"},
			{"a Cluster one with the key: not with the Local ones", alloc(svc("ns/c", sharing("k"), ports("TCP/9")), IPv4, ""), "10.0.0.2 a"},
			{"l4 like l3 joins l3", alloc(svc("ns/l4", sharing("k"), ports("TCP/9"), local("app=api")), IPv4, ""), "10.0.0.1 a"},
		},
	}, {
		name:  "a Service that changes is checked again",
		pools: pools,
		steps: []step{
			{"web", alloc(web, IPv4, ""), "10.0.0.0 a"},
			{"dns joins", alloc(dns, IPv4, ""), "10.0.0.0 a"},
			{"dns now also serves TCP/80: its hold is refused", assign(svc("ns/dns", sharing("k"), ports("UDP/53", "TCP/80")), "10.0.0.0"), "ErrInUse"},
			{"Allocate says the same", alloc(svc("ns/dns", sharing("k"), ports("UDP/53", "TCP/80")), IPv4, ""), "ErrInUse"},
			{"the hold is left for the caller to release", ips("ns/dns"), "10.0.0.0"},
			{"dns changes its port the other way: fine", assign(svc("ns/dns", sharing("k"), ports("UDP/5353")), "10.0.0.0"), "10.0.0.0 a"},
			{"the new port is what counts now", assign(svc("ns/mdns", sharing("k"), ports("UDP/5353")), "10.0.0.0"), "ErrInUse"},
			{"UDP/53 is free at the address again", assign(svc("ns/dns2", sharing("k"), ports("UDP/53")), "10.0.0.0"), "10.0.0.0 a"},
		},
	}, {
		name:  "a lone holder may change its key",
		pools: pools,
		steps: []step{
			{"web", alloc(web, IPv4, ""), "10.0.0.0 a"},
			{"web switches to key k2", alloc(svc("ns/web", sharing("k2")), IPv4, ""), "10.0.0.0 a"},
			{"a k Service does not join it", alloc(dns, IPv4, ""), "10.0.0.1 a"},
			{"a k2 Service does", alloc(svc("ns/x", sharing("k2"), ports("TCP/1")), IPv4, ""), "10.0.0.0 a"},
		},
	}, {
		name:  "sharing stays within eligible pools and the family",
		pools: []*config.Pool{pool("a", "10.0.0.0/31", "2001:db8::/127"), pool("b", "10.0.1.0/31", noAuto)},
		steps: []step{
			{"web in b by name", alloc(web, IPv4, "b"), "10.0.1.0 b"},
			{"dns without a pool: b is not eligible", alloc(dns, IPv4, ""), "10.0.0.0 a"},
			{"ssh by name in b joins web", alloc(ssh, IPv4, "b"), "10.0.1.0 b"},
			{"ssh in IPv6 does not join an IPv4 address", alloc(ssh, IPv6, ""), "2001:db8:: a"},
		},
	}})
}

// TestSharingRecheck: when a co-holder changes (ports, protocol, key,
// traffic policy, selector) Recheck refuses the one that changed and leaves
// the others' holds alone, whatever the order the holders are rechecked in.
func TestSharingRecheck(t *testing.T) {
	web := svc("ns/web", sharing("k"), ports("TCP/80"))
	dns := svc("ns/dns", sharing("k"), ports("UDP/53"))
	pools := []*config.Pool{pool("a", "10.0.0.0/30")}
	shared := []step{
		{"web", alloc(web, IPv4, ""), "10.0.0.0 a"},
		{"dns joins", alloc(dns, IPv4, ""), "10.0.0.0 a"},
	}
	runScenarios(t, []scenario{{
		name:  "port clash: the changed one is refused, the unchanged one keeps it",
		pools: pools,
		steps: append(shared[:2:2],
			step{"web, unchanged, rechecked first: kept", recheck(web, "10.0.0.0"), "ok"},
			step{"dns now serves TCP/80 too: refused", recheck(svc("ns/dns", sharing("k"), ports("UDP/53", "TCP/80")), "10.0.0.0"), "ErrInUse"},
			step{"web rechecked after: still kept", recheck(web, "10.0.0.0"), "ok"},
			step{"the caller releases dns", releaseIP("ns/dns", "10.0.0.0"), "ok"},
			step{"dns, as it is now, gets its own", alloc(svc("ns/dns", sharing("k"), ports("UDP/53", "TCP/80")), IPv4, ""), "10.0.0.1 a"},
			step{"web keeps the first", ips("ns/web"), "10.0.0.0"},
		),
	}, {
		name:  "protocol change: UDP/80 next to TCP/80 becomes TCP/80",
		pools: pools,
		steps: []step{
			{"web", alloc(web, IPv4, ""), "10.0.0.0 a"},
			{"quic on UDP/80 joins", alloc(svc("ns/quic", sharing("k"), ports("UDP/80")), IPv4, ""), "10.0.0.0 a"},
			{"quic switches to TCP/80: refused", recheck(svc("ns/quic", sharing("k"), ports("TCP/80")), "10.0.0.0"), "ErrInUse"},
			{"web is fine", recheck(web, "10.0.0.0"), "ok"},
		},
	}, {
		name:  "key change: the changed one is refused, whichever is older",
		pools: pools,
		steps: append(shared[:2:2],
			step{"web (the older) switches to key k2: refused", recheck(svc("ns/web", sharing("k2")), "10.0.0.0"), "ErrInUse"},
			step{"dns, unchanged, is kept", recheck(dns, "10.0.0.0"), "ok"},
			step{"web drops its key: refused", recheck(svc("ns/web"), "10.0.0.0"), "ErrInUse"},
		),
	}, {
		name:  "traffic policy and selector changes",
		pools: pools,
		steps: []step{
			{"l1 Local app=web", alloc(svc("ns/l1", sharing("k"), ports("TCP/80"), local("app=web")), IPv4, ""), "10.0.0.0 a"},
			{"l2 Local app=web joins", alloc(svc("ns/l2", sharing("k"), ports("TCP/443"), local("app=web")), IPv4, ""), "10.0.0.0 a"},
			{"l2's selector changes: refused", recheck(svc("ns/l2", sharing("k"), ports("TCP/443"), local("app=api")), "10.0.0.0"), "ErrInUse"},
			{"l2 turns Cluster: refused", recheck(svc("ns/l2", sharing("k"), ports("TCP/443")), "10.0.0.0"), "ErrInUse"},
			{"l1 is kept", recheck(svc("ns/l1", sharing("k"), ports("TCP/80"), local("app=web")), "10.0.0.0"), "ok"},
			{"l2 changes a port only: kept, and recorded", recheck(svc("ns/l2", sharing("k"), ports("TCP/8443"), local("app=web")), "10.0.0.0"), "ok"},
			{"TCP/443 is free at the address now", assign(svc("ns/l3", sharing("k"), ports("TCP/443"), local("app=web")), "10.0.0.0"), "10.0.0.0 a"},
		},
	}, {
		name:  "Recheck of an address the Service does not hold does nothing",
		pools: pools,
		steps: []step{
			{"web", alloc(web, IPv4, ""), "10.0.0.0 a"},
			{"dns does not hold it", recheck(svc("ns/dns", sharing("k"), ports("TCP/80")), "10.0.0.0"), "ok"},
			{"nothing changed", ips("ns/dns"), ""},
		},
	}})
}

// TestSharingTenants: a sharing key is private to its namespace unless the
// address's pool allows sharing across namespaces; holds already in place
// (restored, or from before the pool turned it off) are kept.
func TestSharingTenants(t *testing.T) {
	a1 := svc("team-a/web", sharing("k"), ports("TCP/80"))
	b1 := svc("team-b/dns", sharing("k"), ports("UDP/53"))
	a2 := svc("team-a/dns", sharing("k"), ports("UDP/53"))
	private := pool("p", "10.0.0.0/30")
	open := pool("o", "10.0.1.0/30", acrossNS)
	runScenarios(t, []scenario{{
		name:  "private by default",
		pools: []*config.Pool{private},
		steps: []step{
			{"team-a/web", alloc(a1, IPv4, ""), "10.0.0.0 p"},
			{"team-b asks for it by name with the key: refused", assign(b1, "10.0.0.0"), "ErrInUse"},
			{"team-b allocates: does not join, gets its own", alloc(b1, IPv4, ""), "10.0.0.1 p"},
			{"team-a/dns joins its namespace's address", alloc(a2, IPv4, ""), "10.0.0.0 p"},
			{"a team-b newcomer joins team-b's, not team-a's", alloc(svc("team-b/ntp", sharing("k"), ports("UDP/123")), IPv4, ""), "10.0.0.1 p"},
		},
	}, {
		name:  "the pool opts in",
		pools: []*config.Pool{open},
		steps: []step{
			{"team-a/web", alloc(a1, IPv4, ""), "10.0.1.0 o"},
			{"team-b asks for it by name: shared", assign(b1, "10.0.1.0"), "10.0.1.0 o"},
			{"a team-b newcomer joins it too", alloc(svc("team-b/ntp", sharing("k"), ports("UDP/123")), IPv4, ""), "10.0.1.0 o"},
			{"ports still count across namespaces", assign(svc("team-b/web", sharing("k"), ports("TCP/80")), "10.0.1.0"), "ErrInUse"},
		},
	}, {
		name:  "opting out keeps existing sharing, refuses new joins",
		pools: []*config.Pool{open},
		steps: []step{
			{"team-a/web", alloc(a1, IPv4, ""), "10.0.1.0 o"},
			{"team-b joins", alloc(b1, IPv4, ""), "10.0.1.0 o"},
			{"the pool turns the opt-in off", setPools(pool("o", "10.0.1.0/30")), "ok"},
			{"team-b is kept on recheck", recheck(b1, "10.0.1.0"), "ok"},
			{"even after a port change", recheck(svc("team-b/dns", sharing("k"), ports("UDP/5353")), "10.0.1.0"), "ok"},
			{"a new team-b Service may not join", assign(svc("team-b/ntp", sharing("k"), ports("UDP/123")), "10.0.1.0"), "ErrInUse"},
			{"nor find it by allocating", alloc(svc("team-b/ntp", sharing("k"), ports("UDP/123")), IPv4, ""), "10.0.1.1 o"},
		},
	}, {
		name:  "restore keeps sharing that predates the rule, oldest first",
		pools: []*config.Pool{private},
		steps: []step{
			{"team-a/web from its status", restore(a1, "10.0.0.0"), "10.0.0.0 p"},
			{"team-b/dns from its status: kept", restore(b1, "10.0.0.0"), "10.0.0.0 p"},
			{"a port clash is still refused on restore", restore(svc("team-b/web", sharing("k"), ports("TCP/80")), "10.0.0.0"), "ErrInUse"},
			{"a new team-b Service may not join", assign(svc("team-b/ntp", sharing("k"), ports("UDP/123")), "10.0.0.0"), "ErrInUse"},
			{"both holders listed, oldest first", func(a *Allocator) string { return fmt.Sprint(a.Holders(addr("10.0.0.0"))) }, "[team-a/web team-b/dns]"},
		},
	}})
}

// TestSharedAcrossNamespaces: the newer holders of an address shared across
// namespaces that its pool no longer allows are named; the oldest is not.
func TestSharedAcrossNamespaces(t *testing.T) {
	a1 := svc("team-a/web", sharing("k"), ports("TCP/80"))
	b1 := svc("team-b/dns", sharing("k"), ports("UDP/53"))
	a2 := svc("team-a/ntp", sharing("k"), ports("UDP/123"))
	across := func(key, ip string) func(*Allocator) string {
		return func(a *Allocator) string { return a.SharedAcrossNamespaces(key, addr(ip)) }
	}
	runScenarios(t, []scenario{{
		name:  "opt-in on, then off",
		pools: []*config.Pool{pool("o", "10.0.1.0/30", acrossNS)},
		steps: []step{
			{"team-a/web", alloc(a1, IPv4, ""), "10.0.1.0 o"},
			{"team-a/ntp", alloc(a2, IPv4, ""), "10.0.1.0 o"},
			{"team-b/dns", alloc(b1, IPv4, ""), "10.0.1.0 o"},
			{"allowed: nothing to say", across("team-b/dns", "10.0.1.0"), ""},
			{"the pool turns it off", setPools(pool("o", "10.0.1.0/30")), "ok"},
			{"the oldest is not named", across("team-a/web", "10.0.1.0"), ""},
			{"nor one of the oldest's namespace", across("team-a/ntp", "10.0.1.0"), ""},
			{"the newer of another namespace is", across("team-b/dns", "10.0.1.0"),
				`10.0.1.0 is shared with team-a/web, but the sharing key "k" is private to namespace "team-a": IPPool "o" does not allow sharing across namespaces (spec.allocation.allowSharingAcrossNamespaces)`},
			{"an address it does not hold", across("team-b/dns", "10.0.1.1"), ""},
		},
	}})
}
