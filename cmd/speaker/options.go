package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/pylonlb/pylon/speaker/membership"
)

// options are the speaker's flags.
type options struct {
	nodeName          string
	kubeconfig        string
	metricsAddr       string
	probeAddr         string
	pprofAddr         string
	namespace         string
	loadBalancerClass string
	keySecret         string
	keyWait           time.Duration
	mlBindAddr        string
	mlPort            int
	mlAdvertiseAddr   string
	profile           membership.Profile
	handoff           time.Duration
	gratuitousCount   int
	bgp               bool
	metricsSecure     bool
	version           bool
	zap               zap.Options
}

func parseFlags(args []string) (options, error) {
	o := options{profile: membership.LANProfile()}
	fs := flag.NewFlagSet("speaker", flag.ContinueOnError)
	fs.StringVar(&o.nodeName, "node-name", os.Getenv("NODE_NAME"), "this node's name (default $NODE_NAME)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "path to a kubeconfig; unset: $KUBECONFIG, then in-cluster")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":7472", "address of the metrics endpoint; 0 turns it off")
	fs.BoolVar(&o.metricsSecure, "metrics-secure", true, "serve metrics over HTTPS, only to clients the API server authenticates and authorizes (get on /metrics); false: plain HTTP")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":7473", "address of /healthz and /readyz; 0 turns it off")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "0", "address of Go's /debug/pprof profiles (plain HTTP, no auth: bind to 127.0.0.1); 0 turns it off")
	fs.StringVar(&o.namespace, "namespace", envOr("POD_NAMESPACE", "pylon-system"), "namespace pylon runs in (memberlist key and BGP password Secrets)")
	fs.StringVar(&o.loadBalancerClass, "load-balancer-class", "", "serve Services of this spec.loadBalancerClass; unset: Services with no class")
	fs.StringVar(&o.keySecret, "memberlist-key-secret", "pylon-memberlist", "Secret in --namespace with the memberlist keys (the controller creates it)")
	fs.DurationVar(&o.keyWait, "memberlist-key-wait", 2*time.Minute, "how long to wait at start for the API server (the Node) and the memberlist key Secret")
	fs.StringVar(&o.mlBindAddr, "memberlist-bind-address", "0.0.0.0", "address memberlist listens on")
	fs.IntVar(&o.mlPort, "memberlist-port", membership.DefaultPort, "memberlist TCP and UDP port")
	fs.StringVar(&o.mlAdvertiseAddr, "memberlist-advertise-address", "", "address other speakers reach this one at (default: the node's InternalIP)")
	fs.DurationVar(&o.profile.ProbeInterval, "memberlist-probe-interval", o.profile.ProbeInterval, "memberlist failure detection: time between probes of one member")
	fs.DurationVar(&o.profile.ProbeTimeout, "memberlist-probe-timeout", o.profile.ProbeTimeout, "memberlist: wait this long for a probe's answer before indirect probes")
	fs.IntVar(&o.profile.SuspicionMult, "memberlist-suspicion-mult", o.profile.SuspicionMult, "memberlist: a suspected member is declared dead after this many probe intervals (× log10 members)")
	fs.DurationVar(&o.profile.GossipInterval, "memberlist-gossip-interval", o.profile.GossipInterval, "memberlist: time between gossip rounds")
	fs.DurationVar(&o.handoff, "handoff-delay", time.Second, "on SIGTERM: keep answering this long after leaving memberlist, while the successor announces")
	fs.BoolVar(&o.bgp, "bgp", true, "run the embedded BGP speaker (peers and advertisements come from BGPPeer and BGPAdvertisement; router ID: the Node's pylonlb.io/bgp-router-id annotation, else its IPv4 InternalIP)")
	fs.IntVar(&o.gratuitousCount, "gratuitous-count", 3, "rounds of gratuitous ARP / unsolicited NA when taking an address")
	o.zap.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.version {
		return o, nil
	}
	switch {
	case fs.NArg() > 0:
		return o, errors.New("unexpected arguments: " + fs.Arg(0))
	case o.nodeName == "":
		return o, errors.New("--node-name (or $NODE_NAME) is required")
	case o.namespace == "":
		return o, errors.New("--namespace must not be empty")
	case o.mlPort < 1 || o.mlPort > 65535:
		return o, fmt.Errorf("--memberlist-port %d: must be 1..65535", o.mlPort)
	case o.handoff < 0:
		return o, errors.New("--handoff-delay must not be negative")
	case o.gratuitousCount < 1:
		return o, errors.New("--gratuitous-count must be at least 1")
	}
	if err := o.profile.Validate(); err != nil {
		return o, fmt.Errorf("memberlist flags: %w", err)
	}
	return o, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
