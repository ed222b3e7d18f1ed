package lab

import (
	"context"

	"github.com/pylonlb/pylon/test/netlab"
)

// Status reports the labs on this machine without changing anything
// (netlab.Status), with what each one's node stack has on the host.
func Status(ctx context.Context) (netlab.MachineStatus, error) {
	return netlab.Status(ctx, NodeStackOnHost)
}

// Down removes what labs that are no longer running left on this machine,
// their node stacks' containers, cgroups and mounts included
// (netlab.Down). It refuses while a lab runs: stop that one instead.
func Down(ctx context.Context) (netlab.Leftovers, error) {
	if err := Preflight(); err != nil {
		return netlab.Leftovers{}, err
	}
	return netlab.Down(ctx, cleanNodeStack)
}
