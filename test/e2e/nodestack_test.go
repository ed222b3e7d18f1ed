package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/test/images"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// TestNodeStack brings up a lab whose nodes run the real node stack
// (containerd, kubelet, kube-proxy in nftables mode) and checks it as a
// cluster: every Node registered itself and is Ready; a kubelet's
// credentials may change its own Node and not another's; a Deployment of the
// backend image becomes Ready; its ClusterIP Service answers from a node
// namespace through kube-proxy's DNAT, from both pods; the pods' logs come
// through the API server from the kubelets. Then, with a process of the
// test's own on every node and the host and a node cut off (something in
// every kind of nftables table the lab makes), Close leaves nothing: no
// process, namespace, link, nftables table, record or directory of the
// lab, and nothing the node stack shares with the host (container cgroups,
// shim sockets, network namespaces, mounts).
func TestNodeStack(t *testing.T) {
	lab.Require(t)
	tablesBefore := rootTables(t)
	build, cancelBuild := context.WithTimeout(t.Context(), buildTimeout)
	defer cancelBuild()
	l := lab.Start(t, lab.Options{Nodes: 2, NodeStack: &lab.NodeStack{
		Images: []images.Image{buildBackendImage(build, t)},
	}})
	// From here: lab.Start may have waited long for the machine's lab lock.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	// With the machine's lab lock held: no other lab changes these now.
	before := hostShared(t)

	var nodes corev1.NodeList
	if err := l.Client.List(ctx, &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != len(l.Nodes) {
		t.Fatalf("%d Nodes, want %d", len(nodes.Items), len(l.Nodes))
	}
	for _, n := range nodes.Items {
		ready := lab.NodeReady(&n)
		// Registered by its kubelet (the lab writes no Nodes here).
		if !ready || n.Status.NodeInfo.KubeletVersion == "" || !strings.HasPrefix(n.Status.NodeInfo.ContainerRuntimeVersion, "containerd://") {
			t.Errorf("node %s: ready %v, kubelet %q, runtime %q", n.Name, ready, n.Status.NodeInfo.KubeletVersion, n.Status.NodeInfo.ContainerRuntimeVersion)
		}
	}

	// The kubelets' own credentials: the Node authorizer and NodeRestriction
	// let n1's change its own Node, not n2's.
	n1, err := clientcmd.BuildConfigFromFlags("", l.Nodes[0].KubeletKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kubelet1, err := kubernetes.NewForConfig(n1)
	if err != nil {
		t.Fatal(err)
	}
	label := []byte(`{"metadata":{"labels":{"pylon.test/patched":"yes"}}}`)
	if _, err := kubelet1.CoreV1().Nodes().Patch(ctx, l.Nodes[0].Name, types.StrategicMergePatchType, label, metav1.PatchOptions{}); err != nil {
		t.Errorf("n1's kubelet credentials patching Node n1: %v", err)
	}
	if _, err := kubelet1.CoreV1().Nodes().Patch(ctx, l.Nodes[1].Name, types.StrategicMergePatchType, label, metav1.PatchOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("n1's kubelet credentials patching Node n2: %v, want forbidden", err)
	}

	const ns, name = "default", "backend"
	labels := map[string]string{"app": name}
	dep := lab.BackendDeployment(ns, name, 2)
	create(t, l.Client, dep)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(lab.BackendPort)}},
		},
	}
	create(t, l.Client, svc)

	began := time.Now()
	poll.Eventually(t, 50*time.Millisecond, 90*time.Second, "the Deployment's 2 pods Ready", func() (bool, string) {
		if err := l.Client.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
			return false, err.Error()
		}
		return dep.Status.ReadyReplicas == 2, fmt.Sprintf("%d ready", dep.Status.ReadyReplicas)
	})
	t.Logf("Deployment Ready %v after it was created", time.Since(began).Round(time.Millisecond))
	var pods corev1.PodList
	if err := l.Client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels(labels)); err != nil {
		t.Fatal(err)
	}
	var podNames []string
	for _, p := range pods.Items {
		if ip, err := netip.ParseAddr(p.Status.PodIP); err != nil || !l.Node(p.Spec.NodeName).PodCIDR().Contains(ip) {
			t.Errorf("pod %s on %s has IP %q, want one in the node's %s", p.Name, p.Spec.NodeName, p.Status.PodIP, l.Node(p.Spec.NodeName).PodCIDR())
		}
		podNames = append(podNames, p.Name)
	}

	// Through kube-proxy's nftables DNAT: both pods answer the ClusterIP,
	// each reached from one node namespace (the other pod on another node).
	clusterIP, err := netip.ParseAddr(svc.Spec.ClusterIP)
	if err != nil {
		t.Fatalf("cluster IP %q: %v", svc.Spec.ClusterIP, err)
	}
	seen := map[string]bool{}
	began = time.Now()
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "answers from both pods at "+clusterIP.String(), func() (bool, string) {
		got, err := l.Nodes[0].Get(ctx, clusterIP, 80, time.Second)
		if err != nil {
			return false, err.Error()
		}
		if !slices.Contains(podNames, got) {
			return false, fmt.Sprintf("answer %q is no pod of %v", got, podNames)
		}
		seen[got] = true
		return len(seen) == 2, fmt.Sprintf("answers from %v", seen)
	})
	t.Logf("the ClusterIP answered from both pods %v after they were Ready", time.Since(began).Round(time.Millisecond))

	// Logs through the API server, served by each pod's kubelet.
	cs, err := kubernetes.NewForConfig(l.API.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		logs, err := cs.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil {
			t.Errorf("logs of pod %s on %s: %v", p.Name, p.Spec.NodeName, err)
		} else if !strings.Contains(string(logs), p.Name) {
			t.Errorf("logs of pod %s do not name it:\n%s", p.Name, logs)
		}
	}

	// What a failed test leaves for diagnosis: each node's rules, with
	// kube-proxy's table and the Service's ClusterIP in it.
	paths, err := l.RecordNetState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"## nft list ruleset", "table ip kube-proxy", clusterIP.String(), "## conntrack -S", "cpu=0"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %q", p, want)
			}
		}
	}

	running := hostShared(t)
	if len(running) == len(before) {
		t.Errorf("no container cgroup, shim socket or sandbox namespace on the host while pods run: %v", running)
	}
	if _, err := l.StartOnNodes("sleeper", "sleep", "300"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.StartProcess(lab.ProcessSpec{Name: "host-sleeper", Path: "sleep", Args: []string{"301"}}); err != nil {
		t.Fatal(err)
	}
	if err := l.Cut(ctx, l.Nodes[0]); err != nil {
		t.Fatal(err)
	}
	pids := l.PIDs()
	// zebra, bgpd, etcd, kube-apiserver, kube-controller-manager,
	// kube-scheduler, the host's sleeper; on each of the 2 nodes its
	// backend, sleeper, containerd, kubelet and kube-proxy.
	if len(pids) != 17 {
		t.Errorf("the lab reports %d processes %v, want 17", len(pids), pids)
	}
	names := append(l.Namespaces(), l.HostLink())
	dir, prefix := l.Dir, l.Prefix
	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	checkTornDown(t, pids, names, dir, prefix, tablesBefore)
	if after := hostShared(t); !slices.Equal(after, before) {
		t.Errorf("what nodes share on the host changed after Close:\n now    %v\n before %v", after, before)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), dir) {
		t.Errorf("mounts under %s remain", dir)
	}
	if out, _ := exec.Command("pgrep", "-af", dir).Output(); len(out) > 0 {
		t.Errorf("processes of the lab remain:\n%s", out)
	}
}

// hostShared lists what the nodes' containerds share with the host:
// container cgroups, shim sockets, sandbox network namespaces in the
// shared place (the lab's containerd puts its own under its state
// directory, so none should appear there).
func hostShared(t *testing.T) []string {
	t.Helper()
	var all []string
	for _, pattern := range []string{
		filepath.Join(lab.CgroupRoot, "*", "k8s.io", "*"),
		filepath.Join(lab.ShimSocketDir, "*"),
		"/run/netns/cni-*",
	} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			// Directories: a container's cgroup, not the parent's files.
			if fi, err := os.Lstat(p); err == nil && (fi.IsDir() || !strings.HasPrefix(p, lab.CgroupRoot)) {
				all = append(all, p)
			}
		}
	}
	slices.Sort(all)
	return all
}

// buildBackendImage builds the backend image (lab.BuildBackendImage) into
// a directory of t's.
func buildBackendImage(ctx context.Context, t testing.TB) images.Image {
	t.Helper()
	img, err := lab.BuildBackendImage(ctx, buildDir(t, "backend-image"))
	if err != nil {
		t.Fatal(err)
	}
	return img
}
