package bfd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// State is a session state, with the values of RFC 5880 §4.1.
type State uint8

// The session states.
const (
	AdminDown State = 0
	Down      State = 1
	Init      State = 2
	Up        State = 3
)

func (s State) String() string {
	switch s {
	case AdminDown:
		return "AdminDown"
	case Down:
		return "Down"
	case Init:
		return "Init"
	case Up:
		return "Up"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// diag is a Diagnostic code (RFC 5880 §4.1).
type diag uint8

const (
	diagNone                  diag = 0
	diagDetectionExpired      diag = 1
	diagEchoFailed            diag = 2
	diagNeighborDown          diag = 3
	diagForwardingReset       diag = 4
	diagPathDown              diag = 5
	diagConcatPathDown        diag = 6
	diagAdminDown             diag = 7
	diagReverseConcatPathDown diag = 8
)

// The Diag strings of Status and Change.
const (
	DiagNone             = "none"
	DiagDetectionExpired = "control detection time expired"
	DiagNeighborDown     = "neighbor signaled session down"
	DiagAdminDown        = "administratively down"
)

func (d diag) String() string {
	switch d {
	case diagNone:
		return DiagNone
	case diagDetectionExpired:
		return DiagDetectionExpired
	case diagEchoFailed:
		return "echo function failed"
	case diagNeighborDown:
		return DiagNeighborDown
	case diagForwardingReset:
		return "forwarding plane reset"
	case diagPathDown:
		return "path down"
	case diagConcatPathDown:
		return "concatenated path down"
	case diagAdminDown:
		return DiagAdminDown
	case diagReverseConcatPathDown:
		return "reverse concatenated path down"
	}
	return fmt.Sprintf("diag %d", uint8(d))
}

// packetLen is the length of a Control packet without authentication.
const packetLen = 24

// packet is a BFD Control packet (RFC 5880 §4.1). Intervals are in the
// packet's unit, microseconds.
type packet struct {
	Diag                                       diag
	State                                      State
	Poll, Final, CPI, Auth, Demand, Multipoint bool
	DetectMult                                 uint8
	MyDiscr, YourDiscr                         uint32
	DesiredMinTx, RequiredMinRx, RequiredEcho  uint32
}

// The reception checks of RFC 5880 §6.8.6 that need no session.
var (
	errShort       = errors.New("shorter than a Control packet")
	errVersion     = errors.New("version is not 1")
	errLength      = errors.New("length field out of range")
	errMultiplier  = errors.New("detect multiplier is 0")
	errMultipoint  = errors.New("multipoint bit set")
	errMyDiscr     = errors.New("my discriminator is 0")
	errYourDiscr   = errors.New("your discriminator is 0 in state Init or Up")
	errAuthPresent = errors.New("authentication present but none configured")
)

// marshal appends the packet's 24 bytes to b. The Authentication bit is
// never set: the package does not authenticate.
func (p packet) marshal(b []byte) []byte {
	var flags byte
	for i, f := range []bool{p.Poll, p.Final, p.CPI, false, p.Demand, p.Multipoint} {
		if f {
			flags |= 0x20 >> i
		}
	}
	b = append(b, 1<<5|byte(p.Diag)&0x1f, byte(p.State)<<6|flags, p.DetectMult, packetLen)
	b = binary.BigEndian.AppendUint32(b, p.MyDiscr)
	b = binary.BigEndian.AppendUint32(b, p.YourDiscr)
	b = binary.BigEndian.AppendUint32(b, p.DesiredMinTx)
	b = binary.BigEndian.AppendUint32(b, p.RequiredMinRx)
	return binary.BigEndian.AppendUint32(b, p.RequiredEcho)
}

// parse decodes a Control packet from one UDP payload and applies the
// checks of RFC 5880 §6.8.6 that need no session: a packet it returns an
// error for must be discarded.
func parse(b []byte) (packet, error) {
	var p packet
	if len(b) < packetLen {
		return p, errShort
	}
	if b[0]>>5 != 1 {
		return p, errVersion
	}
	p.Diag = diag(b[0] & 0x1f)
	p.State = State(b[1] >> 6)
	p.Poll = b[1]&0x20 != 0
	p.Final = b[1]&0x10 != 0
	p.CPI = b[1]&0x08 != 0
	p.Auth = b[1]&0x04 != 0
	p.Demand = b[1]&0x02 != 0
	p.Multipoint = b[1]&0x01 != 0
	p.DetectMult = b[2]
	length := int(b[3])
	min := packetLen
	if p.Auth {
		min = packetLen + 2
	}
	if length < min || length > len(b) {
		return p, errLength
	}
	p.MyDiscr = binary.BigEndian.Uint32(b[4:])
	p.YourDiscr = binary.BigEndian.Uint32(b[8:])
	p.DesiredMinTx = binary.BigEndian.Uint32(b[12:])
	p.RequiredMinRx = binary.BigEndian.Uint32(b[16:])
	p.RequiredEcho = binary.BigEndian.Uint32(b[20:])
	switch {
	case p.DetectMult == 0:
		return p, errMultiplier
	case p.Multipoint:
		return p, errMultipoint
	case p.MyDiscr == 0:
		return p, errMyDiscr
	case p.YourDiscr == 0 && p.State != Down && p.State != AdminDown:
		return p, errYourDiscr
	case p.Auth:
		return p, errAuthPresent
	}
	return p, nil
}

// micros converts a duration to the packet's microseconds, saturating.
func micros(d time.Duration) uint32 {
	us := d.Microseconds()
	if us > 0xffffffff {
		return 0xffffffff
	}
	if us < 0 {
		return 0
	}
	return uint32(us)
}

func fromMicros(us uint32) time.Duration { return time.Duration(us) * time.Microsecond }
