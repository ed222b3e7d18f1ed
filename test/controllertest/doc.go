// Package controllertest starts pylon's controller in a test, as
// cmd/controller runs it (controller.ManagerOptions, controller.Setup),
// against a test API server of test/envtest, with short leader-election
// timings and no metrics or probe listeners. The controller's own tests and
// pylonctl's use it, so there is one such harness.
//
// Of pylon's, it imports controller (and what that links) and test/envtest;
// besides, controller-runtime, Prometheus's client and the standard
// library's testing. Only tests import it.
package controllertest
