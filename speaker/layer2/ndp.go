package layer2

import (
	"errors"
	"net"
	"net/netip"

	"github.com/mdlayher/ndp"
)

// readNDP answers neighbour solicitations for owned addresses and watches
// for other MACs advertising them, until the socket closes.
func (l *link) readNDP(c *ndpConn) {
	defer l.wg.Done()
	b := make([]byte, max(l.ifi.MTU, 1280))
	for {
		m, src, hops, err := c.read(b)
		if err != nil {
			if l.ctx.Err() != nil {
				return
			}
			var op *net.OpError
			if errors.As(err, &op) {
				l.fail(err)
				return
			}
			continue // a malformed message
		}
		// RFC 4861 7.1: neighbour discovery from off the link is void.
		if hops != ndp.HopLimit {
			continue
		}
		switch m := m.(type) {
		case *ndp.NeighborSolicitation:
			l.handleNS(c, m, src)
		case *ndp.NeighborAdvertisement:
			l.handleNA(m)
		}
	}
}

func (l *link) handleNS(c *ndpConn, m *ndp.NeighborSolicitation, src netip.Addr) {
	if !l.owns(m.TargetAddress) {
		return
	}
	st := &l.a.stats.ndp
	st.requests.Add(1)
	na := &ndp.NeighborAdvertisement{
		Solicited:     true,
		Override:      true,
		TargetAddress: m.TargetAddress,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: l.mac}},
	}
	dst := src
	if src.IsUnspecified() {
		// Duplicate address detection by someone else: RFC 4861 7.2.4
		// says answer all nodes, unsolicited.
		na.Solicited, dst = false, netip.IPv6LinkLocalAllNodes()
	}
	err := c.write(na, dst)
	l.sends.result(l, st, "neighbour advertisement", m.TargetAddress, err)
	if err != nil {
		return
	}
	st.replies.Add(1)
}

func (l *link) handleNA(m *ndp.NeighborAdvertisement) {
	if !l.owns(m.TargetAddress) {
		return
	}
	var mac net.HardwareAddr
	for _, o := range m.Options {
		if lla, ok := o.(*ndp.LinkLayerAddress); ok && lla.Direction == ndp.Target {
			mac = lla.Addr
		}
	}
	if mac == nil || l.a.ownMAC(mac) {
		return
	}
	kind := ConflictAnnouncement
	if m.Solicited {
		kind = ConflictReply
	}
	l.a.conflict(Conflict{IP: m.TargetAddress, Interface: l.name, Protocol: NDP, Kind: kind, MAC: mac})
}

// unsolicitedNA advertises ip to all nodes with the override flag, so
// neighbours that cached another MAC for it switch; mu is held.
func (l *link) unsolicitedNA(ip netip.Addr) error {
	na := &ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: ip,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: l.mac}},
	}
	if err := l.ndp.write(na, netip.IPv6LinkLocalAllNodes()); err != nil {
		return err
	}
	l.a.stats.ndp.gratuitous.Add(1)
	return nil
}

// probeNDP solicits ip on its solicited-node group: whoever else answers for
// it replies to this node's link-local address; mu is held.
func (l *link) probeNDP(ip netip.Addr) {
	group, err := ndp.SolicitedNodeMulticast(ip)
	if err == nil {
		ns := &ndp.NeighborSolicitation{
			TargetAddress: ip,
			Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: l.mac}},
		}
		err = l.ndp.write(ns, group)
	}
	l.sends.result(l, &l.a.stats.ndp, "neighbour solicitation probe", ip, err)
	if err != nil {
		return
	}
	l.a.stats.ndp.probes.Add(1)
}
