package layer2

import (
	"errors"
	"net"
	"net/netip"
	"syscall"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

// readARP answers ARP requests for owned addresses and watches for other
// MACs claiming them, until the socket closes.
func (l *link) readARP(c *arp.Client) {
	defer l.wg.Done()
	for {
		p, _, err := c.Read()
		if err != nil {
			if l.ctx.Err() != nil {
				return
			}
			if errors.Is(err, syscall.ENETDOWN) {
				// The link went down: the kernel says so once, and
				// hands frames to the socket again when it comes up.
				continue
			}
			var op *net.OpError
			if errors.As(err, &op) {
				l.fail(err)
				return
			}
			continue // a malformed frame
		}
		l.handleARP(c, p)
	}
}

func (l *link) handleARP(c *arp.Client, p *arp.Packet) {
	if l.a.ownMAC(p.SenderHardwareAddr) {
		return
	}
	if l.owns(p.SenderIP) {
		kind := ConflictRequest
		switch {
		case p.SenderIP == p.TargetIP:
			kind = ConflictAnnouncement
		case p.Operation == arp.OperationReply:
			kind = ConflictReply
		}
		l.a.conflict(Conflict{IP: p.SenderIP, Interface: l.name, Protocol: ARP, Kind: kind, MAC: p.SenderHardwareAddr})
		return
	}
	if p.Operation != arp.OperationRequest || !l.owns(p.TargetIP) {
		return
	}
	st := &l.a.stats.arp
	st.requests.Add(1)
	err := c.Reply(p, l.mac, p.TargetIP)
	l.sends.result(l, st, "ARP reply", p.TargetIP, err)
	if err != nil {
		return
	}
	st.replies.Add(1)
}

// gratuitousARP broadcasts a gratuitous request and reply for ip (sender
// and target address both ip); mu is held.
func (l *link) gratuitousARP(ip netip.Addr) error {
	for _, op := range []arp.Operation{arp.OperationRequest, arp.OperationReply} {
		p, err := arp.NewPacket(op, l.mac, ip, ethernet.Broadcast, ip)
		if err == nil {
			err = l.arp.WriteTo(p, ethernet.Broadcast)
		}
		if err != nil {
			return err
		}
		l.a.stats.arp.gratuitous.Add(1)
	}
	return nil
}

// probeARP broadcasts an ARP probe for ip (sender address 0.0.0.0, as in
// RFC 5227, so no neighbour learns anything from it): whoever else answers
// for ip replies to this MAC; mu is held.
func (l *link) probeARP(ip netip.Addr) {
	p, err := arp.NewPacket(arp.OperationRequest, l.mac, netip.IPv4Unspecified(), make(net.HardwareAddr, 6), ip)
	if err == nil {
		err = l.arp.WriteTo(p, ethernet.Broadcast)
	}
	l.sends.result(l, &l.a.stats.arp, "ARP probe", ip, err)
	if err != nil {
		return
	}
	l.a.stats.arp.probes.Add(1)
}

// gratuitous sends one round for ip; mu is held.
func (l *link) gratuitous(ip netip.Addr) error {
	if ip.Is4() {
		return l.gratuitousARP(ip)
	}
	return l.unsolicitedNA(ip)
}

// statsFor is the counters of ip's protocol.
func (l *link) statsFor(ip netip.Addr) *counters {
	if ip.Is4() {
		return &l.a.stats.arp
	}
	return &l.a.stats.ndp
}

// probe asks once who else answers for ip; mu is held.
func (l *link) probe(ip netip.Addr) {
	if ip.Is4() {
		l.probeARP(ip)
	} else {
		l.probeNDP(ip)
	}
}
