package demo

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/chart"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// helmInstall installs pylon as docs/install.md does: the namespace
// labelled for privileged pods, then the chart, with values that point at
// the images the lab imported into every node.
func (d *demo) helmInstall(ctx context.Context) ([]string, error) {
	l := d.lab
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: pylonNamespace, Labels: map[string]string{"pod-security.kubernetes.io/enforce": "privileged"},
	}}
	if err := l.Client.Create(ctx, ns); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", pylonNamespace, err)
	}
	// The lab's API server starts with pylon's CRDs; the chart installs
	// them, and Helm does not adopt what it did not create.
	if err := chart.RemoveCRDs(ctx, l.Client); err != nil {
		return nil, err
	}
	logPath := filepath.Join(l.Dir, "logs", "helm.log")
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	vals := chart.ImageValues(imageRepo, imageTag)
	began := time.Now()
	rel, err := chart.Install(ctx, l.Kubeconfig, pylonNamespace, vals, func(format string, v ...any) { fmt.Fprintf(log, format+"\n", v...) })
	d.sum.Helm = time.Since(began)
	d.installed = time.Now()
	if err != nil {
		return nil, fmt.Errorf("%w (Helm's log: %s)", err, logPath)
	}
	lines := []string{
		fmt.Sprintf("namespace %s, labelled pod-security.kubernetes.io/enforce=privileged (the speaker uses host network and NET_RAW)", pylonNamespace),
		fmt.Sprintf("helm install %s %s --namespace %s --set %s", chart.Release, chart.Dir, pylonNamespace, setFlags("", vals)),
		fmt.Sprintf("release %s revision %d %s in %v (the lab's own copy of pylon's CRDs removed first: Helm installs them)", rel.Name, rel.Version, rel.Info.Status, round(d.sum.Helm)),
	}
	more, err := d.crdsServed(ctx)
	return append(lines, more...), err
}

// setFlags writes chart values as `helm --set` does: a.b=c, sorted.
func setFlags(prefix string, vals map[string]any) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		if m, ok := vals[k].(map[string]any); ok {
			out = append(out, setFlags(prefix+k+".", m))
			continue
		}
		out = append(out, fmt.Sprintf("%s%s=%v", prefix, k, vals[k]))
	}
	return strings.Join(out, ",")
}

// waitPylon waits until the chart's controller and speakers are Ready and
// every speaker sees every node in memberlist.
func (d *demo) waitPylon(ctx context.Context) ([]string, error) {
	l := d.lab
	_, err := poll.Until(ctx, pollEvery, 0, "the controller's 2 pods and a speaker pod on each node Ready", func(ctx context.Context) (bool, string, error) {
		if err := d.running(ctx); err != nil {
			return false, "", err
		}
		ok, seen, err := chart.Ready(ctx, l.Client, pylonNamespace, 2, len(l.Nodes))
		if err != nil {
			return false, err.Error(), nil
		}
		return ok, seen, nil
	})
	if err != nil {
		return nil, err
	}
	if err := d.waitMembers(ctx, "every speaker to see all three members in memberlist"); err != nil {
		return nil, err
	}
	d.sum.Ready = time.Since(d.installed)
	lines := []string{fmt.Sprintf("$ kubectl -n %s get pods -o wide   (%v after helm install returned)", pylonNamespace, round(d.sum.Ready))}
	if out, err := l.API.Kubectl(ctx, "-n", pylonNamespace, "get", "pods", "-o", "wide"); err == nil {
		lines = append(lines, indent(string(out))...)
	}
	return append(lines,
		"the controller Deployment (2 replicas, one leader) and the speaker DaemonSet (host network: each speaker in its node's network namespace)",
		"memberlist: every speaker sees 3 members alive (SpeakerStatus)"), nil
}

// stuck reports whether a container waiting for reason does not get out
// of it by waiting.
func stuck(reason string) bool {
	switch reason {
	case "ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName",
		"CreateContainerConfigError", "CreateContainerError", "CrashLoopBackOff":
		return true
	}
	return false
}

// running fails when a pod of pylon's or of the backend's cannot run: an
// image the node does not have, a container that keeps crashing (except
// the speaker on the node the failover took down: the kubelet restarts it
// with a back-off).
func (d *demo) running(ctx context.Context) error {
	var pods corev1.PodList
	for _, ns := range []string{pylonNamespace, demoNamespace} {
		var list corev1.PodList
		if err := d.lab.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return nil // the API server may be slow; the caller's wait goes on
		}
		pods.Items = append(pods.Items, list.Items...)
	}
	for _, p := range pods.Items {
		for _, c := range p.Status.ContainerStatuses {
			w := c.State.Waiting
			if w == nil || !stuck(w.Reason) {
				continue
			}
			if w.Reason == "CrashLoopBackOff" && p.Spec.NodeName == d.sum.Failover.Owner {
				continue
			}
			return fmt.Errorf("pod %s/%s on %s cannot run: container %s (image %s) is waiting: %s: %s",
				p.Namespace, p.Name, p.Spec.NodeName, c.Name, c.Image, w.Reason, w.Message)
		}
	}
	return nil
}

// membersAlive maps each SpeakerStatus to the members its speaker sees.
func (d *demo) membersAlive(ctx context.Context) (map[string]int, error) {
	var list v1alpha1.SpeakerStatusList
	if err := d.lab.Client.List(ctx, &list); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, s := range list.Items {
		out[s.Name] = int(s.Status.MembersAlive)
	}
	return out, nil
}

// allEqual reports whether m holds n entries, all equal to v.
func allEqual(m map[string]int, n, v int) bool {
	if len(m) != n {
		return false
	}
	for _, x := range m {
		if x != v {
			return false
		}
	}
	return true
}

func (d *demo) apply(ctx context.Context) ([]string, error) {
	l := d.lab
	for _, p := range d.ex.cfg.BGPPeers {
		if p.Address != l.Router.IPv4 && p.Address != l.Router.IPv6 {
			return nil, fmt.Errorf("BGPPeer %s in %s peers with %s, but the lab's router is %s and %s", p.Name, d.ex.dir, p.Address, l.Router.IPv4, l.Router.IPv6)
		}
	}
	var created []string
	for _, o := range d.ex.objects() {
		if err := l.Client.Create(ctx, o); err != nil {
			return nil, fmt.Errorf("create %T %s: %w", o, o.GetName(), err)
		}
		created = append(created, fmt.Sprintf("%s %s", kindOf(o), o.GetName()))
	}
	lines := []string{"created " + strings.Join(created, ", ")}
	peers := len(d.ex.cfg.BGPPeers)
	want := peers * len(l.Nodes)
	var up []lab.Session
	_, err := poll.Until(ctx, pollEvery, 0, fmt.Sprintf("%d Established BGP sessions on the router (%d per node)", want, peers), func(ctx context.Context) (bool, string, error) {
		if err := d.running(ctx); err != nil {
			return false, "", err
		}
		v, err := l.Router.View(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		up = nil
		var states []string
		for _, s := range v.Sessions {
			states = append(states, fmt.Sprintf("%s %s", s.Peer, s.State))
			if s.Established() {
				up = append(up, s)
			}
		}
		return len(up) == want, fmt.Sprintf("router sessions: %v", states), nil
	})
	if err != nil {
		return lines, err
	}
	slices.SortFunc(up, func(a, b lab.Session) int { return a.Peer.Compare(b.Peer) })
	d.sum.Sessions = nil
	for _, s := range up {
		d.sum.Sessions = append(d.sum.Sessions, fmt.Sprintf("%s %s AS %d", d.nodeAt(s.Peer), s.Peer, s.RemoteAS))
	}
	lines = append(lines, fmt.Sprintf("router r1 (AS %d) Established with %s", lab.RouterASN, strings.Join(d.sum.Sessions, "; ")))
	return lines, nil
}

// kindOf names an object's kind for people.
func kindOf(o any) string {
	switch o.(type) {
	case *v1alpha1.IPPool:
		return "IPPool"
	case *v1alpha1.L2Advertisement:
		return "L2Advertisement"
	case *v1alpha1.BGPPeer:
		return "BGPPeer"
	case *v1alpha1.BGPAdvertisement:
		return "BGPAdvertisement"
	case *corev1.Secret:
		return "Secret"
	}
	return fmt.Sprintf("%T", o)
}

// nodeAt names the node with address a, or returns a.
func (d *demo) nodeAt(a netip.Addr) string {
	for _, n := range d.lab.Nodes {
		if n.IPv4 == a || n.IPv6 == a {
			return n.Name
		}
	}
	return a.String()
}

// nodeNames names the nodes at addrs, sorted.
func (d *demo) nodeNames(addrs []netip.Addr) []string {
	var out []string
	for _, a := range addrs {
		out = append(out, d.nodeAt(a))
	}
	slices.Sort(out)
	return out
}

// waitMembers waits until every speaker runs and its SpeakerStatus shows
// every node alive in memberlist.
func (d *demo) waitMembers(ctx context.Context, what string) error {
	n := len(d.lab.Nodes)
	_, err := poll.Until(ctx, pollEvery, 0, what, func(ctx context.Context) (bool, string, error) {
		if err := d.running(ctx); err != nil {
			return false, "", err
		}
		alive, err := d.membersAlive(ctx)
		return err == nil && allEqual(alive, n, n), fmt.Sprintf("members alive per SpeakerStatus: %v", alive), nil
	})
	return err
}
