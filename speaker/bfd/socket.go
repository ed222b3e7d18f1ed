package bfd

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// ttlMax is the TTL / Hop Limit sent, and required on single-hop reception
// (RFC 5881 §5).
const ttlMax = 255

// tosNetworkControl is DSCP CS6 (network control), as routers send BFD.
const tosNetworkControl = 0xc0

// listenKey identifies a listening socket: the local address (with its zone
// for a link-local one), the port (single hop or multihop) and the
// interface it is bound to.
type listenKey struct {
	local netip.Addr
	port  int
	iface string
}

// listener is a socket receiving the Control packets of the sessions with
// its local address and port, with the TTL / Hop Limit of each.
type listener struct {
	key  listenKey
	conn net.PacketConn
	p4   *ipv4.PacketConn
	p6   *ipv6.PacketConn
	refs int
}

// localAddr is the session's local address with a zone where one is needed.
func localAddr(c Config) netip.Addr {
	if c.Local.Is6() && c.Local.IsLinkLocalUnicast() && c.Local.Zone() == "" {
		return c.Local.WithZone(c.Interface)
	}
	return c.Local
}

func network(a netip.Addr) string {
	if a.Is4() {
		return "udp4"
	}
	return "udp6"
}

// listenerLocked returns the listener for the session, opening it if it is
// the first of its key. Called with s.mu held.
func (s *Sessions) listenerLocked(c Config) (*listener, error) {
	k := listenKey{local: localAddr(c), port: PortSingleHop, iface: c.Interface}
	if c.Multihop {
		k.port = PortMultihop
	}
	if l := s.listeners[k]; l != nil {
		l.refs++
		return l, nil
	}
	lc := net.ListenConfig{Control: bindToDevice(c.Interface)}
	conn, err := lc.ListenPacket(context.Background(), network(k.local), netip.AddrPortFrom(k.local, uint16(k.port)).String())
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	l := &listener{key: k, conn: conn, refs: 1}
	if k.local.Is4() {
		l.p4 = ipv4.NewPacketConn(conn)
		err = l.p4.SetControlMessage(ipv4.FlagTTL, true)
	} else {
		l.p6 = ipv6.NewPacketConn(conn)
		err = l.p6.SetControlMessage(ipv6.FlagHopLimit, true)
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("receive TTL: %w", err)
	}
	s.listeners[k] = l
	s.readers.Add(1)
	go s.read(l)
	return l, nil
}

// releaseLocked drops a session's reference; the last one closes the
// socket, which ends its reader. Called with s.mu held.
func (s *Sessions) releaseLocked(l *listener) {
	l.refs--
	if l.refs == 0 {
		delete(s.listeners, l.key)
		_ = l.conn.Close()
	}
}

// readFrom returns one datagram, its source and its TTL / Hop Limit (-1 if
// the kernel did not say).
func (l *listener) readFrom(buf []byte) (int, netip.Addr, int, error) {
	var (
		n   int
		src net.Addr
		err error
		ttl = -1
	)
	if l.p4 != nil {
		var cm *ipv4.ControlMessage
		n, cm, src, err = l.p4.ReadFrom(buf)
		if cm != nil {
			ttl = cm.TTL
		}
	} else {
		var cm *ipv6.ControlMessage
		n, cm, src, err = l.p6.ReadFrom(buf)
		if cm != nil {
			ttl = cm.HopLimit
		}
	}
	if err != nil {
		return 0, netip.Addr{}, 0, err
	}
	ua, ok := src.(*net.UDPAddr)
	if !ok {
		return 0, netip.Addr{}, 0, fmt.Errorf("source %v is not UDP", src)
	}
	return n, ua.AddrPort().Addr().Unmap(), ttl, nil
}

// read receives until the socket is closed: each packet is checked
// (RFC 5880 §6.8.6, RFC 5881 §5) and handed to its session.
func (s *Sessions) read(l *listener) {
	defer s.readers.Done()
	multihop := l.key.port == PortMultihop
	buf := make([]byte, 1500)
	for {
		n, src, ttl, err := l.readFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			s.log.V(1).Info("bfd receive failed", "local", l.key.local, "error", err.Error())
			continue
		}
		p, err := parse(buf[:n])
		if err == nil && !multihop && ttl != ttlMax {
			err = fmt.Errorf("TTL %d, want %d (single hop)", ttl, ttlMax)
		}
		if err != nil {
			if sess := s.byAddress(src, l.key.local, multihop); sess != nil {
				sess.drop()
			}
			s.log.V(1).Info("bfd packet dropped", "from", src, "local", l.key.local, "reason", err.Error())
			continue
		}
		sess := s.lookup(p.YourDiscr, src, l.key.local, multihop)
		if sess == nil {
			s.log.V(1).Info("bfd packet for no session", "from", src, "local", l.key.local, "yourDiscriminator", p.YourDiscr)
			continue
		}
		sess.receive(p)
	}
}

// dialSession opens the session's sending socket: bound to the local
// address and a source port in 49152–65535 (RFC 5881 §4), TTL / Hop Limit
// 255, DSCP CS6.
func dialSession(c Config) (*net.UDPConn, error) {
	local := localAddr(c)
	lc := net.ListenConfig{Control: bindToDevice(c.Interface)}
	var lastErr error
	for range 32 {
		port := uint16(49152 + rand.IntN(16384))
		pc, err := lc.ListenPacket(context.Background(), network(local), netip.AddrPortFrom(local, port).String())
		if errors.Is(err, syscall.EADDRINUSE) {
			lastErr = err
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("source socket: %w", err)
		}
		conn := pc.(*net.UDPConn)
		if local.Is4() {
			c4 := ipv4.NewConn(conn)
			err = errors.Join(c4.SetTTL(ttlMax), c4.SetTOS(tosNetworkControl))
		} else {
			c6 := ipv6.NewConn(conn)
			err = errors.Join(c6.SetHopLimit(ttlMax), c6.SetTrafficClass(tosNetworkControl))
		}
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("source socket TTL: %w", err)
		}
		return conn, nil
	}
	return nil, fmt.Errorf("no free source port in 49152-65535: %w", lastErr)
}
