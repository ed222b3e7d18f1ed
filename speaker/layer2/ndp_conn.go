package layer2

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// ndpConn is an ICMPv6 socket tied to one interface, carrying neighbour
// solicitations and advertisements (parsed and built by mdlayher/ndp).
//
// It stands in for ndp.Conn, which addresses every packet with the
// interface's name as IPv6 zone: Go turns that name into an index through a
// process-wide cache, which is wrong for a while after an interface is made
// again under the same name, and in tests that run responders in several
// network namespaces from one process. Here the socket is bound to the
// device by the kernel (SO_BINDTODEVICE, resolved in the socket's own
// namespace), and packets leave with the interface index in their control
// message and no zone at all.
//
// The kernel caps the multicast groups one socket may join (memory counted
// against net.core.optmem_max: about 2,300 groups with 6.x defaults, a few
// hundred with older ones), and every owned IPv6 address may need its own
// solicited-node group. A socket whose option memory is used up by
// memberships cannot send with a control message either (ENOBUFS). So the
// groups are joined on membership-only sockets that receive nothing (all
// ICMPv6 filtered out), as many as needed: the kernel then accepts those
// groups' packets on the interface, and the main socket, bound to the
// unspecified address, sees them all.
type ndpConn struct {
	pc  *ipv6.PacketConn
	ifi *net.Interface
	cm  *ipv6.ControlMessage
	// extra are the membership-only sockets; member says which one joined
	// each group, and joined how many groups each one holds.
	extra  []*ipv6.PacketConn
	member map[netip.Addr]*ipv6.PacketConn
	joined map[*ipv6.PacketConn]int
}

// listenNDP opens the socket on ifi, sourcing packets from its link-local
// address, with hop limit 255 (RFC 4861), without looping its own multicast
// back, and seeing solicitations and advertisements only.
func listenNDP(ifi *net.Interface) (*ndpConn, error) {
	src, err := linkLocal(ifi)
	if err != nil {
		return nil, err
	}
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeNeighborSolicitation)
	f.Accept(ipv6.ICMPTypeNeighborAdvertisement)
	pc, err := rawICMPv6(ifi, &f)
	if err != nil {
		return nil, err
	}
	for _, set := range []struct {
		what string
		err  func() error
	}{
		{"hop limit", func() error { return pc.SetHopLimit(ndp.HopLimit) }},
		{"multicast hop limit", func() error { return pc.SetMulticastHopLimit(ndp.HopLimit) }},
		{"multicast loopback", func() error { return pc.SetMulticastLoopback(false) }},
		{"checksum", func() error { return pc.SetChecksum(true, 2) }},
		{"control messages", func() error { return pc.SetControlMessage(ipv6.FlagHopLimit, true) }},
	} {
		if err := set.err(); err != nil {
			_ = pc.Close()
			return nil, fmt.Errorf("set %s: %w", set.what, err)
		}
	}
	return &ndpConn{
		pc: pc, ifi: ifi,
		cm:     &ipv6.ControlMessage{HopLimit: ndp.HopLimit, Src: src.AsSlice(), IfIndex: ifi.Index},
		member: map[netip.Addr]*ipv6.PacketConn{},
		joined: map[*ipv6.PacketConn]int{},
	}, nil
}

// rawICMPv6 opens a raw ICMPv6 socket bound to ifi that lets through what
// filter accepts.
func rawICMPv6(ifi *net.Interface, filter *ipv6.ICMPFilter) (*ipv6.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifi.Name)
			if serr == nil {
				// Advertisements go out from the address they are
				// about, which is on no interface (see write).
				serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
			}
		}); err != nil {
			return err
		}
		return serr
	}}
	conn, err := lc.ListenPacket(context.Background(), "ip6:ipv6-icmp", "::")
	if err != nil {
		return nil, err
	}
	pc := ipv6.NewPacketConn(conn)
	if err := pc.SetICMPFilter(filter); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("set ICMPv6 filter: %w", err)
	}
	return pc, nil
}

// linkLocal returns ifi's IPv6 link-local address.
func linkLocal(ifi *net.Interface) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(ipn.IP); ok && ip.Is6() && ip.IsLinkLocalUnicast() {
				return ip, nil
			}
		}
	}
	return netip.Addr{}, errors.New("no IPv6 link-local address (IPv6 off, or the address still tentative)")
}

// read returns the next message, its source and hop limit (-1 when
// unknown). Socket errors are *net.OpError; anything else is a message
// that did not parse.
func (c *ndpConn) read(b []byte) (ndp.Message, netip.Addr, int, error) {
	n, cm, src, err := c.pc.ReadFrom(b)
	if err != nil {
		return nil, netip.Addr{}, 0, err
	}
	hops := -1
	if cm != nil {
		hops = cm.HopLimit
	}
	var from netip.Addr
	if ipa, ok := src.(*net.IPAddr); ok {
		from, _ = netip.AddrFromSlice(ipa.IP)
	}
	m, err := ndp.ParseMessage(b[:n])
	return m, from, hops, err
}

// write sends m to dst out of the socket's interface. A neighbour
// advertisement goes out from its target address, as a host owning the
// address would send it (the kernel does, and tools such as ndisc6 match
// answers by it); the socket may use it as a source although no interface
// holds it (IPV6_FREEBIND). Everything else goes out from the link-local
// address.
func (c *ndpConn) write(m ndp.Message, dst netip.Addr) error {
	b, err := ndp.MarshalMessage(m)
	if err != nil {
		return err
	}
	cm := c.cm
	if na, ok := m.(*ndp.NeighborAdvertisement); ok {
		own := *c.cm
		own.Src = na.TargetAddress.AsSlice()
		cm = &own
	}
	_, err = c.pc.WriteTo(b, cm, &net.IPAddr{IP: dst.AsSlice()})
	return err
}

// joinGroup joins group on the first membership-only socket with room,
// opening another when all are full.
func (c *ndpConn) joinGroup(group netip.Addr) error {
	if c.member[group] != nil {
		return nil
	}
	g := &net.IPAddr{IP: group.AsSlice()}
	for _, pc := range c.extra {
		err := pc.JoinGroup(c.ifi, g)
		if err == nil {
			c.member[group] = pc
			c.joined[pc]++
			return nil
		}
		if !errors.Is(err, syscall.ENOMEM) && !errors.Is(err, syscall.ENOBUFS) {
			return err
		}
	}
	var none ipv6.ICMPFilter
	none.SetAll(true)
	pc, err := rawICMPv6(c.ifi, &none)
	if err != nil {
		return fmt.Errorf("open a socket for more multicast groups: %w", err)
	}
	if err := pc.JoinGroup(c.ifi, g); err != nil {
		_ = pc.Close()
		return err
	}
	c.extra = append(c.extra, pc)
	c.member[group] = pc
	c.joined[pc]++
	return nil
}

// leaveGroup leaves group, closing a membership-only socket left empty.
func (c *ndpConn) leaveGroup(group netip.Addr) error {
	pc := c.member[group]
	if pc == nil {
		return nil
	}
	delete(c.member, group)
	err := pc.LeaveGroup(c.ifi, &net.IPAddr{IP: group.AsSlice()})
	if c.joined[pc]--; c.joined[pc] == 0 {
		delete(c.joined, pc)
		c.extra = slices.DeleteFunc(c.extra, func(x *ipv6.PacketConn) bool { return x == pc })
		_ = pc.Close()
	}
	return err
}

func (c *ndpConn) close() error {
	for _, pc := range c.extra {
		_ = pc.Close()
	}
	return c.pc.Close()
}
