package lab

import (
	"github.com/pylonlb/pylon/test/netlab"
)

// ErrNotRoot is returned by Preflight (and New) when not running as root
// (netlab.ErrNotRoot).
var ErrNotRoot = netlab.ErrNotRoot

// Preflight checks that a lab can be built here: root, and every tool the
// lab runs (netlab's, FRR's, nft, arping and ndisc6). The error names what
// is missing and how to install it.
func Preflight() error {
	return netlab.Preflight(append(netlab.FRRTools(),
		netlab.Tool{Path: "nft", Package: "nftables"},
		netlab.Tool{Path: "arping", Package: "arping"},
		netlab.Tool{Path: "ndisc6", Package: "ndisc6"})...)
}
