package bfd

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// TestPacketWire pins the byte layout of RFC 5880 §4.1 and the round trip.
func TestPacketWire(t *testing.T) {
	p := packet{
		Diag: diagNeighborDown, State: Up, Poll: true, Demand: true, DetectMult: 3,
		MyDiscr: 0x01020304, YourDiscr: 0x0a0b0c0d,
		DesiredMinTx: 300000, RequiredMinRx: 200000,
	}
	got := p.marshal(nil)
	want := []byte{
		0x23,  // version 1, diag 3
		0xe2,  // state Up (3<<6), P (0x20), D (0x02)
		3, 24, // multiplier, length
		1, 2, 3, 4, // my discriminator
		10, 11, 12, 13, // your discriminator
		0x00, 0x04, 0x93, 0xe0, // 300000 µs
		0x00, 0x03, 0x0d, 0x40, // 200000 µs
		0, 0, 0, 0, // echo: none
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("marshal:\n got % x\nwant % x", got, want)
	}
	back, err := parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if back != p {
		t.Errorf("round trip: %+v, want %+v", back, p)
	}
	// Each flag in its own bit.
	for _, f := range []struct {
		name string
		set  func(*packet)
		bit  byte
	}{
		{"Poll", func(p *packet) { p.Poll = true }, 0x20},
		{"Final", func(p *packet) { p.Final = true }, 0x10},
		{"CPI", func(p *packet) { p.CPI = true }, 0x08},
		{"Demand", func(p *packet) { p.Demand = true }, 0x02},
	} {
		q := packet{State: Down, DetectMult: 1, MyDiscr: 1}
		f.set(&q)
		b := q.marshal(nil)
		if b[1] != 1<<6|f.bit {
			t.Errorf("%s: byte 1 is %#x, want %#x", f.name, b[1], 1<<6|f.bit)
		}
		if back, err := parse(b); err != nil || back != q {
			t.Errorf("%s: parse gives %+v, %v; want %+v", f.name, back, err, q)
		}
	}
	if micros(90*time.Minute) != 0xffffffff || fromMicros(micros(300*time.Millisecond)) != 300*time.Millisecond {
		t.Error("interval conversion")
	}
}

// TestParseRejects: the packet checks of RFC 5880 §6.8.6 that need no
// session, one table row each.
func TestParseRejects(t *testing.T) {
	good := packet{State: Up, DetectMult: 3, MyDiscr: 7, YourDiscr: 9, DesiredMinTx: 1, RequiredMinRx: 1}.marshal(nil)
	if _, err := parse(good); err != nil {
		t.Fatalf("the valid packet is rejected: %v", err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"short", good[:23], errShort},
		{"version 0", edit(func(b []byte) []byte { b[0] &^= 0xe0; return b }), errVersion},
		{"version 2", edit(func(b []byte) []byte { b[0] = b[0]&0x1f | 2<<5; return b }), errVersion},
		{"length 23", edit(func(b []byte) []byte { b[3] = 23; return b }), errLength},
		{"length beyond payload", edit(func(b []byte) []byte { b[3] = 25; return b }), errLength},
		{"auth bit with length 24", edit(func(b []byte) []byte { b[1] |= 0x04; return b }), errLength},
		{"auth bit, long enough", edit(func(b []byte) []byte { b[1] |= 0x04; b[3] = 26; return append(b, 1, 2) }), errAuthPresent},
		{"multiplier 0", edit(func(b []byte) []byte { b[2] = 0; return b }), errMultiplier},
		{"multipoint", edit(func(b []byte) []byte { b[1] |= 0x01; return b }), errMultipoint},
		{"my discriminator 0", edit(func(b []byte) []byte { copy(b[4:8], []byte{0, 0, 0, 0}); return b }), errMyDiscr},
		{"your discriminator 0 in Up", edit(func(b []byte) []byte { copy(b[8:12], []byte{0, 0, 0, 0}); return b }), errYourDiscr},
		{"your discriminator 0 in Init", edit(func(b []byte) []byte { copy(b[8:12], []byte{0, 0, 0, 0}); b[1] = 2 << 6; return b }), errYourDiscr},
	} {
		if _, err := parse(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Your Discriminator 0 is fine in Down and AdminDown; a longer payload
	// than the length field is fine (the length says what the packet is).
	for _, s := range []State{Down, AdminDown} {
		b := packet{State: s, DetectMult: 3, MyDiscr: 7}.marshal(nil)
		if _, err := parse(append(b, 0, 0)); err != nil {
			t.Errorf("state %s with your discriminator 0: %v", s, err)
		}
	}
}

func TestStrings(t *testing.T) {
	for s, want := range map[State]string{AdminDown: "AdminDown", Down: "Down", Init: "Init", Up: "Up", 4: "State(4)"} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", uint8(s), s.String(), want)
		}
	}
	if diagDetectionExpired.String() != DiagDetectionExpired || diagNeighborDown.String() != DiagNeighborDown || diagAdminDown.String() != DiagAdminDown {
		t.Error("diag strings")
	}
}
