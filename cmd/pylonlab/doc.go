// Command pylonlab brings pylon's network lab (test/lab) up and down by
// hand, for looking around in it: node namespaces on a bridge, an FRR
// router, a local and a remote client, a real API server. It needs root.
//
//	pylonlab up [-nodes 3] [-node-asn 0] [-node-stack]
//	                                       build a lab; runs until Ctrl-C, then tears it down;
//	                                       -node-stack: real nodes (containerd, kubelet, kube-proxy)
//	pylonlab status                        labs, records and leftovers on this machine
//	pylonlab down                          remove what crashed labs left behind
//	pylonlab demo [-keep]                  pylon itself in a lab, step by step (test/demo; `make demo`)
//
// The end-to-end tests build the same lab through test/lab and run the same
// demo through test/demo; this command is only a thin front to them.
//
// It imports test/lab, test/netlab, test/demo, test/envtest and
// test/images, logr and controller-runtime's log. It is not shipped, and
// it links no testing package: the labs take a small interface where a
// test passes its *testing.T (test/imports checks it).
package main
