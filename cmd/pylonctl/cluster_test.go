package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/controllertest"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/poll"
)

const pylonNS = controllertest.Namespace

// cluster is a test API server with pylon's namespace, on which the tests
// create the objects pylonctl reads.
type cluster struct {
	t   testing.TB
	env *envtest.Env
	c   client.Client
}

func startCluster(t testing.TB) *cluster {
	t.Helper()
	env := envtest.Start(t)
	k := &cluster{t: t, env: env, c: env.Client}
	k.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pylonNS}})
	return k
}

// ctl runs pylonctl against the test API server.
func (k *cluster) ctl(args ...string) (code int, stdout, stderr string) {
	return ctl("pylonctl", append(args, "--kubeconfig", k.env.KubeconfigPath)...)
}

// ctlJSON runs pylonctl with -o json and decodes its output into into.
func (k *cluster) ctlJSON(into any, args ...string) int {
	k.t.Helper()
	code, out, errOut := k.ctl(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), into); err != nil {
		k.t.Fatalf("pylonctl %v: exit %d, output is not JSON (%v):\n%s\nstderr: %s", args, code, err, out, errOut)
	}
	return code
}

func (k *cluster) create(objs ...client.Object) {
	k.t.Helper()
	for _, o := range objs {
		if err := k.c.Create(k.t.Context(), o); err != nil {
			k.t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// update reads o, lets edit change it and writes it back (status too, when
// status is set), retrying on conflicts.
func (k *cluster) update(o client.Object, status bool, edit func()) {
	k.t.Helper()
	err := wait.PollUntilContextTimeout(k.t.Context(), 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := k.c.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			return false, err
		}
		edit()
		var err error
		if status {
			err = k.c.Status().Update(ctx, o)
		} else {
			err = k.c.Update(ctx, o)
		}
		return err == nil, client.IgnoreNotFound(ignoreConflict(err))
	})
	if err != nil {
		k.t.Fatalf("update %T %s: %v", o, o.GetName(), err)
	}
}

func ignoreConflict(err error) error {
	if apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// node creates a Node with an InternalIP and labels (key=value pairs).
func (k *cluster) node(name, ip string, kv ...string) *corev1.Node {
	k.t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: pairs(kv)}}
	k.create(n)
	k.update(n, true, func() {
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}
	})
	return n
}

func pairs(kv []string) map[string]string {
	out := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// pod creates one of pylon's pods, as the Deployment or DaemonSet would,
// bound to node, Ready or not.
func (k *cluster) pod(name, component, node string, ready bool) *corev1.Pod {
	k.t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: pylonNS, Name: name, Labels: map[string]string{componentLabel: component, nameLabel: "pylon"}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{
			Name: component, Image: "ghcr.io/pylonlb/pylon-" + component + ":v0.1.0",
		}}},
	}
	k.create(p)
	k.setPodReady(p, ready)
	return p
}

func (k *cluster) setPodReady(p *corev1.Pod, ready bool) {
	k.t.Helper()
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	k.update(p, true, func() {
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name, Image: p.Spec.Containers[0].Image,
			ImageID: "ghcr.io/pylonlb/pylon-" + p.Labels[componentLabel] + "@sha256:" + strings.Repeat("ab", 32)}}
	})
}

// speakerStatus creates or replaces node's SpeakerStatus: members alive
// as named, conditions all well, then edit.
func (k *cluster) speakerStatus(node string, alive []string, edit func(*v1alpha1.SpeakerStatus)) *v1alpha1.SpeakerStatus {
	k.t.Helper()
	st := &v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: node}}
	if err := k.c.Get(k.t.Context(), client.ObjectKeyFromObject(st), st); apierrors.IsNotFound(err) {
		st.Spec.MemberlistAddress = node + ":7946"
		k.create(st)
	}
	k.update(st, true, func() {
		st.Status = v1alpha1.SpeakerStatusStatus{}
		for _, n := range alive {
			st.Status.Members = append(st.Status.Members, v1alpha1.MemberState{Name: n, State: "Alive"})
		}
		st.Status.MembersAlive = int32(len(alive))
		st.Status.Conditions = []metav1.Condition{
			{Type: "Layer2Conflict", Status: metav1.ConditionFalse, Reason: "NoConflict", Message: "no other MAC answers for this node's addresses", LastTransitionTime: metav1.Now()},
			{Type: "Announcing", Status: metav1.ConditionTrue, Reason: "Applied", Message: "applied", LastTransitionTime: metav1.Now()},
		}
		if edit != nil {
			edit(st)
		}
	})
	return st
}

// announce returns an edit listing these announcements (and counting
// their distinct addresses).
func announce(as ...v1alpha1.Announcement) func(*v1alpha1.SpeakerStatus) {
	return func(st *v1alpha1.SpeakerStatus) {
		st.Status.Announcements = as
		distinct := map[string]bool{}
		for _, a := range as {
			distinct[a.IP] = true
		}
		st.Status.Announced = int32(len(distinct))
	}
}

// lbService creates a LoadBalancer Service on TCP port 80; edit may change
// it first.
func (k *cluster) lbService(ns, name string, edit ...func(*corev1.Service)) *corev1.Service {
	k.t.Helper()
	s := gen.Service(ns, name, append([]gen.ServiceModifier{gen.LoadBalancer(), gen.WithPort("http", 80), gen.WithSelector("app", name), gen.NoNodePorts()}, edit...)...)
	k.create(s)
	return s
}

// waitAddress waits for the controller to give the Service an address and
// returns it.
func (k *cluster) waitAddress(s *corev1.Service) string {
	k.t.Helper()
	poll.Eventually(k.t, 50*time.Millisecond, 15*time.Second, "an address for "+s.Name, func() (bool, string) {
		if err := k.c.Get(k.t.Context(), client.ObjectKeyFromObject(s), s); err != nil {
			return false, err.Error()
		}
		return len(s.Status.LoadBalancer.Ingress) > 0, "no status.loadBalancer.ingress"
	})
	return s.Status.LoadBalancer.Ingress[0].IP
}

// endpoints creates the Service's EndpointSlice with a ready endpoint on
// each node.
func (k *cluster) endpoints(s *corev1.Service, nodes ...string) {
	k.t.Helper()
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: s.Name}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	ready := true
	for i, n := range nodes {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{fmt.Sprintf("10.244.0.%d", i+1)}, NodeName: &n, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
		})
	}
	k.create(es)
}

// startController runs pylon's controller with leader election, as the
// Deployment runs it, until the test ends or stop is called. Its Lease
// says version.
func (k *cluster) startController(version string) (stop func()) {
	k.t.Helper()
	r := controllertest.Start(k.t, k.env, controllertest.Config{LeaderElect: true, LeaderLabels: map[string]string{v1alpha1.LabelVersion: version}})
	select {
	case <-r.Elected:
	case <-time.After(15 * time.Second):
		k.t.Fatal("the controller did not take the lease in 15 s")
	}
	return r.Stop
}

// pool creates an IPPool (edit may change it first) and waits until the
// controller has written its status.
func (k *cluster) pool(name string, addrs []string, edit ...func(*v1alpha1.IPPool)) *v1alpha1.IPPool {
	k.t.Helper()
	p := gen.IPPool(name, append([]gen.IPPoolModifier{gen.Addresses(addrs...)}, edit...)...)
	k.create(p)
	poll.Eventually(k.t, 50*time.Millisecond, 15*time.Second, "IPPool "+name+" in force", func() (bool, string) {
		if err := k.c.Get(k.t.Context(), client.ObjectKeyFromObject(p), p); err != nil {
			return false, err.Error()
		}
		return p.Status.ObservedGeneration == p.Generation, fmt.Sprintf("observed generation %d of %d", p.Status.ObservedGeneration, p.Generation)
	})
	return p
}

// findings turns status's problems or warnings into "Object: Reason",
// sorted.
func findings(fs []finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Object+": "+f.Reason)
	}
	slices.Sort(out)
	return out
}

func (k *cluster) getPod(name string) *corev1.Pod {
	k.t.Helper()
	p := &corev1.Pod{}
	if err := k.c.Get(k.t.Context(), client.ObjectKey{Namespace: pylonNS, Name: name}, p); err != nil {
		k.t.Fatal(err)
	}
	return p
}
