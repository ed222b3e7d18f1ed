package demo

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// The demo's Services, in demoNamespace.
const (
	l2Service  = "web-l2"
	bgpService = "web-bgp"
)

// backendName names the backend's Deployment, its pods' app label and
// the Services' selector.
const backendName = "web"

func (d *demo) services(ctx context.Context) ([]string, error) {
	l := d.lab
	if err := l.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNamespace}}); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", demoNamespace, err)
	}
	// A backend pod on every node: each answers HTTP with its pod's name.
	dep := lab.BackendDeployment(demoNamespace, backendName, int32(len(l.Nodes)))
	if err := l.Client.Create(ctx, dep); err != nil {
		return nil, fmt.Errorf("create Deployment %s/%s: %w", demoNamespace, backendName, err)
	}
	began := time.Now()
	if err := d.waitBackends(ctx, dep); err != nil {
		return nil, err
	}
	lines := []string{fmt.Sprintf("Deployment %s/%s (image %s, one pod a node) Ready after %v:", demoNamespace, backendName, lab.BackendImage, round(time.Since(began)))}
	for _, n := range d.nodes() {
		lines = append(lines, fmt.Sprintf("  on %s: pod %s", n, d.podOn(n)))
	}
	for _, s := range []struct {
		name, adv string
		pool      *config.Pool
		res       *ServiceResult
	}{
		{l2Service, "L2Advertisement " + d.ex.l2Adv, d.ex.l2Pool, &d.sum.L2},
		{bgpService, "BGPAdvertisement " + d.ex.bgpAdv, d.ex.bgpPool, &d.sum.BGP},
	} {
		svc := lab.LoadBalancerService(demoNamespace, s.name, servicePort)
		svc.Spec.Selector = dep.Spec.Selector.MatchLabels
		// Local: a node serves with its own pod, so the pod that answers
		// tells which node took the traffic (see docs/demo.md).
		svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		how := "no annotation: pylon picks an autoAssign pool"
		if !s.pool.AutoAssign {
			svc.Annotations = map[string]string{controller.AnnotationPool: s.pool.Name}
			how = fmt.Sprintf("annotation %s: %s", controller.AnnotationPool, s.pool.Name)
		}
		if err := l.Client.Create(ctx, svc); err != nil {
			return lines, fmt.Errorf("create Service %s/%s: %w", demoNamespace, s.name, err)
		}
		ip, err := d.waitIngress(ctx, svc)
		if err != nil {
			return lines, err
		}
		if !s.pool.Contains(ip) {
			return lines, fmt.Errorf("the Service %s/%s got %s, which is not in IPPool %s", demoNamespace, s.name, ip, s.pool.Name)
		}
		*s.res = ServiceResult{Service: demoNamespace + "/" + s.name, IP: ip, Pool: s.pool.Name, Advertisement: s.adv}
		lines = append(lines, fmt.Sprintf("%s/%s (%s; externalTrafficPolicy Local) got %s from IPPool %s, announced by %s",
			demoNamespace, s.name, how, ip, s.pool.Name, s.adv))
	}
	out, err := l.API.Kubectl(ctx, "get", "ippools.pylonlb.io")
	if err != nil {
		return lines, fmt.Errorf("kubectl get ippools.pylonlb.io: %w: %s", err, out)
	}
	lines = append(lines, "$ kubectl get ippools.pylonlb.io")
	return append(lines, indent(string(out))...), nil
}

// waitBackends waits until the backend Deployment has a Ready pod on
// every node, and records which pod is on which node.
func (d *demo) waitBackends(ctx context.Context, dep *appsv1.Deployment) error {
	l := d.lab
	_, err := poll.Until(ctx, pollEvery, 0, fmt.Sprintf("the Deployment %s/%s's %d pods Ready", dep.Namespace, dep.Name, len(l.Nodes)), func(ctx context.Context) (bool, string, error) {
		if err := d.running(ctx); err != nil {
			return false, "", err
		}
		var pods corev1.PodList
		if err := l.Client.List(ctx, &pods, client.InNamespace(dep.Namespace), client.MatchingLabels(dep.Spec.Selector.MatchLabels)); err != nil {
			return false, err.Error(), nil
		}
		d.backends = map[string]string{}
		var seen []string
		for _, p := range pods.Items {
			ready := p.DeletionTimestamp == nil && slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
				return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
			})
			seen = append(seen, fmt.Sprintf("%s on %q ready %t", p.Name, p.Spec.NodeName, ready))
			if ready {
				d.backends[p.Name] = p.Spec.NodeName
			}
		}
		nodes := slices.Sorted(maps.Values(d.backends))
		return slices.Equal(slices.Compact(nodes), d.nodes()) && len(nodes) == len(l.Nodes), strings.Join(seen, "; "), nil
	})
	return err
}

// podOn names the backend's pod on node n.
func (d *demo) podOn(n string) string {
	for p, on := range d.backends {
		if on == n {
			return p
		}
	}
	return ""
}

// who says which pod answered and where it runs: "web-… on n2".
func (d *demo) who(pod string) string {
	if n, ok := d.backends[pod]; ok {
		return pod + " on " + n
	}
	return pod
}

// waitIngress waits for svc's first ingress address.
func (d *demo) waitIngress(ctx context.Context, svc *corev1.Service) (netip.Addr, error) {
	var ip netip.Addr
	_, err := poll.Until(ctx, pollEvery, 0, "an address for Service "+svc.Namespace+"/"+svc.Name, func(ctx context.Context) (bool, string, error) {
		if err := d.running(ctx); err != nil {
			return false, "", err
		}
		var cur corev1.Service
		if err := d.lab.Client.Get(ctx, client.ObjectKeyFromObject(svc), &cur); err != nil {
			return false, err.Error(), nil
		}
		if len(cur.Status.LoadBalancer.Ingress) == 0 {
			return false, "no status.loadBalancer.ingress", nil
		}
		a, err := netip.ParseAddr(cur.Status.LoadBalancer.Ingress[0].IP)
		if err != nil {
			return false, "", fmt.Errorf("ingress %q: %w", cur.Status.LoadBalancer.Ingress[0].IP, err)
		}
		ip = a
		return true, "", nil
	})
	return ip, err
}

// nodes names the lab's nodes.
func (d *demo) nodes() []string {
	var out []string
	for _, n := range d.lab.Nodes {
		out = append(out, n.Name)
	}
	return out
}

func (d *demo) layer2(ctx context.Context) ([]string, error) {
	l, ip := d.lab, d.sum.L2.IP
	var mac, owner, served string
	_, err := poll.Until(ctx, pollEvery, 0, "one node to answer ARP for "+ip.String()+" and serve it", func(ctx context.Context) (bool, string, error) {
		macs, err := l.LocalClient.WhoHas(ctx, ip, 300*time.Millisecond)
		if err != nil {
			return false, err.Error(), nil
		}
		if len(macs) != 1 {
			return false, fmt.Sprintf("%d MACs answer ARP: %v", len(macs), macs), nil
		}
		n := l.NodeByMAC(macs[0])
		if n == nil {
			return false, fmt.Sprintf("%s answers ARP, not a node's MAC", macs[0]), nil
		}
		got, err := l.LocalClient.Get(ctx, ip, servicePort, time.Second)
		if err != nil {
			return false, fmt.Sprintf("ARP: %s; GET: %v", n.Name, err), nil
		}
		mac, owner, served = macs[0].String(), n.Name, got
		return d.backends[got] == n.Name, fmt.Sprintf("ARP: %s, HTTP answered by %s", n.Name, d.who(got)), nil
	})
	if err != nil {
		return nil, err
	}
	d.sum.L2.Client, d.sum.L2.Owner, d.sum.L2.Answered, d.sum.L2.AnsweredOn = l.LocalClient.Name, owner, served, d.backends[served]
	neigh, _ := l.LocalClient.Run(ctx, "ip", "neigh", "show", ip.String())
	lines := []string{
		fmt.Sprintf("c1 (%s, on the segment) asks ARP who-has %s: answered by %s, which is %s", l.LocalClient.IPv4, ip, mac, owner),
		fmt.Sprintf("c1 GET http://%s/ -> answered by pod %s (the owner's kube-proxy DNATs to its own pod: externalTrafficPolicy Local)", ip, d.who(served)),
	}
	if n := strings.TrimSpace(string(neigh)); n != "" {
		lines = append(lines, "$ ip neigh show "+ip.String()+"   (in c1)", "  "+n)
	}
	return append(lines, fmt.Sprintf("one owner per address: %s won the rendezvous hash of (node, %s) among n1, n2, n3", owner, ip)), nil
}

func (d *demo) bgp(ctx context.Context) ([]string, error) {
	l, ip := d.lab, d.sum.BGP.IP
	all := d.nodes()
	hops, err := d.waitNextHops(ctx, ip, all)
	if err != nil {
		return nil, err
	}
	d.sum.BGP.NextHops = hops
	var served string
	_, err = poll.Until(ctx, pollEvery, 0, "the remote client to be answered through the router", func(ctx context.Context) (bool, string, error) {
		got, err := l.RemoteClient.Get(ctx, ip, servicePort, time.Second)
		if err != nil {
			return false, err.Error(), nil
		}
		served = got
		return slices.Contains(all, d.backends[got]), "answered by " + d.who(got), nil
	})
	if err != nil {
		return nil, err
	}
	d.sum.BGP.Client, d.sum.BGP.Answered, d.sum.BGP.AnsweredOn = l.RemoteClient.Name, served, d.backends[served]
	lines := []string{fmt.Sprintf("c2 (%s, behind the router) GET http://%s/ -> answered by pod %s", l.RemoteClient.IPv4, ip, d.who(served))}
	prefix := netip.PrefixFrom(ip, ip.BitLen())
	if v, err := l.Router.View(ctx); err == nil {
		lines = append(lines, fmt.Sprintf("router's BGP table for %s:", prefix))
		for _, p := range v.Routes[prefix] {
			lines = append(lines, fmt.Sprintf("  from %s (%s): next hop %v, AS path %v, communities %v large %v, best %t multipath %t",
				p.Peer, d.nodeAt(p.Peer), p.NextHops, p.ASPath, p.Communities, p.LargeCommunities, p.Best, p.Multipath))
		}
	}
	if out, err := l.Router.Run(ctx, "ip", "route", "show", ip.String()); err == nil {
		lines = append(lines, "$ ip route show "+ip.String()+"   (in r1: the kernel's ECMP route)")
		lines = append(lines, indent(string(out))...)
	}
	return append(lines, fmt.Sprintf("next hops: %s (every node announces, next hop self; the router hashes each flow to one)", strings.Join(hops, ", "))), nil
}

// waitNextHops waits until the router's kernel forwards ip to exactly the
// named nodes (none: no route), and returns them sorted.
func (d *demo) waitNextHops(ctx context.Context, ip netip.Addr, nodes []string) ([]string, error) {
	want := slices.Sorted(slices.Values(nodes))
	prefix := netip.PrefixFrom(ip, ip.BitLen())
	var got []string
	_, err := poll.Until(ctx, pollEvery, 0, fmt.Sprintf("the router to forward %s to %v", ip, want), func(ctx context.Context) (bool, string, error) {
		routes, err := d.lab.Router.KernelRoutes(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		got = d.nodeNames(routes[prefix])
		return slices.Equal(got, want), fmt.Sprintf("next hops %v", got), nil
	})
	return got, err
}
