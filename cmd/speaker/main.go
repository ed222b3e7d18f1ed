package main

import (
	"fmt"
	"os"
	"runtime/debug"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/pylonlb/pylon/cmd/internal/version"
)

// speakerGCPercent is the speaker's GOGC when the environment sets none.
const speakerGCPercent = 50

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
	if os.Getenv("GOGC") == "" {
		// A pass allocates its plan afresh and drops it at once: under a
		// burst of Services most of the heap is such garbage. Half the
		// usual headroom keeps the footprint down for a little GC work
		// (docs/speaker.md, "Memory"); GOGC, when set, decides instead.
		debug.SetGCPercent(speakerGCPercent)
	}
	if err := run(ctrl.SetupSignalHandler(), opts); err != nil {
		fmt.Fprintf(os.Stderr, "speaker: %v\n", err)
		os.Exit(1)
	}
}
