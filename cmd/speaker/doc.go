// Command speaker is pylon's speaker: one per node (a DaemonSet), it makes
// the node answer ARP/NDP for the Service addresses it owns, choosing owners
// with every other speaker alike, and hands them over on SIGTERM.
//
// Of pylon's it imports api/v1alpha1, memberlistkey, speaker and its leaves
// and the commands' internal packages; besides, the standard library,
// Kubernetes' libraries, controller-runtime and logr. It never imports
// controller or its subpackages.
package main
