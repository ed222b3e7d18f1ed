package bfd

import (
	"fmt"
	"net/netip"
	"time"
)

// Config is one wanted session.
type Config struct {
	// Local and Remote are the session's endpoints; Local is the node's
	// address (the BGP session's local address) and must be assigned on
	// the node: the session's sockets are bound to it.
	Local, Remote netip.Addr
	// Interface optionally binds the session's sockets to this interface
	// (SO_BINDTODEVICE); it is needed for a link-local IPv6 Remote.
	Interface string
	// Multihop selects RFC 5883 (port 4784, no TTL check) instead of
	// single hop RFC 5881 (port 3784, TTL 255 required).
	Multihop bool
	// MinTx is the Desired Min TX Interval, MinRx the Required Min RX
	// Interval, both in [MinInterval, MaxInterval].
	MinTx, MinRx time.Duration
	// Multiplier is the Detect Mult: the remote declares the session down
	// after this many intervals without a packet. At least 1.
	Multiplier uint8
	// Passive sessions send nothing until the remote has sent (§6.1).
	Passive bool
}

// The range of MinTx and MinRx.
const (
	MinInterval = 10 * time.Millisecond
	MaxInterval = 60 * time.Second
)

// Ports of RFC 5881 and RFC 5883.
const (
	PortSingleHop = 3784
	PortMultihop  = 4784
)

// key identifies a session: zones are not part of it.
type key struct {
	remote, local netip.Addr
	multihop      bool
}

func (c Config) key() key {
	return key{remote: c.Remote.WithZone(""), local: c.Local.WithZone(""), multihop: c.Multihop}
}

func (c Config) String() string {
	hop := "single hop"
	if c.Multihop {
		hop = "multihop"
	}
	return fmt.Sprintf("%s from %s (%s)", c.Remote, c.Local, hop)
}

// validate returns an error naming the first bad field.
func (c Config) validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("bfd session %s: %s: %s", c, field, fmt.Sprintf(format, args...))
	}
	addr := func(field string, a netip.Addr) error {
		switch {
		case !a.IsValid():
			return bad(field, "not an address")
		case a.Is4In6():
			return bad(field, "%s is an IPv4-mapped IPv6 address: give the IPv4 address", a)
		case a.IsUnspecified(), a.IsMulticast():
			return bad(field, "%s is not a unicast address", a)
		}
		return nil
	}
	if err := addr("Remote", c.Remote); err != nil {
		return err
	}
	if err := addr("Local", c.Local); err != nil {
		return err
	}
	switch {
	case c.Local.Is4() != c.Remote.Is4():
		return bad("Local", "%s is not of the address family of Remote %s", c.Local, c.Remote)
	case c.MinTx < MinInterval || c.MinTx > MaxInterval:
		return bad("MinTx", "%v is out of range [%v, %v]", c.MinTx, MinInterval, MaxInterval)
	case c.MinRx < MinInterval || c.MinRx > MaxInterval:
		return bad("MinRx", "%v is out of range [%v, %v]", c.MinRx, MinInterval, MaxInterval)
	case c.Multiplier == 0:
		return bad("Multiplier", "0; at least 1")
	case (c.Remote.IsLinkLocalUnicast() || c.Local.IsLinkLocalUnicast()) && c.Interface == "" && c.Local.Zone() == "":
		return bad("Interface", "needed for a link-local address")
	}
	return nil
}
