package speaker

import (
	"encoding/json"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker/election"
	"github.com/pylonlb/pylon/speaker/membership"
)

// BenchmarkPlanL2 measures the layer-2 plan of one pass on one node, the
// election of every address included (electL2, Eligible and Owner for
// each), with 5,000 single-address Services over 100 and 1,000 nodes and
// 50,000 over 3 nodes, every node eligible for every address (the Cluster policy, one
// L2Advertisement selecting every node: the most work a pass does). It
// also reports the size, as JSON, of the SpeakerStatus that node writes
// after the pass (buildStatus: one member entry per node, the first 256
// announcements) as status-bytes. Node names are 32 characters, as
// generated cloud node names are.
func BenchmarkPlanL2(b *testing.B) {
	for _, sz := range []struct{ size, services int }{{100, 5000}, {1000, 5000}, {3, 50000}} {
		size, services := sz.size, sz.services
		in := Inputs{Config: testConfig(b), Links: eth0(1), NodeIPs: addrs("198.18.0.11")}
		var members []membership.Member
		for i := range size {
			name := fmt.Sprintf("node-pool-a-%04d.cluster.example", i)
			in.Nodes = append(in.Nodes, election.Node{Name: name, Labels: labels.Set{"l2": "yes", "kubernetes.io/hostname": name}, Alive: true})
			members = append(members, membership.Member{Name: name, Address: fmt.Sprintf("198.18.%d.%d:7946", i/250, 1+i%250), State: membership.Alive})
		}
		in.Node = in.Nodes[0].Name
		for i := range services {
			in.Services = append(in.Services, Service{Key: fmt.Sprintf("namespace-%d/service-%d", i%50, i), IPs: addrs(fmt.Sprintf("2001:db8:51::%x", i+1))})
		}
		b.Run(fmt.Sprintf("nodes=%d/addrs=%d", size, services), func(b *testing.B) {
			b.ReportAllocs()
			var p Plan
			for b.Loop() {
				p = PlanL2(in)
			}
			if len(p.Owners) != services || len(p.L2) == 0 {
				b.Fatalf("plan: %d owners, %d addresses this node answers for; want %d owners and some", len(p.Owners), len(p.L2), services)
			}
			st := v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: in.Node}, Spec: v1alpha1.SpeakerStatusSpec{MemberlistAddress: members[0].Address},
				Status: buildStatus(members, p, nil, bgpState{}, &splitBrain{})}
			raw, err := json.Marshal(st)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(raw)), "status-bytes")
		})
	}
}
