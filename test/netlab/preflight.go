package netlab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNotRoot is returned by Preflight (and New) when not running as root.
var ErrNotRoot = errors.New("the network lab needs root: it creates network namespaces, veths and nftables tables")

// Tool is a program a lab runs and the Debian package that has it.
type Tool struct{ Path, Package string }

// baseTools are what every lab runs.
func baseTools() []Tool {
	return []Tool{{"ip", "iproute2"}, {"sysctl", "procps"}}
}

// FRRTools are what a lab with an FRR router (NewFRR) runs besides: vtysh,
// zebra and bgpd.
func FRRTools() []Tool {
	return []Tool{
		{"vtysh", "frr"},
		{filepath.Join(FRRDaemons, "zebra"), "frr"},
		{filepath.Join(FRRDaemons, "bgpd"), "frr"},
	}
}

// BIRDTools are what a lab with a BIRD router (NewBIRD) runs besides:
// bird and birdc.
func BIRDTools() []Tool {
	return []Tool{{"bird", "bird2"}, {"birdc", "bird2"}}
}

// Preflight checks that a lab can be built here: root, ip and sysctl, and
// the extra tools. The error names what is missing and how to install it.
func Preflight(extra ...Tool) error {
	if os.Geteuid() != 0 {
		return ErrNotRoot
	}
	var missing, pkgs []string
	seen := map[string]bool{}
	for _, t := range append(baseTools(), extra...) {
		if _, err := exec.LookPath(t.Path); err != nil {
			missing = append(missing, t.Path)
			if !seen[t.Package] {
				seen[t.Package] = true
				pkgs = append(pkgs, t.Package)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the network lab needs %s: apt-get install -y %s (.ci/run does)", strings.Join(missing, ", "), strings.Join(pkgs, " "))
	}
	return nil
}
