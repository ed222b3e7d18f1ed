package speaker

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/speaker/bfd"
	"github.com/pylonlb/pylon/speaker/bgp"
)

// BFD is what the reconciler needs of speaker/bfd's Sessions: one per
// speaker process, holding a session per BGP peer with a bfd profile.
type BFD interface {
	Set([]bfd.Config) error
	Status() []bfd.Status
	Close() error
}

// bfdPort is BFD's single-hop control port (RFC 5881); only the route
// lookup of RouteSource uses it, nothing is sent there.
const bfdPort = 3784

// RouteSource returns the address the kernel picks as the source of packets
// to remote: the node's address of remote's family on the route to it, the
// one a BGP session opened without a sourceAddress starts from. It connects
// a UDP socket, which sends nothing.
func RouteSource(remote netip.Addr) (netip.Addr, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(remote, bfdPort)))
	if err != nil {
		return netip.Addr{}, err
	}
	defer func() { _ = c.Close() }()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

// BFDConfigs returns the BFD sessions of a node: one for each peer the BGP
// speaker runs (peers, as SetPeers gets them) whose BGPPeer has a bfd
// profile. Its local address is the BGP session's: the peer's
// sourceAddress, else the address source (RouteSource) says the kernel
// picks towards the router. Multihop (RFC 5883) follows ebgpMultiHop. A
// peer whose local address cannot be found gets no session, and a problem
// says why.
func BFDConfigs(cfg *config.Config, peers []bgp.Peer, source func(netip.Addr) (netip.Addr, error)) ([]bfd.Config, []string) {
	var out []bfd.Config
	var problems []string
	for _, p := range peers {
		bp := cfg.Peer(p.Name)
		if bp == nil || bp.BFD == nil {
			continue
		}
		local := p.SourceAddress
		if !local.IsValid() {
			var err error
			if local, err = source(p.Address); err != nil {
				problems = append(problems, fmt.Sprintf("BGPPeer %s: no BFD session: no local address towards %s: %v", p.Name, p.Address, err))
				continue
			}
		}
		out = append(out, bfd.Config{
			Local: local, Remote: p.Address, Multihop: p.EBGPMultiHop,
			MinTx: bp.BFD.TransmitInterval, MinRx: bp.BFD.ReceiveInterval, Multiplier: bp.BFD.DetectMultiplier, Passive: bp.BFD.Passive,
		})
	}
	return out, problems
}

// bfdPeers maps the routers' addresses of the BFD sessions to their peers'
// names, for the change callback, which runs on speaker/bfd's goroutine.
type bfdPeers struct {
	mu    sync.Mutex
	names map[netip.Addr]string
}

func (b *bfdPeers) set(peers []bgp.Peer) {
	names := make(map[netip.Addr]string, len(peers))
	for _, p := range peers {
		names[p.Address] = p.Name
	}
	b.mu.Lock()
	b.names = names
	b.mu.Unlock()
}

func (b *bfdPeers) name(addr netip.Addr) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.names[addr]
}

// resetWait bounds tearing one BGP session down after BFD declared it down.
const resetWait = 5 * time.Second

// applyBFD gives speaker/bfd the sessions of this pass's peers (none when
// BGP is off) and returns their state. r.mu is held.
func (r *Reconciler) applyBFD(cfg *config.Config, peers []bgp.Peer, st *bgpState) {
	if r.BFD == nil {
		return
	}
	var cfgs []bfd.Config
	if cfg != nil {
		var problems []string
		cfgs, problems = BFDConfigs(cfg, peers, r.routeSource())
		st.problems = append(st.problems, problems...)
	}
	r.bfdPeers.set(peers)
	if err := r.BFD.Set(cfgs); err != nil && st.err == nil {
		st.err = fmt.Errorf("BFD sessions: %w", err)
	}
	st.bfd = r.BFD.Status()
}

func (r *Reconciler) routeSource() func(netip.Addr) (netip.Addr, error) {
	if r.RouteSource != nil {
		return r.RouteSource
	}
	return RouteSource
}

// OnBFDChange is speaker/bfd's change callback. A session that goes from Up
// to Down tears its BGP session down at once (bgp.Speaker.ResetPeer), in a
// goroutine of its own, without waiting for a pass or the reconciler's
// lock: the path is dead, and the BGP session riding on it should go now
// rather than at the end of the hold time. GoBGP reconnects after its
// retry interval. Down because the router set its end AdminDown is not a
// failure (RFC 5882 section 3.2: the router switched BFD off for the
// session) and leaves BGP alone. Every change is counted and wakes a
// pass, which reports the new state.
func (r *Reconciler) OnBFDChange(c bfd.Change) {
	name := r.bfdPeers.name(c.Remote)
	if r.Metrics != nil && name != "" {
		r.Metrics.bfdTransition(name, c.To)
	}
	if c.From == bfd.Up && c.To == bfd.Down && c.RemoteState != bfd.AdminDown {
		if sp := r.liveBGP.Load(); sp != nil {
			go r.resetPeer(*sp, name, c)
		}
	}
	r.wake()
}

// resetPeer tears one BGP session down after its BFD session went down.
func (r *Reconciler) resetPeer(sp BGPSpeaker, name string, c bfd.Change) {
	ctx, cancel := context.WithTimeout(context.Background(), resetWait)
	defer cancel()
	err := sp.ResetPeer(ctx, c.Remote, "BFD session down: "+c.Diag)
	if err != nil {
		r.Log.Error(err, "tearing the BGP session down after BFD went down", "peer", name, "address", c.Remote)
		return
	}
	r.Log.Info("BFD session down: BGP session torn down", "peer", name, "address", c.Remote, "diagnostic", c.Diag)
}

// bfdStatus is the SpeakerStatus view of the BFD session with the router at
// addr; nil when there is none.
func bfdStatus(all []bfd.Status, addr netip.Addr) *v1alpha1.BFDSessionStatus {
	for _, b := range all {
		if b.Config.Remote != addr {
			continue
		}
		out := &v1alpha1.BFDSessionStatus{State: b.State.String(), Diagnostic: b.LocalDiag}
		if !b.Since.IsZero() {
			since := metav1.NewTime(b.Since.Truncate(time.Second))
			out.Since = &since
		}
		return out
	}
	return nil
}
