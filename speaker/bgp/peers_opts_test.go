package bgp

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestAPIPeerOptions: what GoBGP gets for connectTime (whole seconds, in
// place of the speaker's default) and for a peer whose ASN is taken from
// its OPEN (peer AS 0, which GoBGP v3 takes as "skip the ASN check").
func TestAPIPeerOptions(t *testing.T) {
	s := &Speaker{connectRetry: 2 * time.Second}
	base := Peer{Name: "r1", Address: netip.MustParseAddr("198.18.2.254"), MyASN: 64512, PeerASN: 64513}
	if got := s.apiPeer(base).Timers.Config.ConnectRetry; got != 2 {
		t.Errorf("connect retry without connectTime = %d, want the speaker's 2", got)
	}
	p := base
	p.ConnectTime = 5700 * time.Millisecond
	if got := s.apiPeer(p).Timers.Config.ConnectRetry; got != 5 {
		t.Errorf("connect retry with connectTime 5.7s = %d, want 5", got)
	}
	p = base
	p.BindInterface = "blue"
	if got := s.apiPeer(p).Transport.BindInterface; got != "blue" {
		t.Errorf("bind interface = %q, want blue", got)
	}
	if got := s.apiPeer(base).Transport.BindInterface; got != "" {
		t.Errorf("bind interface without one = %q", got)
	}
	p = base
	p.Passive = true
	if !s.apiPeer(p).Transport.PassiveMode || s.apiPeer(base).Transport.PassiveMode {
		t.Errorf("passive mode: %v for a passive peer, %v for an active one", s.apiPeer(p).Transport.PassiveMode, s.apiPeer(base).Transport.PassiveMode)
	}
	p = base
	p.PeerASN, p.AnyPeerASN = 0, true
	if got := s.apiPeer(p).Conf.PeerAsn; got != 0 {
		t.Errorf("peer AS for any ASN = %d, want 0", got)
	}
	if p.IBGP() || !strings.Contains(p.String(), "any AS") {
		t.Errorf("any-ASN peer: IBGP %v, String %q", p.IBGP(), p)
	}

	for name, tc := range map[string]struct {
		edit  func(*Peer)
		reset bool
	}{
		"connect time":   {func(p *Peer) { p.ConnectTime = 10 * time.Second }, false},
		"any peer ASN":   {func(p *Peer) { p.PeerASN, p.AnyPeerASN = 0, true }, true},
		"learnt to set":  {func(p *Peer) { p.PeerASN = 64514 }, true},
		"bind interface": {func(p *Peer) { p.BindInterface = "blue" }, true},
		"passive":        {func(p *Peer) { p.Passive = true }, true},
	} {
		next := base
		tc.edit(&next)
		if got := NeedsReset(base, next); got != tc.reset {
			t.Errorf("%s: NeedsReset = %v, want %v", name, got, tc.reset)
		}
	}
}

// TestSetPeersOptions: GoBGP takes a peer with AS 0 and a connect time;
// a peer AS together with AnyPeerASN, or a connect time out of range, is
// refused.
func TestSetPeersOptions(t *testing.T) {
	s := startSpeaker(t)
	ok := []Peer{
		{Name: "any", Address: netip.MustParseAddr("198.18.2.254"), MyASN: 64512, AnyPeerASN: true, ConnectTime: 7 * time.Second},
	}
	if err := s.SetPeers(context.Background(), ok); err != nil {
		t.Fatalf("SetPeers(any ASN, connect time 7s) = %v", err)
	}
	if p, _ := s.Peer("any"); !p.AnyPeerASN || p.ConnectTime != 7*time.Second {
		t.Errorf("peer kept as %+v", p)
	}
	for name, p := range map[string]Peer{
		"peer AS with AnyPeerASN": {Name: "x", Address: netip.MustParseAddr("198.18.2.253"), MyASN: 64512, PeerASN: 64513, AnyPeerASN: true},
		"connect time 70000s":     {Name: "y", Address: netip.MustParseAddr("198.18.2.252"), MyASN: 64512, PeerASN: 64513, ConnectTime: 70000 * time.Second},
	} {
		if err := s.SetPeers(context.Background(), append(ok, p)); !errors.Is(err, ErrInvalidPeer) {
			t.Errorf("%s: SetPeers = %v, want ErrInvalidPeer", name, err)
		}
	}
}
