// Package lab builds pylon's network lab on one Linux machine, as root:
// network namespaces for a layer-2 segment, nodes, an FRR router and two
// clients, a real API server the nodes reach, and the probes end-to-end
// tests look through.
//
// # Topology
//
//	host (root ns)  pylXXXXXX-h 198.18.0.1  2001:db8:18::1   kube-apiserver binds here; etcd on loopback
//	pylXXXXXX-sw    bridge br0 (no STP, no forward delay); a port p-<host> per host
//	pylXXXXXX-r1    router: FRR zebra+bgpd, AS 64513, eth0 198.18.0.2 / 2001:db8:18::2,
//	                eth1 198.18.1.1 / 2001:db8:18:1::1 towards c2; forwards
//	pylXXXXXX-nK    node K: eth0 198.18.0.(10+K) / 2001:db8:18::(10+K), default via r1,
//	                backend on :18080, kube-proxy stand-in (nft table inet pylonlab_proxy)
//	pylXXXXXX-c1    local client on the segment: 198.18.0.100, on-link routes to the pools
//	pylXXXXXX-c2    remote client behind the router: 198.18.1.2, default via r1
//
// MACs are fixed: 02:00 followed by the IPv4 address (n1 is
// 02:00:c6:12:00:0b). Every namespace has accept_dad=0 (set before any
// link is up), arp_ignore=1 and arp_announce=2, so a node's kernel never
// answers ARP for an address it does not hold on that link. Only reserved
// ranges are used: 198.18.0.0/15 for links; tests take pool addresses from
// PoolV4 (198.51.100.0/24), PoolV4Alt (203.0.113.0/24) and PoolV6
// (2001:db8:51::/64). 198.19.192.0/18 is the API server's Service range.
//
// # The router
//
// FRR's zebra and bgpd run in the foreground under the lab's process
// control (no systemd, no -d), dropping to the frr user, with config,
// pid files, vty sockets and logs in Dir/frr. bgpd accepts dynamic
// neighbours from the whole segment (`bgp listen range` into peer-groups
// NODES4 and NODES6, remote-as external unless Options.NodeASN says),
// timers 3 9, `no bgp ebgp-requires-policy`, maximum-paths 16 for ECMP,
// both address families on either session. Router.View parses `show bgp
// ... json` into sessions and paths (next hops, AS path, local-pref,
// communities, large communities); Router.KernelRoutes reads the FIB,
// which is faster for timing; Router.Vtysh runs anything else.
//
// # The cluster
//
// The API server is test/envtest's, launched with BindAddress 198.18.0.1
// so the nodes reach it. The lab registers a Ready Node per node
// namespace (InternalIPs: its lab addresses) and writes one kubeconfig per
// node (Node.Kubeconfig). There is no kube-controller-manager: tests
// write EndpointSlices with SetEndpoints (ready, serving and terminating
// endpoints on chosen nodes) and, without a load-balancer controller,
// Service status with SetIngress. There is no kubelet either: Nodes stay
// as written.
//
// The kube-proxy stand-in re-reads Services and EndpointSlices every
// 200 ms (SyncProxy does it at once) and, in each node namespace, DNATs
// every LoadBalancer ingress IP and TCP port the node should serve to the
// node's backend, which answers with the node's name: Host.Get from a
// client tells which node took the traffic. Cluster policy: every node
// serves while the Service has a usable endpoint; Local: only nodes with
// one. Nothing else DNATs, so traffic nobody should serve is dropped.
//
// # Processes and faults
//
// StartController runs a binary in the host's namespace with the admin
// kubeconfig; StartOnNode / StartOnNodes run one in a node namespace with
// NODE_NAME and KUBECONFIG set. StartControllerAs and StartOnNodeAs take
// another kubeconfig: ServiceAccountKubeconfig writes one with a
// TokenRequest token of a ServiceAccount, bound, when given one, to a Pod
// (CreatePodOn makes the Pod a DaemonSet would have on a node), so that
// the API server authenticates it with the node's name as it does the
// kubelet's tokens. Each Process logs to Dir/logs/<name>.log
// and can be killed (Kill), stopped (Term), restarted (Restart) and
// started again. Faults on the network: Cut and Heal (the bridge drops a
// node's frames silently), LinkDown and LinkUp (its port loses carrier);
// on the control plane: RestartAPIServer, StopAPIServer, StartAPIServer.
//
// # Probes
//
// Host.WhoHas tells which MACs answer ARP (arping) or neighbour
// solicitation (ndisc6) for an address; Host.Get does an HTTP GET through
// the client's namespace; Host.StartSampler probes every 20 ms (each
// probe on its own, 500 ms timeout) and reports the longest gap between
// answers and every change of answering node.
//
// # Cleanliness
//
// Everything a run creates carries its prefix, "pyl" and six random hex
// digits. One lab runs per machine at a time (a lock in StateDir: the
// host's link and addresses exist once); the kernel drops the lock if its
// holder dies. A starting lab removes what dead runs left: processes in
// their records (PID and start time must match), processes whose command
// line names a dead run's directory (an API server whose starter died),
// processes inside family namespaces, the namespaces and host links of
// the family. Processes the lab starts get SIGKILL if the lab's process
// dies (Pdeathsig). Close stops everything in order (tests and
// controller, backends, FRR, then the API server before etcd, SIGKILL
// after a grace period) and removes the namespaces, the host link, the
// record and Dir; Start keeps Dir after a failed test and logs its path.
//
// This package is for tests and cmd/pylonlab only; pylon's components
// must not import it. It needs Linux, root, iproute2, nftables, procps,
// arping, ndisc6 and frr (.ci/run installs them), and the test API server
// binaries (KUBEBUILDER_ASSETS, from hack/envtest-assets.sh).
package lab
