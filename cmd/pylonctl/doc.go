// Command pylonctl is pylon's command-line tool. Installed as kubectl-pylon
// on the PATH it is also the kubectl plugin `kubectl pylon`.
//
//	pylonctl status                  is pylon healthy? (controller, speakers, pools, sessions)
//	pylonctl why svc/NAME -n NS      a Service's addresses, pool and who announces them
//	pylonctl bgp peers               every node's BGP sessions
//	pylonctl version                 this binary's and the running components' versions
//	pylonctl validate FILE|DIR|-...  offline checks of pylon resources: the CRDs' schemas and rules, then config
//	pylonctl migrate metallb         MetalLB's configuration as pylon's (and --apply the Services' annotations)
//	pylonctl completion bash|zsh|fish|powershell
//
// The cluster commands take kubectl's connection flags (--kubeconfig,
// --context, -n, ...) from k8s.io/cli-runtime and print a table, YAML or
// JSON (-o). status, why, bgp and version only read: Leases, Pods, Nodes,
// Services, EndpointSlices, Events and pylon's resources; never Secrets.
// migrate reads MetalLB's resources, the Secrets its peers name, Services
// and Namespaces, and with --apply patches Services' annotations.
//
// Exit status, for every command: 0 when all is well, 1 when the command
// found a problem (status: something unhealthy; why: the Service has no
// address or its announcement does not check out; validate: the files have
// problems; migrate: something did not convert), 2 when it could not answer
// (bad usage, unreadable files, the API server unreachable or refusing, the
// Service not found; validate: no pylon object in the files).
//
// It may import api/v1alpha1, config, speaker and its leaves (the
// functions the speakers plan with, so that an owner is recomputed the way
// the speakers compute it), deploy/crds (the CRDs validate checks against),
// its own internal packages and cmd/internal; never controller.
package main
