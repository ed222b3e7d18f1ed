// Package demo is `make demo`: pylon installed by Helm on a cluster of real
// nodes in the network lab of test/lab, on one machine, step by step, with
// a progress line and a timing per step and a summary table at the end.
//
// Run checks the machine (root, the lab's tools, the test API server and
// the node stack's binaries), reads the configuration in docs/examples
// (the files directly in it; more/ holds variations it does not apply)
// and checks that it fits the lab, builds pylon's controller and speaker
// images and the backend's (test/images, no daemon), brings the lab up
// with its node stack (an API server with kube-controller-manager and
// kube-scheduler, three nodes running containerd, the kubelet and
// kube-proxy, an FRR router, a local and a remote client), installs
// deploy/charts/pylon with the Helm SDK (test/chart) and waits for its
// pods, applies the examples and waits for BGP sessions from every node,
// then shows:
//
//   - a backend Deployment (a pod a node, answering with its pod's name)
//     and two LoadBalancer Services selecting it, both
//     externalTrafficPolicy Local so that the pod that answers is on the
//     node that took the traffic: web-l2 from the pool the
//     L2Advertisement announces, web-bgp from the pool the
//     BGPAdvertisement announces (and `kubectl get ippools`);
//   - the local client reaching web-l2 over layer 2, with the node that
//     answered ARP and the pod that served; the remote client reaching
//     web-bgp through the router, with the router's next hops;
//   - the owner of web-l2 failing as a crashed machine does (its frames
//     dropped by the bridge, its speaker's container SIGKILLed through the
//     node's containerd): the longest gap the local client saw, the node
//     that answers now, and how long the router took to drop the node's
//     BGP routes;
//   - the node coming back (link healed; its kubelet restarts the
//     speaker's container).
//
// Each step has a timeout; one that does not happen in time fails the demo
// with a message that says what was last seen and which logs to read (the
// lab keeps its directory then). A pod that cannot run (an image the node
// lacks, a container that keeps crashing) fails the step at once, naming
// the pod and the reason. With Options.Keep the lab stays up after the
// summary until the context ends, and Run prints how to use it.
//
// cmd/pylonlab's `demo` runs it for people; test/e2e's TestDemo runs it
// without a terminal and checks the Summary, so the demo cannot rot. The
// package is for those two only: pylon's components must not import it.
// It may import test/lab, test/chart, test/images, test/envtest, test/poll,
// pylon's api/, config/ and controller/ (for names), and Kubernetes'
// libraries.
package demo
