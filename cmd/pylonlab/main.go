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
