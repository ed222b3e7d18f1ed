// Command bench-alloc measures pylon's controller end to end against a real
// kube-apiserver and etcd: how fast LoadBalancer Services get their
// addresses, what the controller costs in CPU and memory, how many writes
// it sends the API server, and whether addresses stay put across a restart
// and under churn.
//
//	go run ./hack/bench-alloc -n 5000
//
// It starts the test API server with controller-runtime's envtest (the same
// binaries, CRDs and Service cluster IP range as test/envtest, whose Start
// needs a testing.TB, so the ~15 lines that build the environment are
// repeated in env.go), builds cmd/controller, creates an IPPool and runs the
// controller binary as a child process. Then three phases:
//
//   - create: N LoadBalancer Services from -clients concurrent clients; a
//     watch records when each first shows status.loadBalancer.ingress.
//   - restart: the controller is stopped with SIGTERM, -restart-new
//     Services are created while it is down, a fresh process is started; it
//     must give the new ones addresses quickly and write nothing for the
//     standing ones.
//   - churn: -churn standing Services are deleted and as many created, at
//     once; no standing address may move, no address may be held twice.
//
// With -api-limit 1,4,16,64 it runs no controller and measures the API
// server's own pace instead: -n Services are created, then a plain client
// sends each the controller's status patch (address, condition and pool
// annotation in one write) at each of the concurrencies, and once more at
// the best one with an Event for each Service as well (the controller's
// second write). That is the ceiling a controller serving a backlog can
// reach on the same machine.
//
// The results are printed as a markdown table on stdout, progress on
// stderr. The exit status is 1 when a correctness check fails (an address
// moved, an address held by two Services, a Service without an address
// -timeout after its phase's last request) or the run could not be set up;
// performance targets missed are reported as FAIL in the table but do not
// change the exit status.
//
// The address pool is 2001:db8:b0::/64 (IPv6 documentation prefix) and the
// Services are single-stack IPv6; their cluster IPs come from the test API
// server's 2001:db8:ffff::/112. -family v4 or mixed (one Service in four)
// adds the pool 198.18.0.0/16 (the benchmarking range) for single-stack
// IPv4 Services, whose cluster IPs come from 198.19.192.0/18 (about 16,000
// of them). Nothing is ever sent to any of these addresses: no speaker runs.
//
// Of pylon's it imports api/v1alpha1, test/envtest, test/gen, test/images
// (the static build the images use), test/poll
// and test/procfs; the controller runs as a binary, never in-process.
package main
