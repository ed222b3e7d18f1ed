package netlab

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// BIRDBFDProtocol is a lab router's bfd protocol, for bird.conf
// (BIRDBFDProtocol.Config): timers for the single-hop sessions on one
// interface and for the multihop ones, and the sessions BIRD starts by
// itself. A BGP protocol with `bfd on` asks it for a session with its
// neighbour, which takes the timers of its kind and needs no Neighbours
// entry.
type BIRDBFDProtocol struct {
	// Interface is the interface whose single-hop sessions take Direct
	// ("eth0").
	Interface string
	// Direct and Multihop are the timers of single-hop sessions on
	// Interface and of multihop sessions.
	Direct, Multihop BIRDBFDTimers
	// Neighbours are the sessions BIRD runs without a protocol asking.
	Neighbours []BIRDBFDNeighbour
}

// BIRDBFDTimers are BIRD's min rx interval, min tx interval (whole
// milliseconds) and detect multiplier.
type BIRDBFDTimers struct {
	RX, TX     time.Duration
	Multiplier uint8
}

// BIRDBFDNeighbour is a session of BIRD's own: single hop on Dev, or
// multihop when Dev is empty.
type BIRDBFDNeighbour struct {
	Addr, Local netip.Addr
	Dev         string
}

var birdBFDProtocol = template.Must(template.New("bfd").Funcs(template.FuncMap{
	"ms": func(d time.Duration) int64 { return d.Milliseconds() },
}).Parse(`protocol bfd {
  interface "{{.Interface}}" { min rx interval {{ms .Direct.RX}} ms; min tx interval {{ms .Direct.TX}} ms; multiplier {{.Direct.Multiplier}}; };
  multihop { min rx interval {{ms .Multihop.RX}} ms; min tx interval {{ms .Multihop.TX}} ms; multiplier {{.Multihop.Multiplier}}; };
{{- range .Neighbours}}
  neighbor {{.Addr}}{{if .Dev}} dev "{{.Dev}}"{{end}} local {{.Local}}{{if not .Dev}} multihop on{{end}};
{{- end}}
}
`))

// Config is the protocol as bird.conf has it.
func (p BIRDBFDProtocol) Config() string {
	var b strings.Builder
	if err := birdBFDProtocol.Execute(&b, p); err != nil {
		panic(err) // fields of fixed types into netlab's own template
	}
	return b.String()
}

// BFDPeers reads the router's BFD sessions (`show bfd sessions`: its bfd
// protocol must run), in FRR's terms: Status lower case ("up", "down",
// "init", "admindown"), Multihop for a session without an interface,
// TransmitInterval, DetectTime and Since (see BFDPeer for what BIRD does
// not show).
func (b *BIRD) BFDPeers(ctx context.Context) ([]BFDPeer, error) {
	out, err := b.Birdc(ctx, "show", "bfd", "sessions")
	if err != nil {
		return nil, err
	}
	return parseBIRDBFD(out)
}

// BFDPeer reads the router's BFD session with peer, the multihop one or
// the one on an interface (BIRD may have both with one address).
func (b *BIRD) BFDPeer(ctx context.Context, peer netip.Addr, multihop bool) (BFDPeer, error) {
	peers, err := b.BFDPeers(ctx)
	if err != nil {
		return BFDPeer{}, err
	}
	for _, p := range peers {
		if p.Peer == peer && p.Multihop == multihop {
			return p, nil
		}
	}
	return BFDPeer{}, fmt.Errorf("BIRD has no BFD session with %s (multihop %v): %+v", peer, multihop, peers)
}

// parseBIRDBFD reads `show bfd sessions`: a protocol name line, a header,
// then per session address, interface ("---" for multihop), state, since
// (a date and a time with `timeformat protocol iso long`), interval and
// timeout in seconds.
func parseBIRDBFD(data []byte) ([]BFDPeer, error) {
	var out []BFDPeer
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[0] == "IP" {
			continue
		}
		peer, err := netip.ParseAddr(f[0])
		if err != nil {
			return nil, fmt.Errorf("bfd session %q: %w", sc.Text(), err)
		}
		n := len(f)
		interval, err1 := strconv.ParseFloat(f[n-2], 64)
		timeout, err2 := strconv.ParseFloat(f[n-1], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bfd session %q: interval or timeout not a number", sc.Text())
		}
		out = append(out, BFDPeer{Peer: peer, Multihop: f[1] == "---", Status: strings.ToLower(f[2]),
			Since: strings.Join(f[3:n-2], " "), TransmitInterval: int(math.Round(interval * 1000)),
			DetectTime: int(math.Round(timeout * 1000))})
	}
	return out, sc.Err()
}
