package e2e

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/release"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/chart"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// TestCluster runs pylon as a cluster runs it, on one lab of real nodes
// (containerd, kubelet, kube-proxy in nftables mode): startCluster installs
// it with the Helm SDK, and the scenarios of clusterScenarios run on that
// lab one after another, in their order. A scenario leaves the cluster as
// it found it (pylon installed, every node up, the backend's two pods
// Ready) unless it says otherwise and comes last; when one fails, the rest
// do not run (they would start from an unknown state).
func TestCluster(t *testing.T) {
	c := startCluster(t, lab.NodeStack{})
	for _, s := range clusterScenarios() {
		if !t.Run(s.name, func(t *testing.T) { s.run(t, c) }) {
			t.Fatalf("scenario %s failed: the later ones start from its state and do not run", s.name)
		}
	}
}

// clusterScenario is one scenario of TestCluster.
type clusterScenario struct {
	name string
	run  func(t *testing.T, c *cluster)
}

// clusterScenarios are TestCluster's scenarios, in the order they run.
func clusterScenarios() []clusterScenario {
	return []clusterScenario{
		{"HelmInstall", clusterHelmInstall},
		{"ExternalTrafficPolicyLocal", clusterETPLocal},
		{"RollingSpeakerUpdate", clusterRollingSpeakerUpdate},
		{"DrainOwner", clusterDrainOwner},
		{"NodePowerLoss", clusterNodePowerLoss},
		{"BFDPowerLoss", clusterBFDPowerLoss},
		// The lifecycle scenarios come last (cluster_lifecycle_test.go).
		{"HelmUpgrade", clusterHelmUpgrade},
		{"HelmUninstall", clusterHelmUninstall},
		{"KubectlApply", clusterKubectlApply},
	}
}

// The chart's image values name <clusterRepo>/pylon-{controller,speaker}:<clusterTag>.
const clusterRepo, clusterTag = "pylon.local", "e2e"

// cluster is pylon installed by Helm on a lab of real nodes, with the
// backend Deployment (two pods, at most one a node) running.
type cluster struct {
	lab *lab.Lab
	// ctx bounds the whole test (15 minutes from the lab's bring-up).
	ctx context.Context
	// installed is when helm install returned.
	installed time.Time
	// release is the Helm release "pylon" in pylonNS.
	release *release.Release
	// backend is the backend Deployment in "default".
	backend *appsv1.Deployment
	// beforeInstall is every object of the cluster just before helm
	// install (the namespace made, the lab's CRDs removed).
	beforeInstall inventory
	// proxyMode is kube-proxy's mode on every node.
	proxyMode string
}

// startCluster brings up a podLab of three real nodes with the backend's
// image too, kube-proxy as ns says (its ProxyMode and StrictARP), installs
// pylon there (Helm, everything Ready, every speaker seeing every node),
// then creates the pools "lab" (layer 2) and "bgp" and the backend
// Deployment, and waits for its pods. The router is FRR.
func startCluster(t testing.TB, ns lab.NodeStack) *cluster {
	return startClusterRouter(t, ns, "")
}

// startClusterRouter is startCluster with router as the lab's router
// (lab.Options.Router: "" for FRR, lab.RouterBIRD).
func startClusterRouter(t testing.TB, ns lab.NodeStack, router string) *cluster {
	began := time.Now()
	build, cancelBuild := context.WithTimeout(t.Context(), buildTimeout)
	defer cancelBuild()
	// The router runs BFD (FRR's bfdd, BIRD's bfd protocol) for its
	// sessions with the nodes; the speakers do when the BGPPeer asks for
	// it (BFDPowerLoss).
	l := podLab(t, lab.Options{NodeASN: nodeASN, NodeStack: &ns, BFD: &lab.BFD{}, Router: router}, buildBackendImage(build, t))
	// From here: lab.Start may have waited long for the machine's lab lock.
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	t.Cleanup(cancel)
	t.Logf("lab with its node stack up in %v (%v after the test began)", l.BringUp.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	c := &cluster{lab: l, ctx: ctx, proxyMode: cmp.Or(ns.ProxyMode, lab.ProxyNftables)}
	prepareInstall(ctx, t, l)
	c.beforeInstall = takeInventory(ctx, t, l)
	c.release, c.installed = helmInstallReady(ctx, t, l)

	// Layer 2 from pool "lab", BGP from pool "bgp".
	labPool(t, l)
	bgpPool(t, l)
	c.backend = lab.BackendDeployment("default", "backend", 2)
	create(t, l.Client, c.backend)
	waitBackendReady(t, c)
	return c
}

// waitPylonReady waits until the controller Deployment has its two pods
// Ready and the speaker DaemonSet one Ready pod on every node, all of them
// up to date.
func waitPylonReady(t testing.TB, c *cluster, timeout time.Duration) {
	t.Helper()
	waitWorkloadsReady(c.ctx, t, c.lab, timeout)
}

// waitWorkloadsReady is waitPylonReady for any lab.
func waitWorkloadsReady(ctx context.Context, t testing.TB, l *lab.Lab, timeout time.Duration) {
	t.Helper()
	poll.Eventually(t, 50*time.Millisecond, timeout, "the controller's 2 pods and a speaker a node Ready", func() (bool, string) {
		ok, seen, err := chart.Ready(ctx, l.Client, pylonNS, 2, len(l.Nodes))
		if err != nil {
			return false, err.Error()
		}
		return ok, seen
	})
}

// waitBackendReady waits until the backend Deployment's two pods are Ready.
func waitBackendReady(t testing.TB, c *cluster) {
	t.Helper()
	dep := c.backend
	poll.Eventually(t, 50*time.Millisecond, 90*time.Second, "the backend's 2 pods Ready", func() (bool, string) {
		if err := c.lab.Client.Get(c.ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
			return false, err.Error()
		}
		return dep.Status.ReadyReplicas == 2 && dep.Status.Replicas == 2, fmt.Sprintf("%d ready of %d", dep.Status.ReadyReplicas, dep.Status.Replicas)
	})
}

// backendPods are the names of the backend Deployment's pods.
func (c *cluster) backendPods(t testing.TB) []string {
	t.Helper()
	var pods corev1.PodList
	if err := c.lab.Client.List(c.ctx, &pods, client.InNamespace(c.backend.Namespace), client.MatchingLabels(c.backend.Spec.Selector.MatchLabels)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
	}
	return names
}

// backendService creates a LoadBalancer Service in front of the backend's
// pods with an address from pool, applies edit (if any) before creating it,
// and waits for its address.
func (c *cluster) backendService(t testing.TB, name, pool string, edit func(*corev1.Service)) netip.Addr {
	t.Helper()
	svc := lab.LoadBalancerService(c.backend.Namespace, name, 80)
	svc.Spec.Selector = c.backend.Spec.Selector.MatchLabels
	svc.Annotations = map[string]string{controller.AnnotationPool: pool}
	if edit != nil {
		edit(svc)
	}
	create(t, c.lab.Client, svc)
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "an address for "+svc.Name, func() (bool, string) {
		if err := c.lab.Client.Get(c.ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
			return false, err.Error()
		}
		return len(svc.Status.LoadBalancer.Ingress) == 1, fmt.Sprint(svc.Status.LoadBalancer.Ingress)
	})
	return netip.MustParseAddr(svc.Status.LoadBalancer.Ingress[0].IP)
}

// waitClusterOwner waits until exactly one node, none of not, answers ARP
// for ip and a backend pod answers HTTP there; it returns the node.
func waitClusterOwner(t testing.TB, c *cluster, ip netip.Addr, timeout time.Duration, not ...string) string {
	t.Helper()
	pods := c.backendPods(t)
	var owner string
	poll.Eventually(t, 50*time.Millisecond, timeout, "one node to own "+ip.String()+" and a pod to answer", func() (bool, string) {
		who := answering(t, c.lab, ip)
		if len(who) != 1 || slices.Contains(not, who[0]) {
			return false, fmt.Sprintf("answering ARP: %v", who)
		}
		got, err := c.lab.LocalClient.Get(c.ctx, ip, 80, time.Second)
		if err != nil || !slices.Contains(pods, got) {
			return false, fmt.Sprintf("ARP says %s; HTTP answer %q (%v), want one of %v", who[0], got, err, pods)
		}
		owner = who[0]
		return true, ""
	})
	return owner
}

// clusterHelmInstall checks what startCluster installed: the controller
// Deployment and the speaker DaemonSet from pylon's own images Ready under
// the shipped RBAC with the tokens the kubelets project, the speakers in
// their nodes' network namespaces; then a LoadBalancer Service in front of
// the backend answers the local client over layer 2, and a second one the
// remote client through the router over BGP, each answer from a pod
// through kube-proxy's DNAT, in the cluster's proxy mode (checkProxyRules).
func clusterHelmInstall(t *testing.T, c *cluster) {
	l, ctx := c.lab, c.ctx
	speakers := checkSpeakerPods(ctx, t, l)
	created := time.Now()
	l2IP := c.backendService(t, "backend-lab", "lab", nil)
	bgpIP := c.backendService(t, "backend-bgp", "bgp", nil)
	c.checkProxyRules(t, l2IP, bgpIP)
	podNames := c.backendPods(t)

	// Layer 2: one node answers ARP for the address, and the answer to
	// HTTP is a pod's (kube-proxy's DNAT on the owner).
	owner := waitClusterOwner(t, c, l2IP, 30*time.Second)
	t.Logf("%s owned by %s and answered by a pod %v after the Services were created", l2IP, owner, time.Since(created).Round(time.Millisecond))

	// BGP: the router routes the address over every node (ETP=Cluster).
	took := waitNextHops(t, l, bgpIP, 60*time.Second, nodeNames(l)...)
	t.Logf("the router routes %s over every node %v after layer 2 answered", bgpIP, took.Round(time.Millisecond))

	// Both clients for 2 s: every probe answered, by the backend's pods only.
	local := l.LocalClient.StartSampler(ctx, l2IP, 80)
	remote := l.RemoteClient.StartSampler(ctx, bgpIP, 80)
	time.Sleep(2 * time.Second)
	for label, s := range map[string]*lab.Sampler{"local client over layer 2": local, "remote client over BGP": remote} {
		r, _ := s.Stop()
		t.Logf("%s: %d probes, %d unanswered, answers %v, longest gap %v", label, r.Samples, r.Failures, r.Answers, r.LongestGap.Round(time.Millisecond))
		if r.Samples == 0 || r.Failures > 0 {
			t.Errorf("%s: %v, want every probe answered", label, r)
		}
		for who := range r.Answers {
			if !slices.Contains(podNames, who) {
				t.Errorf("%s: answered by %q, want only the pods %v", label, who, podNames)
			}
		}
	}
	checkPodsNotRefused(ctx, t, l, append(speakers, controllerPods(ctx, t, l)...)...)
}

// nodeNames are the lab's nodes' names, in node order.
func nodeNames(l *lab.Lab) []string {
	var out []string
	for _, n := range l.Nodes {
		out = append(out, n.Name)
	}
	return out
}

// checkSpeakerPods checks that there is a speaker pod on every node, in
// the node's network namespace (host network, the node's address), with a
// ServiceAccount token the kubelet projects, and returns them.
func checkSpeakerPods(ctx context.Context, t *testing.T, l *lab.Lab) []corev1.Pod {
	t.Helper()
	pods := speakerPods(ctx, t, l)
	var on []string
	for _, p := range pods {
		n := l.Node(p.Spec.NodeName)
		if n == nil {
			t.Errorf("speaker pod %s on %q, no lab node", p.Name, p.Spec.NodeName)
			continue
		}
		on = append(on, n.Name)
		if !p.Spec.HostNetwork || p.Status.PodIP != n.IPv4.String() {
			t.Errorf("speaker pod %s on %s: hostNetwork %v, pod IP %s, want the node's %s", p.Name, n.Name, p.Spec.HostNetwork, p.Status.PodIP, n.IPv4)
		}
		if !projectsToken(p) {
			t.Errorf("speaker pod %s has no projected ServiceAccount token", p.Name)
		}
	}
	slices.Sort(on)
	if want := nodeNames(l); !slices.Equal(on, want) {
		t.Errorf("speaker pods on %v, want one on each of %v", on, want)
	}
	return pods
}

// controllerPods are the controller's pods.
func controllerPods(ctx context.Context, t testing.TB, l *lab.Lab) []corev1.Pod {
	t.Helper()
	return componentPods(ctx, t, l, "controller")
}

// speakerPods are the speaker's pods.
func speakerPods(ctx context.Context, t testing.TB, l *lab.Lab) []corev1.Pod {
	t.Helper()
	return componentPods(ctx, t, l, "speaker")
}

// componentPods are the pods of one of pylon's components.
func componentPods(ctx context.Context, t testing.TB, l *lab.Lab, component string) []corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	if err := l.Client.List(ctx, &pods, client.InNamespace(pylonNS), client.MatchingLabels{"app.kubernetes.io/component": component}); err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

// projectsToken reports whether a pod mounts a ServiceAccount token
// projected by its kubelet.
func projectsToken(p corev1.Pod) bool {
	for _, v := range p.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil {
				return true
			}
		}
	}
	return false
}

// waitMembersAlive waits until there is a SpeakerStatus a node and each
// counts every node alive in memberlist.
func waitMembersAlive(t testing.TB, l *lab.Lab) {
	t.Helper()
	poll.Eventually(t, 50*time.Millisecond, 60*time.Second, "every speaker to see all members", func() (bool, string) {
		var list v1alpha1.SpeakerStatusList
		if err := l.Client.List(t.Context(), &list); err != nil {
			return false, err.Error()
		}
		var seen []string
		ok := len(list.Items) == len(l.Nodes)
		for _, s := range list.Items {
			seen = append(seen, fmt.Sprintf("%s:%d", s.Name, s.Status.MembersAlive))
			ok = ok && int(s.Status.MembersAlive) == len(l.Nodes)
		}
		return ok, strings.Join(seen, " ")
	})
}

// checkPodsNotRefused fails t for every line of the pods' logs (through
// the API server, from their kubelets) that reports a 403.
func checkPodsNotRefused(ctx context.Context, t testing.TB, l *lab.Lab, pods ...corev1.Pod) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(l.API.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		logs, err := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil {
			t.Errorf("logs of %s: %v", p.Name, err)
			continue
		}
		if len(logs) == 0 {
			t.Errorf("pod %s logged nothing", p.Name)
		}
		for i, line := range refusedLines(string(logs)) {
			if i == 5 {
				t.Errorf("%s: more refusals", p.Name)
				break
			}
			t.Errorf("%s was refused something its code does (shipped RBAC too narrow?): %.600s", p.Name, line)
		}
	}
}
