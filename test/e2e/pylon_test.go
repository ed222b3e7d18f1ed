package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/images"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// pylonNS is where the lab's pylon runs.
const pylonNS = "pylon-system"

// buildPylon builds the controller and the speaker into buildDir "bin"
// (after the first, go build finds them up to date).
func buildPylon(t testing.TB) (controller, speaker string) {
	t.Helper()
	dir := buildDir(t, "bin")
	var err error
	if controller, err = images.BuildStatic(t.Context(), "./cmd/controller", dir, ""); err != nil {
		t.Fatalf("building the controller: %v", err)
	}
	if speaker, err = images.BuildStatic(t.Context(), "./cmd/speaker", dir, ""); err != nil {
		t.Fatalf("building the speaker: %v", err)
	}
	return controller, speaker
}

// pylon is pylon running in a lab: the controller and one speaker a node,
// each with its ServiceAccount's token and exactly the rights pylon.yaml
// gives it (see shipped_test.go).
type pylon struct {
	lab        *lab.Lab
	controller *lab.Process
	speakers   map[string]*lab.Process
	// apiStarts are when a test (re)started the API server: until it has
	// loaded its RBAC objects it refuses everything, which says nothing
	// of the shipped roles.
	apiStarts []time.Time
}

// apiStarting records that the API server is (re)started now.
func (p *pylon) apiStarting() { p.apiStarts = append(p.apiStarts, time.Now()) }

// startingAPIServer reports whether a log line's timestamp ("ts", zap's
// JSON) falls within 20 s after an API server start.
func (p *pylon) startingAPIServer(line string) bool {
	_, rest, ok := strings.Cut(line, `"ts":"`)
	if !ok {
		return false
	}
	stamp, _, _ := strings.Cut(rest, `"`)
	at, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return false
	}
	for _, s := range p.apiStarts {
		if !at.Before(s.Truncate(time.Second)) && at.Before(s.Add(20*time.Second)) {
			return true
		}
	}
	return false
}

// startPylon applies pylon.yaml's namespace, RBAC and admission policy,
// starts the controller (with leader election, as the Deployment runs it)
// and the speakers under their ServiceAccounts, and applies an IPPool over
// the lab's pool ranges with an L2Advertisement for it. When the test
// ends, it fails if any of them was refused a request (logged a 403).
//
// Tests run pylon so only when they must control its processes: kill or
// signal one at a chosen moment, restart it at once or while the API
// server is down, kill it in a loop, act with its own token, read its
// resident memory; each says why. The others run it as a cluster does:
// startPylonPods (Helm, the DaemonSet and the Deployment from pylon's
// images), and TestCluster.
//
// speakerArgs are added to the speakers' flags (and may override the
// metrics address: the last flag given wins).
func startPylon(t testing.TB, l *lab.Lab, speakerArgs ...string) *pylon {
	t.Helper()
	ctrlBin, spkBin := buildPylon(t)
	s := installShipped(t, l)
	p := &pylon{lab: l, speakers: map[string]*lab.Process{}}
	var err error
	p.controller, err = l.StartControllerAs(controllerKubeconfig(t, l, s), ctrlBin,
		"--namespace="+pylonNS, "--leader-elect", "--metrics-bind-address=0", "--health-probe-bind-address=0")
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range l.Nodes {
		kc := speakerKubeconfig(t, l, s, n)
		if i == 0 {
			waitPolicy(t, l, kc)
		}
		sp, err := l.StartOnNodeAs(n, kc, "speaker", spkBin, append([]string{
			"--namespace=" + pylonNS, "--metrics-bind-address=0", "--health-probe-bind-address=0", "--zap-log-level=info"}, speakerArgs...)...)
		if err != nil {
			t.Fatal(err)
		}
		p.speakers[n.Name] = sp
	}
	t.Cleanup(func() { checkNotRefused(t, p.startingAPIServer, p.processes()...) })
	labPool(t, l)
	// Every speaker up and seeing all the others.
	waitMembersAlive(t, l)
	return p
}

// labPool creates the IPPool "lab" over the lab's pool ranges with an
// L2Advertisement for it.
func labPool(t testing.TB, l *lab.Lab) {
	t.Helper()
	// No .0/.255 and no subnet-router anycast address (::): hosts treat
	// those specially.
	create(t, l.Client, gen.IPPool("lab", gen.AvoidBuggyIPs(), gen.Addresses(
		lab.PoolV4.String(),
		lab.PoolV6.Addr().Next().String()+"-"+lab.PoolV6.Addr().Next().Next().Next().String(),
	)))
	create(t, l.Client, gen.L2Advertisement("lab", gen.L2Pools("lab")))
}

// processes are the controller and the speakers, in node order.
func (p *pylon) processes() []*lab.Process {
	procs := []*lab.Process{p.controller}
	for _, n := range p.lab.Nodes {
		procs = append(procs, p.speakers[n.Name])
	}
	return procs
}

func create(t testing.TB, c client.Client, o client.Object) {
	t.Helper()
	if err := c.Create(t.Context(), o); err != nil {
		t.Fatalf("create %T %s: %v", o, o.GetName(), err)
	}
}

// service creates a LoadBalancer Service on port 80 with a ready endpoint
// on every node, and waits for its addresses.
func service(t testing.TB, l *lab.Lab, name string, dual bool, eps ...lab.Endpoint) (*corev1.Service, []netip.Addr) {
	t.Helper()
	svc := lab.LoadBalancerService("default", name, 80)
	if dual {
		gen.RequireDualStack()(svc)
	}
	if len(eps) == 0 {
		var names []string
		for _, n := range l.Nodes {
			names = append(names, n.Name)
		}
		eps = lab.ReadyOn(names...)
	}
	return createService(t, l, svc, eps...)
}

// createService creates svc with the endpoints eps (none: an empty
// EndpointSlice) and waits for an address per IP family and for every
// node's kube-proxy to have programmed them.
func createService(t testing.TB, l *lab.Lab, svc *corev1.Service, eps ...lab.Endpoint) (*corev1.Service, []netip.Addr) {
	t.Helper()
	create(t, l.Client, svc)
	if err := l.SetEndpoints(t.Context(), svc, eps...); err != nil {
		t.Fatal(err)
	}
	want := max(1, len(svc.Spec.IPFamilies))
	var ips []netip.Addr
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "addresses for "+svc.Name, func() (bool, string) {
		if err := l.Client.Get(t.Context(), client.ObjectKeyFromObject(svc), svc); err != nil {
			return false, err.Error()
		}
		ips = config.IngressIPs(svc)
		return len(ips) == want, fmt.Sprint(ips)
	})
	// pylon announces at once; kube-proxy on every node must have the
	// address too before a client's traffic through any node is answered.
	for _, ip := range ips {
		for _, p := range svc.Spec.Ports {
			if err := l.WaitProgrammed(t.Context(), ip, p.Port); err != nil {
				t.Fatal(err)
			}
		}
	}
	return svc, ips
}

// answering returns the nodes whose MACs answer ARP/NDP for ip.
func answering(t testing.TB, l *lab.Lab, ip netip.Addr) []string {
	t.Helper()
	macs, err := l.LocalClient.WhoHas(t.Context(), ip, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range macs {
		out = append(out, nodeName(l, m))
	}
	return out
}

func nodeName(l *lab.Lab, mac net.HardwareAddr) string {
	if n := l.NodeByMAC(mac); n != nil {
		return n.Name
	}
	return "foreign " + mac.String()
}

// waitOwner waits until exactly one node answers for ip, other than the
// excluded ones, and the VIP's HTTP answer comes from that node; it
// returns the node.
func waitOwner(t testing.TB, l *lab.Lab, ip netip.Addr, timeout time.Duration, not ...string) string {
	t.Helper()
	var owner string
	poll.Eventually(t, 50*time.Millisecond, timeout, "one node to answer for "+ip.String(), func() (bool, string) {
		who := answering(t, l, ip)
		if len(who) != 1 || slices.Contains(not, who[0]) {
			return false, fmt.Sprintf("answering: %v", who)
		}
		got, err := l.LocalClient.Get(t.Context(), ip, 80, time.Second)
		if err != nil || got != who[0] {
			return false, fmt.Sprintf("ARP says %s, HTTP says %q (%v)", who[0], got, err)
		}
		owner = who[0]
		return true, ""
	})
	return owner
}
