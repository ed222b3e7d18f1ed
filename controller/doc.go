// Package controller is pylon's controller: it gives Services of type
// LoadBalancer external addresses from IPPools, writes their status, and
// reports on the pylon resources.
//
// Two reconcilers share one State:
//
//   - ConfigReconciler reads every pylon resource (and the password Secrets
//     in pylon's namespace), parses them with config.Parse, puts the result
//     in force and writes each resource's status conditions, IPPool counts
//     and events. Cross-object rules need the whole configuration, so all
//     of its watches map to one request.
//     It also gathers the addresses never handed out (unsafe.go: Nodes'
//     addresses and pod CIDRs, ServiceCIDRs, --service-cluster-ip-range)
//     and gives them to the allocator; Services that hold one keep it
//     with a warning.
//   - ServiceReconciler gathers a Service and its namespace, decides with
//     the allocator (decide, a function of the allocator and the request),
//     writes status.loadBalancer.ingress, its condition
//     pylonlb.io/AddressAssigned and the annotation naming the address's
//     pool in one status patch, only when one of them differs
//     (servicestatus.go), and sends an event when what it has to say
//     changes.
//
// A third, PeerSessionsReconciler, shares nothing with them: per BGPPeer it
// counts the speakers' sessions from the SpeakerStatuses into
// status.sessions.
//
// Before the first allocation of a leader term, State.restore rebuilds every
// allocation from the Services' status, oldest Service first. Addresses
// move only on a Service's own request (another pool or address asked
// for); a pool edit never renumbers. See docs/controller.md.
//
// The pure allocation state is in controller/allocator. Of pylon's, this
// package imports api/v1alpha1, config, controller/allocator and
// memberlistkey (the key Secret's format, which the speakers share);
// besides, the standard library, Kubernetes' libraries, controller-runtime
// and Prometheus's client. It never imports speaker or its subpackages, so
// that the controller's binary links neither memberlist nor GoBGP.
package controller
