// Command controller is pylon's controller: it assigns external addresses
// from IPPools to Services of type LoadBalancer. Run two replicas with
// --leader-elect; the one holding the lease does the work.
//
// Of pylon's it imports api/v1alpha1, controller and the commands' internal
// packages; besides, the standard library, Kubernetes' libraries and
// controller-runtime. Its binary links nothing of the speaker: not
// speaker/..., not memberlist (nor memberlist's DNS library), not GoBGP.
package main
