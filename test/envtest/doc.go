// Package envtest starts a real kube-apiserver and etcd, with pylon's CRDs
// installed, for tests that need the API server's own behaviour: OpenAPI
// schema checks, CEL rules, defaulting, server-side apply, kubectl output.
//
// It wraps controller-runtime's envtest. The binaries come from the directory
// named by KUBEBUILDER_ASSETS, which `make test` sets from
// hack/envtest-assets.sh (it builds kube-apiserver, etcd and kubectl from the
// Go module proxy on first use). Without it, Start skips the test, loudly;
// with PYLON_REQUIRE_ENVTEST=1 (as `make test` sets) it fails instead, so a
// CI run can never pass by skipping the API server.
//
//	func TestSomething(t *testing.T) {
//		env := envtest.Start(t)
//		err := env.Client.Create(ctx, pool)
//		out, err := env.Kubectl(ctx, "get", "ippools")
//	}
//
// StartWith takes Options: the network lab (test/lab) binds the API server
// to the host's address on the lab's segment so that node namespaces reach
// it, keeps its files in the lab's directory and bounds the stop timeout.
// Launch does the same without a testing.TB, for commands (cmd/pylonlab)
// and harnesses that stop it themselves (Env.Stop). Options.Nodes sets the
// API server up for real kubelets (Node,RBAC authorization, NodeRestriction
// and ServiceAccount admission), as the lab's node stack needs, and
// Env.ServiceAccountKeyFile is the key kube-controller-manager signs with. Env.AddUser provisions
// further users (a kubeconfig per lab node); Env.RestartAPIServer,
// StopAPIServer and StartAPIServer restart kube-apiserver alone, keeping
// etcd, its address and its certificates, so clients stay valid.
//
// WantForbidden checks that the API server refused a request (403) and
// why, for the RBAC and admission tests of test/deploy and test/e2e.
//
// This package is for tests and cmd/pylonlab only: it imports
// controller-runtime's envtest and nothing of pylon's but api/v1alpha1, and
// not the testing package (Start and WantForbidden take a TB, which
// *testing.T satisfies). Production code must not import it.
package envtest
