package speaker

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
)

// Observed is what every speaker reads from the API server for its plan:
// the Nodes, the Services and their EndpointSlices, the SpeakerStatuses
// and the parsed configuration. pylonctl reads the same objects and builds
// the plan's inputs with Inputs, so that it recomputes an owner the way the
// speakers compute it.
type Observed struct {
	Nodes          []*corev1.Node
	Services       []*corev1.Service
	EndpointSlices []*discoveryv1.EndpointSlice
	Speakers       []v1alpha1.SpeakerStatus
	Config         *config.Config
}

// Inputs returns the inputs of PlanL2 and BGPIPs as the speaker on node
// builds them from o, with live the memberlist members it counts alive and
// class the load-balancer class it serves. What only the node itself knows
// is left empty: its links and addresses (Links, NodeIPs) and the addresses
// it yields (Yield). The speaker's own pass builds its inputs with this.
func (o Observed) Inputs(node, class string, live map[string]bool) Inputs {
	s := &snapshot{nodes: o.Nodes, services: o.Services, slices: o.EndpointSlices, speakers: o.Speakers, cfg: o.Config}
	return s.inputs(node, class, live)
}

// inputs is Observed.Inputs on a pass's snapshot.
func (s *snapshot) inputs(node, class string, live map[string]bool) Inputs {
	return Inputs{
		Node: node, Nodes: s.electionNodes(live), Services: s.planServices(class), Config: s.cfg,
		ClusterNodeIPs: s.clusterNodeIPs(), NoInterface: s.noInterface(),
	}
}
