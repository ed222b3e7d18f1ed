package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"
)

// options are the command's flags.
type options struct {
	// n is how many Services the create phase makes.
	n int
	// churn is how many standing Services the churn phase deletes, and how
	// many it creates at the same time.
	churn int
	// restartNew is how many Services are created while the controller is
	// down.
	restartNew int
	// workers is the controller's --workers.
	workers int
	// clients is how many requests the benchmark keeps in flight.
	clients int
	// assets holds kube-apiserver, etcd and kubectl; "" means
	// $KUBEBUILDER_ASSETS, then hack/envtest-assets.sh.
	assets string
	// timeout is how long after a phase's last request every Service must
	// have converged.
	timeout time.Duration
	// logDir, when set, receives the controller logs (kept); otherwise
	// they go to the temporary directory and are removed.
	logDir string
	// args is the command line, for the report.
	args []string
}

func parseFlags(args []string) (options, error) {
	o := options{args: args}
	fs := flag.NewFlagSet("bench-alloc", flag.ContinueOnError)
	fs.IntVar(&o.n, "n", 5000, "LoadBalancer Services to create")
	fs.IntVar(&o.churn, "churn", 1000, "standing Services to delete, and new ones to create, at once in the churn phase")
	fs.IntVar(&o.restartNew, "restart-new", 100, "Services created while the controller is down")
	fs.IntVar(&o.workers, "workers", 4, "the controller's --workers")
	fs.IntVar(&o.clients, "clients", 32, "concurrent API requests the benchmark sends")
	fs.StringVar(&o.assets, "assets", os.Getenv("KUBEBUILDER_ASSETS"), "directory with kube-apiserver, etcd and kubectl (default $KUBEBUILDER_ASSETS, else hack/envtest-assets.sh)")
	fs.DurationVar(&o.timeout, "timeout", 120*time.Second, "every Service must have converged this long after its phase's last request")
	fs.StringVar(&o.logDir, "log-dir", "", "keep the controller processes' logs in this directory (default: removed with the temporary directory)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, errors.New("unexpected arguments: " + fs.Arg(0))
	}
	switch {
	case o.n < 1:
		return o, errors.New("-n must be at least 1")
	case o.churn < 0 || o.churn > o.n:
		return o, fmt.Errorf("-churn must be between 0 and -n (%d)", o.n)
	case o.restartNew < 0:
		return o, errors.New("-restart-new must not be negative")
	case o.workers < 1:
		return o, errors.New("-workers must be at least 1")
	case o.clients < 1:
		return o, errors.New("-clients must be at least 1")
	case o.timeout <= 0:
		return o, errors.New("-timeout must be positive")
	}
	// The IPv6 cluster IP range (test/envtest.ServiceClusterIPRange, a
	// /112) holds 65,534 Services; the churn phase holds up to
	// n+restartNew+churn at once.
	if peak := o.n + o.restartNew + o.churn; peak > 60000 {
		return o, fmt.Errorf("-n + -restart-new + -churn = %d: the test API server's IPv6 cluster IP range holds about 65,000 Services", peak)
	}
	return o, nil
}
