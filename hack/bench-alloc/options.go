package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
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
	// family is the Services' IP family: "v6", "v4" or "mixed" (one in
	// four IPv4).
	family string
	// limitLevels, when set, makes the run measure the API server's own
	// pace instead (phaseAPILimit) at these client concurrencies.
	limitLevels []int
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
	fs.IntVar(&o.workers, "workers", 8, "the controller's --workers (its default: 8)")
	fs.IntVar(&o.clients, "clients", 32, "concurrent API requests the benchmark sends")
	fs.StringVar(&o.assets, "assets", os.Getenv("KUBEBUILDER_ASSETS"), "directory with kube-apiserver, etcd and kubectl (default $KUBEBUILDER_ASSETS, else hack/envtest-assets.sh)")
	fs.DurationVar(&o.timeout, "timeout", 120*time.Second, "every Service must have converged this long after its phase's last request")
	fs.StringVar(&o.family, "family", "v6", `the Services' IP family: "v6" (pool `+poolCIDR+`), "v4" (pool `+poolV4CIDR+`) or "mixed" (one in four IPv4, both pools)`)
	var levels string
	fs.StringVar(&levels, "api-limit", "", "instead of the controller's phases, measure the API server's own pace: -n Services, no controller, the controller's status patch sent by a plain client at each of these comma-separated concurrencies (e.g. 1,4,16,64)")
	fs.StringVar(&o.logDir, "log-dir", "", "keep the controller processes' logs in this directory (default: removed with the temporary directory)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for f := range strings.SplitSeq(levels, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		c, err := strconv.Atoi(f)
		if err != nil || c < 1 {
			return o, fmt.Errorf("-api-limit: %q is not a concurrency of 1 or more", f)
		}
		o.limitLevels = append(o.limitLevels, c)
	}
	if fs.NArg() > 0 {
		return o, errors.New("unexpected arguments: " + fs.Arg(0))
	}
	switch {
	case o.n < 1:
		return o, errors.New("-n must be at least 1")
	case len(o.limitLevels) == 0 && (o.churn < 0 || o.churn > o.n):
		return o, fmt.Errorf("-churn must be between 0 and -n (%d)", o.n)
	case o.restartNew < 0:
		return o, errors.New("-restart-new must not be negative")
	case o.workers < 1:
		return o, errors.New("-workers must be at least 1")
	case o.clients < 1:
		return o, errors.New("-clients must be at least 1")
	case o.timeout <= 0:
		return o, errors.New("-timeout must be positive")
	case o.family != "v6" && o.family != "v4" && o.family != "mixed":
		return o, fmt.Errorf("-family must be v6, v4 or mixed, not %q", o.family)
	}
	// The IPv6 cluster IP range (test/envtest.ServiceClusterIPRange, a
	// /112) holds 65,534 Services; the churn phase holds up to
	// n+restartNew+churn at once.
	// The IPv4 one (a /18) holds 16,382.
	peak := o.n + o.restartNew + o.churn
	if peak > 60000 {
		return o, fmt.Errorf("-n + -restart-new + -churn = %d: the test API server's IPv6 cluster IP range holds about 65,000 Services", peak)
	}
	if v4 := v4Count(o.family, peak); v4 > 16000 {
		return o, fmt.Errorf("-n + -restart-new + -churn = %d makes %d IPv4 Services with -family %s: the test API server's IPv4 cluster IP range holds about 16,000", peak, v4, o.family)
	}
	return o, nil
}

// v4Count is how many of n Services are IPv4 with family.
func v4Count(family string, n int) int {
	switch family {
	case "v4":
		return n
	case "mixed":
		return (n + 3) / 4
	}
	return 0
}
