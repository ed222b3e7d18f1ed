package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pylonlb/pylon/test/lab"
)

// bgpPeer is a throwaway BGP speaker, just enough to open a session to the
// lab's router from a node namespace and announce IPv4 prefixes: it
// proves the router's configuration and the lab's view of it without
// depending on pylon's own BGP code.
type bgpPeer struct {
	conn net.Conn
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex // serialises writes
}

const (
	bgpOpen      = 1
	bgpUpdate    = 2
	bgpKeepalive = 4
	bgpHold      = 9 // seconds
)

// dialBGP opens a session from node n (AS asn) to the router and waits
// for it to come up.
func dialBGP(ctx context.Context, n *lab.Node, router netip.Addr, asn uint32) (*bgpPeer, error) {
	conn, err := n.DialContext(ctx, "tcp", net.JoinHostPort(router.String(), "179"))
	if err != nil {
		return nil, err
	}
	p := &bgpPeer{conn: conn, stop: make(chan struct{})}
	id := n.IPv4.As4()
	caps := []byte{
		1, 4, 0, 1, 0, 1, // multiprotocol: IPv4 unicast
		65, 4, 0, 0, 0, 0, // four-octet AS
	}
	binary.BigEndian.PutUint32(caps[8:], asn)
	open := []byte{4, 0, 0, 0, bgpHold, id[0], id[1], id[2], id[3], byte(2 + len(caps)), 2, byte(len(caps))}
	binary.BigEndian.PutUint16(open[1:], uint16(asn))
	open = append(open, caps...)
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := p.send(bgpOpen, open); err != nil {
		conn.Close()
		return nil, err
	}
	// The router's OPEN, then its KEEPALIVE once it accepted ours.
	for _, want := range []byte{bgpOpen, bgpKeepalive} {
		typ, body, err := readBGP(conn)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("waiting for message %d: %w", want, err)
		}
		if typ != want {
			conn.Close()
			return nil, fmt.Errorf("got BGP message %d (% x), want %d", typ, body, want)
		}
		if typ == bgpOpen {
			if err := p.send(bgpKeepalive, nil); err != nil {
				conn.Close()
				return nil, err
			}
		}
	}
	_ = conn.SetDeadline(time.Time{})
	p.wg.Add(2)
	go p.keepalive()
	go p.drain()
	return p, nil
}

// announce sends an UPDATE for prefixes with next hop nh, AS path [asn],
// standard communities ("64512:100") and large ones ("64512:1:2").
func (p *bgpPeer) announce(prefixes []netip.Prefix, nh netip.Addr, asn uint32, communities, large []string) error {
	var attrs []byte
	attrs = append(attrs, 0x40, 1, 1, 0) // ORIGIN IGP
	asPath := []byte{0x40, 2, 6, 2, 1, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(asPath[5:], asn)
	attrs = append(attrs, asPath...)
	a := nh.As4()
	attrs = append(attrs, 0x40, 3, 4, a[0], a[1], a[2], a[3]) // NEXT_HOP
	if len(communities) > 0 {
		var v []byte
		for _, c := range communities {
			hi, lo, err := splitCommunity(c, 2)
			if err != nil {
				return err
			}
			v = binary.BigEndian.AppendUint16(v, uint16(hi[0]))
			v = binary.BigEndian.AppendUint16(v, uint16(lo))
		}
		attrs = append(attrs, 0xc0, 8, byte(len(v)))
		attrs = append(attrs, v...)
	}
	if len(large) > 0 {
		var v []byte
		for _, c := range large {
			hi, lo, err := splitCommunity(c, 3)
			if err != nil {
				return err
			}
			v = binary.BigEndian.AppendUint32(v, hi[0])
			v = binary.BigEndian.AppendUint32(v, hi[1])
			v = binary.BigEndian.AppendUint32(v, lo)
		}
		attrs = append(attrs, 0xc0, 32, byte(len(v)))
		attrs = append(attrs, v...)
	}
	body := []byte{0, 0} // no withdrawn routes
	body = binary.BigEndian.AppendUint16(body, uint16(len(attrs)))
	body = append(body, attrs...)
	for _, pr := range prefixes {
		b := pr.Addr().As4()
		body = append(body, byte(pr.Bits()))
		body = append(body, b[:(pr.Bits()+7)/8]...)
	}
	return p.send(bgpUpdate, body)
}

// splitCommunity reads "a:b" (parts 2) or "a:b:c" (parts 3).
func splitCommunity(s string, parts int) (hi []uint32, lo uint32, err error) {
	f := strings.Split(s, ":")
	if len(f) != parts {
		return nil, 0, fmt.Errorf("community %q: want %d parts", s, parts)
	}
	var vals []uint32
	for _, x := range f {
		v, err := strconv.ParseUint(x, 10, 32)
		if err != nil {
			return nil, 0, fmt.Errorf("community %q: %w", s, err)
		}
		vals = append(vals, uint32(v))
	}
	return vals[:parts-1], vals[parts-1], nil
}

// close drops the TCP session: the router withdraws the peer's routes.
func (p *bgpPeer) close() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	p.conn.Close()
	p.wg.Wait()
}

func (p *bgpPeer) send(typ byte, body []byte) error {
	msg := make([]byte, 19, 19+len(body))
	for i := range 16 {
		msg[i] = 0xff
	}
	binary.BigEndian.PutUint16(msg[16:], uint16(19+len(body)))
	msg[18] = typ
	msg = append(msg, body...)
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := p.conn.Write(msg)
	return err
}

func (p *bgpPeer) keepalive() {
	defer p.wg.Done()
	t := time.NewTicker(bgpHold / 3 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			if p.send(bgpKeepalive, nil) != nil {
				return
			}
		}
	}
}

// drain reads and drops what the router sends (keepalives, its updates).
func (p *bgpPeer) drain() {
	defer p.wg.Done()
	for {
		if _, _, err := readBGP(p.conn); err != nil {
			return
		}
	}
}

func readBGP(r io.Reader) (byte, []byte, error) {
	hdr := make([]byte, 19)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[16:]))
	if n < 19 {
		return 0, nil, fmt.Errorf("BGP message length %d", n)
	}
	body := make([]byte, n-19)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, err
	}
	return hdr[18], body, nil
}
