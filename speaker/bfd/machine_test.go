package bfd

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

// The state machine, driven step by step with a fake clock: packets are
// handed from one machine to the other by the test.

func mcfg(tx, rx time.Duration, mult uint8, passive bool) Config {
	return Config{MinTx: tx, MinRx: rx, Multiplier: mult, Passive: passive}
}

type pair struct {
	t    *testing.T
	clk  *testingclock.FakeClock
	a, b *machine
}

func newPair(t *testing.T, a, b Config) *pair {
	clk := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return &pair{t: t, clk: clk,
		a: newMachine(a, 0xa, clk.Now(), rand.Float64), b: newMachine(b, 0xb, clk.Now(), rand.Float64)}
}

// show renders packets as "State[+P][+F]" for step tables.
func show(ps []packet) string {
	var out []string
	for _, p := range ps {
		s := p.State.String()
		if p.Poll {
			s += "+P"
		}
		if p.Final {
			s += "+F"
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

// run advances m at the current time and delivers what it sends to peer
// (nil: lost), checking what was sent.
func (p *pair) run(m, peer *machine, want string) []packet {
	p.t.Helper()
	out, _ := m.advance(p.clk.Now())
	if got := show(out); got != want {
		p.t.Fatalf("%s sent %q, want %q", name(p, m), got, want)
	}
	for _, pk := range out {
		if peer != nil {
			peer.receive(pk, p.clk.Now())
		}
	}
	return out
}

func name(p *pair, m *machine) string {
	if m == p.a {
		return "A"
	}
	return "B"
}

func (p *pair) states(a, b State) {
	p.t.Helper()
	if p.a.state != a || p.b.state != b {
		p.t.Fatalf("states A %s, B %s; want %s, %s", p.a.state, p.b.state, a, b)
	}
}

// up brings an active A and a passive B Up (the handshake of
// TestHandshake, unchecked).
func (p *pair) up() {
	p.run(p.a, p.b, "Down")
	p.run(p.b, p.a, "Init")
	p.run(p.a, p.b, "Up+P")
	p.run(p.b, p.a, "Up+F,Up+P")
	p.run(p.a, p.b, "Up+F")
	p.states(Up, Up)
	p.a.takeChanges()
	p.b.takeChanges()
}

func TestHandshake(t *testing.T) {
	p := newPair(t, mcfg(100*time.Millisecond, 100*time.Millisecond, 3, false), mcfg(100*time.Millisecond, 100*time.Millisecond, 3, true))
	for _, step := range []struct {
		from       *machine
		sends      string
		wantA      State
		wantB      State
		discrKnown bool
	}{
		// A (active) opens with Down; B (passive) has sent nothing.
		{p.b, "", Down, Down, false},
		{p.a, "Down", Down, Init, false},
		// B answers Init, carrying A's discriminator; A goes Up.
		{p.b, "Init", Up, Init, true},
		// A's Up polls (its TX interval drops from the slow 1 s to 100 ms).
		{p.a, "Up+P", Up, Up, true},
		// B answers the Poll with a Final, and polls for its own change.
		{p.b, "Up+F,Up+P", Up, Up, true},
		{p.a, "Up+F", Up, Up, true},
		// Nothing more is due at this instant.
		{p.a, "", Up, Up, true},
		{p.b, "", Up, Up, true},
	} {
		peer := p.a
		if step.from == p.a {
			peer = p.b
		}
		out := p.run(step.from, peer, step.sends)
		p.states(step.wantA, step.wantB)
		for _, pk := range out {
			if step.discrKnown != (pk.YourDiscr != 0) {
				t.Errorf("packet %+v: your discriminator known %v", pk, step.discrKnown)
			}
		}
	}
	for _, m := range []*machine{p.a, p.b} {
		if m.polling || m.effTx != 100*time.Millisecond || m.desiredTx != 100*time.Millisecond {
			t.Errorf("after the handshake: polling %v, TX %v in force, %v advertised; want 100ms without a poll", m.polling, m.effTx, m.desiredTx)
		}
	}
	if p.a.remoteDiscr != 0xb || p.b.remoteDiscr != 0xa {
		t.Errorf("discriminators learnt: A %#x, B %#x", p.a.remoteDiscr, p.b.remoteDiscr)
	}
	ch := p.a.takeChanges()
	if len(ch) != 1 || ch[0].from != Down || ch[0].to != Up || ch[0].diag != diagNone {
		t.Errorf("A's changes %+v, want Down->Up", ch)
	}
	ch = p.b.takeChanges()
	if len(ch) != 2 || ch[0].to != Init || ch[1].to != Up {
		t.Errorf("B's changes %+v, want Down->Init->Up", ch)
	}
}

func TestDetectionTimeout(t *testing.T) {
	p := newPair(t, mcfg(100*time.Millisecond, 100*time.Millisecond, 3, false), mcfg(100*time.Millisecond, 150*time.Millisecond, 4, false))
	p.up()
	// A's Detection Time: B's multiplier 4 times the larger of A's
	// Required Min RX (100ms) and B's Desired Min TX (100 ms).
	if d := p.a.detectTime(); d != 400*time.Millisecond {
		t.Fatalf("A's detection time %v, want 400ms", d)
	}
	// B's: A's multiplier 3 times B's Required Min RX 150ms.
	if d := p.b.detectTime(); d != 450*time.Millisecond {
		t.Fatalf("B's detection time %v, want 450ms", d)
	}
	// B goes silent; A keeps sending into the void.
	for range 399 {
		p.clk.Step(time.Millisecond)
		p.a.advance(p.clk.Now())
	}
	p.states(Up, Up)
	p.clk.Step(time.Millisecond)
	out, _ := p.a.advance(p.clk.Now())
	p.states(Down, Up)
	if p.a.localDiag != diagDetectionExpired || p.a.remoteDiscr != 0 {
		t.Errorf("after expiry: diag %s, remote discriminator %#x; want diag 1 and 0", p.a.localDiag, p.a.remoteDiscr)
	}
	ch := p.a.takeChanges()
	if len(ch) != 1 || ch[0].from != Up || ch[0].to != Down || ch[0].diag != diagDetectionExpired {
		t.Errorf("changes %+v, want Up->Down with diag 1", ch)
	}
	// The Down is sent at once, with the diag, and tells B.
	if show(out) != "Down" || out[0].Diag != diagDetectionExpired || out[0].YourDiscr != 0 {
		t.Fatalf("sent %+v, want one Down with diag 1", out)
	}
	p.b.receive(out[0], p.clk.Now())
	if p.b.state != Down || p.b.localDiag != diagNeighborDown {
		t.Errorf("B: %s diag %s, want Down with diag 3", p.b.state, p.b.localDiag)
	}
}

func TestRemoteDown(t *testing.T) {
	for _, c := range []struct {
		name string
		send func(b *machine, now time.Time) packet
	}{
		{"AdminDown", func(b *machine, now time.Time) packet { pk, _ := b.adminDown(now); return pk }},
		{"Down", func(b *machine, now time.Time) packet {
			b.to(Down, diagPathDown, now)
			return b.packet(false, false)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPair(t, mcfg(100*time.Millisecond, 100*time.Millisecond, 3, false), mcfg(100*time.Millisecond, 100*time.Millisecond, 3, false))
			p.up()
			pk := c.send(p.b, p.clk.Now())
			p.a.receive(pk, p.clk.Now())
			if p.a.state != Down || p.a.localDiag != diagNeighborDown {
				t.Fatalf("A: %s with diag %s, want Down with diag 3", p.a.state, p.a.localDiag)
			}
			ch := p.a.takeChanges()
			if len(ch) != 1 || ch[0].to != Down || ch[0].remoteState != pk.State {
				t.Errorf("changes %+v, want one to Down with remote state %s", ch, pk.State)
			}
			// Back to the slow rate at once, without a poll (not Up).
			if p.a.desiredTx != slowTx || p.a.effTx != slowTx || p.a.polling {
				t.Errorf("after Down: TX %v advertised, %v in force, polling %v; want 1s, 1s, no", p.a.desiredTx, p.a.effTx, p.a.polling)
			}
		})
	}
	// AdminDown received while Down changes nothing.
	p := newPair(t, mcfg(100*time.Millisecond, 100*time.Millisecond, 3, false), mcfg(100*time.Millisecond, 100*time.Millisecond, 3, false))
	pk, _ := p.b.adminDown(p.clk.Now())
	p.a.receive(pk, p.clk.Now())
	if p.a.state != Down || len(p.a.takeChanges()) != 0 {
		t.Errorf("AdminDown while Down: %s", p.a.state)
	}
}

func TestPollOnTimerChange(t *testing.T) {
	p := newPair(t, mcfg(100*time.Millisecond, 100*time.Millisecond, 3, false), mcfg(100*time.Millisecond, 100*time.Millisecond, 3, false))
	p.up()
	// A asks for a slower TX and a faster RX.
	c := mcfg(300*time.Millisecond, 50*time.Millisecond, 3, false)
	p.a.configure(c, p.clk.Now())
	if !p.a.polling {
		t.Fatal("no Poll Sequence after a timer change")
	}
	// Until the Final: the old, faster TX is kept, and the old, larger RX
	// still counts in the Detection Time (§6.8.3).
	if p.a.effTx != 100*time.Millisecond || p.a.effRx != 100*time.Millisecond {
		t.Errorf("before the Final: TX %v, RX %v in force; want the old 100ms, 100ms", p.a.effTx, p.a.effRx)
	}
	out := p.run(p.a, nil, "Up+P") // lost: the poll goes on
	if out[0].DesiredMinTx != 300000 || out[0].RequiredMinRx != 50000 {
		t.Errorf("poll advertises %d/%d µs, want 300000/50000", out[0].DesiredMinTx, out[0].RequiredMinRx)
	}
	p.clk.Step(100 * time.Millisecond)
	p.run(p.a, p.b, "Up+P") // every periodic packet polls until the Final
	p.run(p.b, p.a, "Up+F")
	if p.a.polling || p.a.effTx != 300*time.Millisecond || p.a.effRx != 50*time.Millisecond {
		t.Errorf("after the Final: polling %v, TX %v, RX %v; want done, 300ms, 50ms", p.a.polling, p.a.effTx, p.a.effRx)
	}
	// B now sends at A's new RX, so A detects over 3 x max(50ms, 100ms).
	if p.a.detectTime() != 300*time.Millisecond || p.b.txInterval() != 100*time.Millisecond {
		t.Errorf("A detects in %v, B sends every %v", p.a.detectTime(), p.b.txInterval())
	}
	// And B detects A's silence over 3 x 300ms, the new TX of A.
	if p.b.detectTime() != 900*time.Millisecond {
		t.Errorf("B detects in %v, want 900ms", p.b.detectTime())
	}
	p.states(Up, Up)
	if len(p.a.takeChanges())+len(p.b.takeChanges()) != 0 {
		t.Error("a timer change changed a state")
	}
	// The same config again: no poll.
	p.a.configure(c, p.clk.Now())
	if p.a.polling {
		t.Error("an unchanged config started a poll")
	}
}

func TestPassiveWaits(t *testing.T) {
	p := newPair(t, mcfg(100*time.Millisecond, 100*time.Millisecond, 3, false), mcfg(100*time.Millisecond, 100*time.Millisecond, 3, true))
	for range 100 {
		p.run(p.b, nil, "")
		p.clk.Step(50 * time.Millisecond)
	}
	p.run(p.a, p.b, "Down")
	p.run(p.b, p.a, "Init")
	// A passive session whose remote went silent falls silent again.
	p2 := newPair(t, mcfg(100*time.Millisecond, 100*time.Millisecond, 3, false), mcfg(100*time.Millisecond, 100*time.Millisecond, 3, true))
	p2.run(p2.a, p2.b, "Down")
	p2.run(p2.b, nil, "Init")
	p2.clk.Step(3 * time.Second) // 3 x A's slow 1 s
	p2.b.advance(p2.clk.Now())
	for range 40 {
		p2.clk.Step(100 * time.Millisecond)
		p2.run(p2.b, nil, "")
	}
	// AdminDown from a passive session that never heard a remote: none.
	if _, ok := newMachine(mcfg(time.Second, time.Second, 3, true), 1, p.clk.Now(), rand.Float64).adminDown(p.clk.Now()); ok {
		t.Error("a passive session sent AdminDown to a remote it never heard from")
	}
}

// TestSlowAndJitteredTX: while not Up a session sends every 0.75–1 s
// whatever its MinTx; Up, 75–100 % of the interval, at most 90 % with a
// multiplier of 1.
func TestSlowAndJitteredTX(t *testing.T) {
	// gaps runs m (and its peer, if any, delivering both ways) and returns
	// the times between m's packets.
	gaps := func(m, peer *machine, clk *testingclock.FakeClock, steps int) []time.Duration {
		var last time.Time
		var out []time.Duration
		for range steps {
			ps, _ := m.advance(clk.Now())
			if peer != nil {
				for _, pk := range ps {
					peer.receive(pk, clk.Now())
				}
				back, _ := peer.advance(clk.Now())
				for _, pk := range back {
					m.receive(pk, clk.Now())
				}
			}
			if len(ps) > 0 {
				if !last.IsZero() {
					out = append(out, clk.Now().Sub(last))
				}
				last = clk.Now()
			}
			clk.Step(time.Millisecond)
		}
		return out
	}
	check := func(name string, gs []time.Duration, lo, hi time.Duration) {
		t.Helper()
		if len(gs) < 20 {
			t.Fatalf("%s: %d gaps", name, len(gs))
		}
		short, long := gs[0], gs[0]
		for _, g := range gs {
			short, long = min(short, g), max(long, g)
		}
		if short < lo || long > hi {
			t.Errorf("%s: gaps %v..%v, want within %v..%v", name, short, long, lo, hi)
		}
		// The jitter is used: the spread covers most of the range.
		if long-short < (hi-lo)/2 {
			t.Errorf("%s: gaps %v..%v hardly jittered", name, short, long)
		}
	}
	clk := testingclock.NewFakeClock(time.Unix(0, 0))
	down := newMachine(mcfg(20*time.Millisecond, 20*time.Millisecond, 3, false), 1, clk.Now(), rand.Float64)
	check("not Up", gaps(down, nil, clk, 30000), 750*time.Millisecond, time.Second+time.Millisecond)
	for _, c := range []struct {
		mult   uint8
		lo, hi time.Duration
	}{{3, 75 * time.Millisecond, 101 * time.Millisecond}, {1, 75 * time.Millisecond, 91 * time.Millisecond}} {
		p := newPair(t, mcfg(100*time.Millisecond, 100*time.Millisecond, c.mult, false), mcfg(100*time.Millisecond, 10*time.Millisecond, 3, false))
		p.up()
		check(fmt.Sprintf("Up, multiplier %d", c.mult), gaps(p.a, p.b, p.clk, 3000), c.lo, c.hi)
		p.states(Up, Up)
	}
	// The remote's slower Required Min RX wins over our MinTx.
	p := newPair(t, mcfg(100*time.Millisecond, 100*time.Millisecond, 3, false), mcfg(100*time.Millisecond, 200*time.Millisecond, 3, false))
	p.up()
	if iv := p.a.txInterval(); iv != 200*time.Millisecond {
		t.Errorf("A's TX interval %v, want B's Required Min RX 200ms", iv)
	}
}

// TestRemoteDemand: a remote that sets D while both are Up gets no more
// periodic packets (§6.6), but its Poll is still answered (§6.8.7).
func TestRemoteDemand(t *testing.T) {
	p := newPair(t, mcfg(100*time.Millisecond, 100*time.Millisecond, 3, false), mcfg(100*time.Millisecond, 100*time.Millisecond, 3, false))
	p.up()
	pk := p.b.packet(false, false)
	pk.Demand = true
	p.a.receive(pk, p.clk.Now())
	for range 10 {
		p.clk.Step(50 * time.Millisecond)
		p.a.receive(pk, p.clk.Now()) // the remote keeps sending: no detection
		p.run(p.a, nil, "")
	}
	pk.Poll = true
	p.a.receive(pk, p.clk.Now())
	p.run(p.a, nil, "Up+F")
	pk.Demand, pk.Poll = false, false
	p.a.receive(pk, p.clk.Now())
	p.clk.Step(100 * time.Millisecond)
	p.run(p.a, nil, "Up")
}
