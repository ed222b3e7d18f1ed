package deploy

import (
	"net"
	"net/netip"
	"sync"

	"github.com/pylonlb/pylon/memberlistkey"
	"github.com/pylonlb/pylon/speaker/layer2"
	"github.com/pylonlb/pylon/speaker/membership"
)

// fakeAnnouncer records what the speaker would answer ARP/NDP for: this
// test is about API rights, not packets.
type fakeAnnouncer struct {
	mu    sync.Mutex
	owned map[netip.Addr][]string
}

func (a *fakeAnnouncer) SetOwned(m map[netip.Addr][]string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.owned = m
	return nil
}

func (a *fakeAnnouncer) Owned() map[netip.Addr][]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.owned
}

func (a *fakeAnnouncer) Reannounce(netip.Addr) bool { return false }
func (a *fakeAnnouncer) Stats() layer2.Stats        { return layer2.Stats{} }

// fakeMembers is a memberlist of one: this node, alive.
type fakeMembers struct{ node, addr string }

func (m fakeMembers) Address() string { return m.addr }
func (m fakeMembers) Live() []string  { return []string{m.node} }
func (m fakeMembers) Members() []membership.Member {
	return []membership.Member{{Name: m.node, Address: m.addr, State: membership.Alive}}
}
func (m fakeMembers) Join([]string) (int, error)       { return 0, nil }
func (m fakeMembers) SetKeys(memberlistkey.Keys) error { return nil }

// oneLink is a node with one Ethernet interface on prefix.
func oneLink(prefix netip.Prefix) func() ([]layer2.Link, error) {
	return func() ([]layer2.Link, error) {
		return []layer2.Link{{
			Name: "eth0", HardwareAddr: net.HardwareAddr{0x02, 0, 0, 0, 0, 1}, Up: true,
			Prefixes: []netip.Prefix{prefix},
		}}, nil
	}
}
