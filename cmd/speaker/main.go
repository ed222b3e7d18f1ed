// Command speaker is pylon's speaker: one per node (a DaemonSet), it makes
// the node answer ARP/NDP for the Service addresses it owns, choosing owners
// with every other speaker alike, and hands them over on SIGTERM.
package main

import (
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/pylonlb/pylon/cmd/internal/version"
)

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "speaker: %v\n", err)
		os.Exit(2)
	}
	if opts.version {
		fmt.Println(version.Get().String("speaker"))
		return
	}
	if err := run(ctrl.SetupSignalHandler(), opts); err != nil {
		fmt.Fprintf(os.Stderr, "speaker: %v\n", err)
		os.Exit(1)
	}
}
