package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// options are the controller's flags.
type options struct {
	kubeconfig        string
	metricsAddr       string
	probeAddr         string
	leaderElect       bool
	leaderElectionNS  string
	loadBalancerClass string
	namespace         string
	workers           int
	keySecret         string
	serviceCIDRs      []netip.Prefix
	metricsSecure     bool
	version           bool
	zap               zap.Options
}

func parseFlags(args []string) (options, error) {
	o := options{}
	fs := flag.NewFlagSet("controller", flag.ContinueOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "path to a kubeconfig; unset: $KUBECONFIG, then in-cluster")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "address of the metrics endpoint; 0 turns it off")
	fs.BoolVar(&o.metricsSecure, "metrics-secure", true, "serve metrics over HTTPS, only to clients the API server authenticates and authorizes (get on /metrics); false: plain HTTP")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz; 0 turns it off")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "take a leader lease, so that of several replicas one works")
	fs.StringVar(&o.leaderElectionNS, "leader-election-namespace", "", "namespace of the lease (default: --namespace)")
	fs.StringVar(&o.loadBalancerClass, "load-balancer-class", "", "serve Services of this spec.loadBalancerClass; unset: Services with no class")
	fs.StringVar(&o.namespace, "namespace", envOr("POD_NAMESPACE", "pylon-system"), "namespace pylon runs in; BGP password Secrets are read there")
	fs.IntVar(&o.workers, "workers", 8, "Services reconciled at once")
	fs.StringVar(&o.keySecret, "memberlist-key-secret", "pylon-memberlist", "Secret in --namespace holding the speakers' memberlist keys; created with a random key when missing (\"\" turns that off)")
	fs.Func("service-cluster-ip-range", "the cluster's Service CIDRs, comma-separated (as given to kube-apiserver), never handed out to a LoadBalancer; needed where the API server serves no networking.k8s.io/v1 ServiceCIDR objects", func(s string) error {
		for _, part := range strings.Split(s, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(part))
			if err != nil {
				return fmt.Errorf("%q is not a CIDR", part)
			}
			o.serviceCIDRs = append(o.serviceCIDRs, p.Masked())
		}
		return nil
	})
	o.zap.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.version {
		return o, nil
	}
	if fs.NArg() > 0 {
		return o, errors.New("unexpected arguments: " + fs.Arg(0))
	}
	if o.workers < 1 {
		return o, errors.New("--workers must be at least 1")
	}
	if o.namespace == "" {
		return o, errors.New("--namespace must not be empty")
	}
	if o.leaderElectionNS == "" {
		o.leaderElectionNS = o.namespace
	}
	return o, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
