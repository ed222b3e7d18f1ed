package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

const usage = `usage:
  pylonlab up [-nodes N] [-node-asn ASN] [-node-stack]
                                           build a lab; runs until interrupted, then tears it down;
                                           -node-stack: real nodes (containerd, kubelet, kube-proxy)
  pylonlab status                          labs, records and leftovers on this machine
  pylonlab down                            remove what crashed labs left behind
  pylonlab demo [-keep]                    pylon in a lab, step by step (make demo); -keep: stay up until interrupted
`

// options are the parsed command line.
type options struct {
	command string
	nodes   int
	nodeASN uint
	keep    bool
	// nodeStack makes `up` build real nodes (lab.Options.NodeStack).
	nodeStack bool
}

func parseArgs(args []string) (options, error) {
	if len(args) == 0 {
		return options{}, errors.New("no command")
	}
	o := options{command: args[0]}
	fs := flag.NewFlagSet("pylonlab "+o.command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	switch o.command {
	case "up":
		fs.IntVar(&o.nodes, "nodes", 3, "node namespaces (1 to 50)")
		fs.UintVar(&o.nodeASN, "node-asn", 0, "AS the router expects the nodes in; 0: any but its own (eBGP)")
		fs.BoolVar(&o.nodeStack, "node-stack", false, "real nodes: containerd, kubelet and kube-proxy in every node namespace")
	case "demo":
		fs.BoolVar(&o.keep, "keep", false, "after the summary, leave the lab running until interrupted")
	case "down", "status":
	default:
		return o, fmt.Errorf("unknown command %q", o.command)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.command == "up" && (o.nodes < 1 || o.nodes > 50) {
		return o, fmt.Errorf("-nodes %d: want 1 to 50", o.nodes)
	}
	if o.nodeASN > 1<<32-1 {
		return o, fmt.Errorf("-node-asn %d: not a 32-bit AS number", o.nodeASN)
	}
	return o, nil
}
