package netlab

import (
	"context"
	"fmt"
)

// Switch is a layer-2 segment: a bridge in a namespace of its own, without
// STP and without forwarding delay, so a port forwards as soon as it is up.
type Switch struct {
	// Netns is the switch's namespace, Bridge the bridge in it.
	Netns, Bridge string
}

// AddSwitch makes namespace <Prefix>-<name> with bridge br0 up in it.
func (l *Lab) AddSwitch(ctx context.Context, name string) (*Switch, error) {
	ns, err := l.AddNetns(ctx, name)
	if err != nil {
		return nil, err
	}
	s := &Switch{Netns: ns, Bridge: "br0"}
	return s, IP(ctx, ns,
		fmt.Sprintf("link add %s type bridge stp_state 0 forward_delay 0", s.Bridge),
		"link set "+s.Bridge+" up")
}

// Plug connects namespace netns to the switch: a veth whose end port is on
// the bridge, up, and whose other end is ifname in netns (down, for the
// caller to address and bring up).
func (s *Switch) Plug(ctx context.Context, port, netns, ifname string) error {
	return IP(ctx, s.Netns,
		fmt.Sprintf("link add %s type veth peer name %s netns %s", port, ifname, netns),
		fmt.Sprintf("link set %s master %s up", port, s.Bridge))
}
