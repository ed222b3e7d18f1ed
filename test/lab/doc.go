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
//	                backend on :18080; containerd, kubelet, kube-proxy and pods in
//	                198.19.K.0/24 on bridge cni0 (the node stack, below)
//	pylXXXXXX-c1    local client on the segment: 198.18.0.100, on-link routes to the pools
//	pylXXXXXX-c2    remote client behind the router: 198.18.1.2, default via r1
//	pylXXXXXX-r2    second router (Options.SecondRouter), FRR or BIRD, AS 64513:
//	                eth0 198.18.0.3 / 2001:db8:18::3, eth1 198.18.2.1 / 2001:db8:18:2::1
//	                towards c2's eth1 198.18.2.2 / 2001:db8:18:2::2; c2 routes what it
//	                sends from those through r2 (ip rule, table 2), the nodes route
//	                198.18.2.0/24 and 2001:db8:18:2::/64 via r2
//
// MACs are fixed: 02:00 followed by the IPv4 address (n1 is
// 02:00:c6:12:00:0b). Every namespace has accept_dad=0 (set before any
// link is up), arp_ignore=1 and arp_announce=2, so a node's kernel never
// answers ARP for an address it does not hold on that link. Only reserved
// ranges are used: 198.18.0.0/15 for links; tests take pool addresses from
// PoolV4 (198.51.100.0/24), PoolV4Alt (203.0.113.0/24) and PoolV6
// (2001:db8:51::/64). 198.19.192.0/18 is the API server's Service range,
// 198.19.0.0/18 the node stack's pods.
//
// # The router
//
// FRR's zebra and bgpd run as a netlab.FRR: in the foreground under the
// lab's process control (no systemd, no -d), dropping to the frr user,
// with config, pid files, vty sockets and logs in Dir/frr. bgpd accepts dynamic
// neighbours from the whole segment (`bgp listen range` into peer-groups
// NODES4 and NODES6, remote-as external unless Options.NodeASN says),
// timers 3 9, `no bgp ebgp-requires-policy`, maximum-paths 16 for ECMP,
// both address families on either session. Router.View parses `show bgp
// ... json` into sessions and paths (next hops, AS path, local-pref,
// communities, large communities); Router.KernelRoutes reads the FIB,
// which is faster for timing; Router.Vtysh runs anything else.
//
// With Options.Router RouterBIRD the router is BIRD 2 instead (a
// netlab.BIRD, its state in Dir/bird): the same addresses, dynamic
// neighbours from the whole segment (`neighbor range`, one protocol per
// family's range, AS as above), hold time 9, both address families on
// either session, kernel protocols merging equal paths for ECMP.
// With Options.BFD its bfd protocol runs the profile and its BGP
// protocols have `bfd on`. Router.View, Sessions, KernelRoutes and
// BFDPeers read it the same way; the vtysh helpers are FRR's alone.
//
// Options.SecondRouter adds r2 (Lab.Router2), FRR or BIRD, configured as
// r1 is: the nodes can peer with both (two routers in front of the
// cluster), and the remote client reaches the pools through either
// (Host.GetFrom with Lab.RemoteVia2IPv4/IPv6 goes through r2).
// Options.RouteReflector makes r1 an iBGP route reflector instead, in the
// nodes' AS with the nodes as its clients (FRR's route-reflector-client,
// BIRD's rr client), and r2 an iBGP non-client of r1 peering with r1
// alone: an upstream learning the Services through the reflector.
// Router.RestartBGP restarts either kind's BGP daemon.
//
// # The cluster
//
// The API server is test/envtest's, launched with BindAddress 198.18.0.1
// so the nodes reach it. Every lab's nodes are real Kubernetes nodes (the
// node stack, below): the kubelets register the Nodes (InternalIPs: the
// node's lab addresses, both families), kube-controller-manager keeps
// EndpointSlices of Services with selectors, and kube-proxy in every node
// namespace DNATs load-balancer addresses to endpoints. The lab writes
// one admin kubeconfig per node (Node.Kubeconfig) for the processes tests
// start there.
//
// Each node also runs the lab's backend on BackendPort, as a host-network
// pod would. A test's Service without a selector gets endpoints on chosen
// nodes, in chosen states (ready, serving, terminating), at those
// backends with SetEndpoints; without a load-balancer controller, tests
// write Service status with SetIngress. The backend answers with the name
// of the node that took the traffic: its own when kube-proxy delivered
// the connection locally, the forwarding node's when kube-proxy on that
// node sent it over (externalTrafficPolicy Cluster masquerades it to that
// node's address), so Host.Get from a client tells which node the
// client's traffic reached, whatever endpoint kube-proxy chose.
//
// # The node stack
//
// The binaries come from Options.NodeStack.Assets, by default
// $PYLON_NODE_ASSETS (hack/node-assets.sh), the CNI plugins from Debian's
// containernetworking-plugins (/usr/lib/cni). The API server then runs
// with Node,RBAC authorization, the NodeRestriction and ServiceAccount
// admission plugins and --kubelet-preferred-address-types
// InternalIP,Hostname. Next to it, in the host's namespace and as cluster
// admin, run kube-controller-manager (default ServiceAccounts,
// EndpointSlices, NotReady detection, kube-root-ca.crt; it signs with the
// API server's ServiceAccount key) and kube-scheduler. Each node K runs,
// in its namespace, entered with `nsenter --net` so that they keep the
// host's mounts (ProcessSpec.HostMounts; `ip netns exec` would hide the
// cgroup hierarchy):
//
//	containerd-nK   containerd v2, own root, state, sockets and runc root
//	                under Dir/nodes/nK; sandbox network namespaces under its
//	                state directory; pause image PauseImage, built and
//	                imported at bring-up with NodeStack.Images;
//	                ImportImages imports more into every node later
//	kubelet-nK      user system:node:nK (group system:nodes), node IPs
//	                both of the node's addresses, cgroupfs
//	                without QoS cgroups, pods from 198.19.K.0/24
//	                (Node.PodCIDR) on bridge cni0 (host-local IPAM, no
//	                masquerading); its API on the node's address, anonymous
//	                and AlwaysAllow (so the API server's log and exec
//	                requests need no kubelet client certificate)
//	kube-proxy-nK   NodeStack.ProxyMode: nftables (default), iptables
//	                (iptables-restore, nf_tables backend) or ipvs (strictARP
//	                from NodeStack.StrictARP; needs IPVSAvailable); user
//	                system:kube-proxy, cluster CIDR ClusterCIDR (198.19.0.0/18)
//
// kube-proxy's rules, in any mode, live in the node's namespace and go with
// it. In ipvs mode without StrictARP a node has the kernel's ARP defaults
// (arp_ignore=0, arp_announce=0), not the lab's, as a real node has them:
// its kernel then answers ARP for kube-ipvs0's addresses.
//
// BuildBackendImage makes the nodes' HTTP backend an image (BackendImage)
// for NodeStack.Images; BackendDeployment is a Deployment of it (a pod a
// node, each answering with its pod's name). KillContainer SIGKILLs a
// container through its node's containerd (`ctr tasks kill`), as a crash
// of that process; the kubelet restarts it. NodeStackOnHost counts what a
// lab's node stack has on the host (`pylonlab status` prints it).
//
// Every node forwards and routes the other nodes' pod ranges to them; the
// host routes every pod range to its node. New waits until every Node is
// Ready. No cluster DNS: pods
// get an empty resolv.conf. The kubelet's /stats/summary fails (no
// metrics-server). Node processes (StartOnNode) keep their admin
// kubeconfigs.
//
// What the nodes share on the host, and Close (or the next lab, after a
// crash) removes: the containers' cgroups (CgroupRoot/<controller>/k8s.io/<id>,
// every node's containerd uses that parent), the shims' sockets
// (ShimSocketDir, fixed by containerd) and every mount under Dir (sandbox
// network namespaces, container root filesystems, pod volumes). Containers
// and shims outlive the daemons, so teardown stops tests' processes, then
// the kubelets, kube-proxies and controllers, then containerd, and then
// kills what is left in the containers' cgroups and every shim whose
// command line names Dir.
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
// # Layers
//
// The network underneath is test/netlab's, the layer without an API
// server: a Lab here is a netlab.Lab that holds the machine's lab lock
// (Prefix "pyl" and six random hex digits; one such lab runs per machine at
// a time: the host's link and addresses exist once), with the API server,
// the node stack and the backends on top. netlab gives the namespaces, the
// switch, processes (StartProcess, Process, ProcessSpec: what tests start
// stops first, FRR last), the FRR router (Router.FRR), the lab's record,
// the lock and the sweep of dead runs; this package adds what it knows of
// the cluster: the node stack's leftovers on the host, which the sweep
// removes for dead runs (its CleanDir), and the API server's processes in
// the record.
//
// # Cleanliness
//
// Everything a run creates carries its prefix. A starting lab removes what
// dead runs left (netlab's sweep: processes in their records, processes
// whose command line names a dead run's directory, processes inside their
// namespaces, the namespaces and host links, and what their node stacks
// left on the host). Processes the lab starts get SIGKILL if the lab's
// process dies (Pdeathsig), but for FRR's daemons, which drop to the frr
// user (the kernel then clears it): the next lab kills them by the
// record. Close stops everything in order (tests and controller, the node
// stack, backends, FRR), then removes the node stack's leftovers, stops
// the API server (before etcd, SIGKILL after a grace period) and removes
// the namespaces, the host link, the record and Dir; Start keeps Dir after
// a failed test and logs its path.
//
// This package is for tests and cmd/pylonlab only; pylon's components
// must not import it. It needs Linux, root, iproute2, nftables, procps,
// arping, ndisc6 and frr (.ci/run installs them), and the test API server
// binaries (KUBEBUILDER_ASSETS, from hack/envtest-assets.sh); the node
// stack also needs nsenter (util-linux), the CNI plugins and the node
// binaries. It may import test/envtest, test/images, test/netlab and
// test/gen, and not the testing package: Start and Require take a TB, which
// *testing.T satisfies, so that cmd/pylonlab links no testing package.
package lab
