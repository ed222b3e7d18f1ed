// Command pylonlab brings pylon's network lab (test/lab) up and down by
// hand, for looking around in it: node namespaces on a bridge, an FRR
// router, a local and a remote client, a real API server. It needs root.
//
//	pylonlab up [-nodes 3] [-node-asn 0] [-node-stack]
//	                                       build a lab; runs until Ctrl-C, then tears it down;
//	                                       -node-stack: real nodes (containerd, kubelet, kube-proxy)
//	pylonlab status                        labs, records and leftovers on this machine
//	pylonlab down                          remove what crashed labs left behind
//	pylonlab demo [-keep]                  pylon itself in a lab, step by step (test/demo; `make demo`)
//
// The end-to-end tests build the same lab through test/lab and run the same
// demo through test/demo; this command is only a thin front to them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

func main() {
	o, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "pylonlab: %v\n%s", err, usage)
		os.Exit(2)
	}
	// The lab's API server starts through controller-runtime's envtest,
	// which logs through controller-runtime's logger: without one it
	// prints a stack trace in the middle of the demo's progress line.
	// The lab logs what matters to its own log file.
	ctrllog.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "pylonlab: %v\n", err)
		os.Exit(1)
	}
}
