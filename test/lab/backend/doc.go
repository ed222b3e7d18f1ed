// Command backend is the network lab's HTTP backend: a server that answers
// every request with the name of the node that took the client's traffic,
// so a client that reaches a load-balancer address learns which node that
// was. The lab starts one in each node namespace, as a host-network pod
// would run, and a Service's EndpointSlices point at them (lab.SetEndpoints);
// as an image it is the test backend's pods.
//
// Which node took the traffic: kube-proxy delivers a connection that came
// in on this node to the local backend with the client's address, and
// one it forwards from another node with that node's address as the
// source (it masquerades external traffic of externalTrafficPolicy
// Cluster). So the answer is the node whose address --node-addrs maps the
// peer's address to, and otherwise $NODE_NAME, this process's own.
//
// It imports only the standard library: it is built into a static binary
// for the backend's image.
package main
