package main

import (
	"os"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

func main() {
	// controller-runtime's client logs nothing pylonctl needs; without a
	// logger it prints a warning with a stack trace after 30 s.
	ctrllog.SetLogger(logr.Discard())
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}
