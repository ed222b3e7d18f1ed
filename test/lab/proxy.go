package lab

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// ProxyTable is the nftables table (family inet) of the kube-proxy
// stand-in in every node namespace.
const ProxyTable = "pylonlab_proxy"

// proxyEvery is how often the stand-in re-reads Services and
// EndpointSlices.
const proxyEvery = 200 * time.Millisecond

// vipPort is one load-balancer address and TCP port a node serves.
type vipPort struct {
	IP   netip.Addr
	Port int32
}

// servedVIPs is the kube-proxy stand-in's decision for one node, a pure
// function of the cluster's objects. For every LoadBalancer Service's
// ingress IP and TCP port, the node serves it (DNATs it to its backend)
// when
//   - externalTrafficPolicy Cluster: the Service has a usable endpoint on
//     any node;
//   - externalTrafficPolicy Local: it has one on this node;
//
// where usable is kube-proxy's rule: ready endpoints, or, when none is
// ready, serving and terminating ones. Unserved traffic finds no rule and
// is dropped by the node (it does not forward).
func servedVIPs(node string, svcs []corev1.Service, slices []discoveryv1.EndpointSlice) []vipPort {
	bySvc := map[string][]discoveryv1.Endpoint{}
	for _, s := range slices {
		key := s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]
		bySvc[key] = append(bySvc[key], s.Endpoints...)
	}
	var out []vipPort
	for _, svc := range svcs {
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		usable := usableEndpoints(bySvc[svc.Namespace+"/"+svc.Name])
		local := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
		serve := false
		for _, ep := range usable {
			if !local || (ep.NodeName != nil && *ep.NodeName == node) {
				serve = true
				break
			}
		}
		if !serve {
			continue
		}
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			ip, err := netip.ParseAddr(ing.IP)
			if err != nil {
				continue
			}
			for _, p := range svc.Spec.Ports {
				if p.Protocol == corev1.ProtocolTCP || p.Protocol == "" {
					out = append(out, vipPort{ip, p.Port})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].IP != out[j].IP {
			return out[i].IP.Less(out[j].IP)
		}
		return out[i].Port < out[j].Port
	})
	return out
}

func usableEndpoints(eps []discoveryv1.Endpoint) []discoveryv1.Endpoint {
	var ready, fallback []discoveryv1.Endpoint
	for _, ep := range eps {
		c := ep.Conditions
		switch {
		case c.Ready == nil || *c.Ready: // unset means ready
			ready = append(ready, ep)
		case c.Serving != nil && *c.Serving && c.Terminating != nil && *c.Terminating:
			fallback = append(fallback, ep)
		}
	}
	if len(ready) > 0 {
		return ready
	}
	return fallback
}

// proxyRuleset is the nft script that replaces the stand-in's table with
// one redirecting every served address and port to the backend.
func proxyRuleset(vips []vipPort) string {
	var b strings.Builder
	// Declare, delete and recreate: one atomic transaction whether or not
	// the table existed.
	fmt.Fprintf(&b, "table inet %s\ndelete table inet %s\ntable inet %s {\n", ProxyTable, ProxyTable, ProxyTable)
	b.WriteString("\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n")
	for _, v := range vips {
		fam := "ip"
		if v.IP.Is6() {
			fam = "ip6"
		}
		fmt.Fprintf(&b, "\t\t%s daddr %s tcp dport %d redirect to :%d\n", fam, v.IP, v.Port, BackendPort)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// SyncProxy brings every node's stand-in table up to date now (the lab
// also does it every 200 ms). Tests call it after changing Services or
// EndpointSlices to skip the wait. With a node stack (Options.NodeStack)
// there is no stand-in and it does nothing: kube-proxy syncs on its own.
func (l *Lab) SyncProxy(ctx context.Context) error {
	if l.opts.NodeStack != nil {
		return nil
	}
	l.proxyMu.Lock()
	defer l.proxyMu.Unlock()
	var svcs corev1.ServiceList
	if err := l.Client.List(ctx, &svcs); err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	var slices discoveryv1.EndpointSliceList
	if err := l.Client.List(ctx, &slices); err != nil {
		return fmt.Errorf("list endpoint slices: %w", err)
	}
	for _, n := range l.Nodes {
		rules := proxyRuleset(servedVIPs(n.Name, svcs.Items, slices.Items))
		if l.proxyRules[n.Name] == rules {
			continue
		}
		if _, err := inNetnsCmd(ctx, rules, n.Netns, "nft", "-f", "-"); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		l.proxyRules[n.Name] = rules
	}
	return nil
}

// runProxy keeps the stand-in in sync until ctx ends. Errors (the API
// server being restarted, say) go to the lab's log and are retried.
func (l *Lab) runProxy(ctx context.Context) {
	t := time.NewTicker(proxyEvery)
	defer t.Stop()
	var last string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := l.SyncProxy(ctx)
		if msg := fmt.Sprint(err); err != nil && msg != last && ctx.Err() == nil {
			l.logf("kube-proxy stand-in: %v", err)
			last = msg
		} else if err == nil {
			last = ""
		}
	}
}

// StopProxy stops the kube-proxy stand-in; its rules stay as they were.
// For benchmarks: it re-reads every Service and EndpointSlice every
// proxyEvery, which with thousands of Services is load the system under
// test would not see from a real kube-proxy's watch.
func (l *Lab) StopProxy() {
	l.proxyMu.Lock()
	stop, done := l.stopProxy, l.proxyDone
	l.stopProxy = nil
	l.proxyMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}
