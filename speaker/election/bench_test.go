package election

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/config"
)

// BenchmarkOwner measures one owner choice; the speaker makes one per
// announced address whenever membership or configuration changes.
func BenchmarkOwner(b *testing.B) {
	for _, size := range []int{5, 100} {
		nodes := nodeNames(size)
		ips := testAddrs(512)
		b.Run(fmt.Sprintf("nodes=%d", size), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := Owner(ips[i%len(ips)], nodes); !ok {
					b.Fatal("no owner")
				}
				i++
			}
		})
	}
}

func BenchmarkScore(b *testing.B) {
	ip := netip.MustParseAddr("2001:db8::1")
	b.ReportAllocs()
	for b.Loop() {
		Score("worker-node-042.example.internal", ip)
	}
}

// BenchmarkPass measures the election of one pass as the speaker runs it
// (PlanL2): for each of 5,000 addresses, the nodes that may own it
// (Eligible: labels against the L2Advertisement's selector, liveness,
// endpoints under Local) and its owner among them (Owner). Under the
// Cluster policy every node is eligible for every address, the most work
// a pass does; under Local two nodes hold endpoints of each Service.
func BenchmarkPass(b *testing.B) {
	ads := []*config.L2Advertisement{ad("l2", "l2=yes", "lab")}
	ips := testAddrs(2500)
	for _, size := range []int{100, 1000} {
		names := nodeNames(size)
		slices.Sort(names) // as the speaker passes them
		nodes := make([]Node, size)
		for i, name := range names {
			nodes[i] = Node{Name: name, Labels: labels.Set{"l2": "yes", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}, Alive: true}
		}
		for _, local := range []bool{false, true} {
			svc := Service{Advertisements: ads, Local: local}
			policy := "Cluster"
			if local {
				policy = "Local"
				svc.EndpointNodes = map[string]bool{names[0]: true, names[size/2]: true}
			}
			b.Run(fmt.Sprintf("nodes=%d/addrs=%d/%s", size, len(ips), policy), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					for _, ip := range ips {
						if _, ok := Owner(ip, Eligible(nodes, svc)); !ok {
							b.Fatal("no owner")
						}
					}
				}
			})
		}
	}
}
