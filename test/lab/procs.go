package lab

import "github.com/pylonlb/pylon/test/netlab"

// The network layer's types and constants under the names test/lab's users
// know them by.
type (
	// Process is a program the lab started (netlab.Process).
	Process = netlab.Process
	// ProcessSpec says what to run and where (netlab.ProcessSpec).
	ProcessSpec = netlab.ProcessSpec
	// TB is what Start and Require need of a test (netlab.TB).
	TB = netlab.TB
)

// DefaultGrace is how long Stop waits after SIGTERM before SIGKILL.
const DefaultGrace = netlab.DefaultGrace

// StateDir holds the machine-wide lab lock and one record per running lab
// (netlab.StateDir).
const StateDir = netlab.StateDir

// Teardown layers (ProcessSpec.Layer) of what the lab runs: what tests
// start (0) stops first, then the kubelets, kube-proxies and the control
// plane's controllers, containerd, the backends, and FRR
// (netlab.LayerFRR) last.
const (
	layerKube       = 1
	layerContainerd = 2
	layerBackend    = 3
)

// StartOnNodes starts one process per node, in the node's namespace,
// named <name>-<node>, with NODE_NAME and KUBECONFIG set for that node.
func (l *Lab) StartOnNodes(name, path string, args ...string) ([]*Process, error) {
	return l.startOnNodes(0, name, path, args...)
}

func (l *Lab) startOnNodes(layer int, name, path string, args ...string) ([]*Process, error) {
	var ps []*Process
	for _, n := range l.Nodes {
		p, err := l.startOnNode(n, layer, n.Kubeconfig, name, path, args...)
		if err != nil {
			return ps, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// StartOnNode starts one process in node n's namespace, named
// <name>-<node>, with NODE_NAME and KUBECONFIG set for that node.
func (l *Lab) StartOnNode(n *Node, name, path string, args ...string) (*Process, error) {
	return l.startOnNode(n, 0, n.Kubeconfig, name, path, args...)
}

// StartOnNodeAs is StartOnNode with KUBECONFIG set to kubeconfig instead of
// the node's admin one.
func (l *Lab) StartOnNodeAs(n *Node, kubeconfig, name, path string, args ...string) (*Process, error) {
	return l.startOnNode(n, 0, kubeconfig, name, path, args...)
}

func (l *Lab) startOnNode(n *Node, layer int, kubeconfig, name, path string, args ...string) (*Process, error) {
	return l.StartProcess(ProcessSpec{
		Name: name + "-" + n.Name, Netns: n.Netns, Path: path, Args: args, Layer: layer,
		Env: []string{"NODE_NAME=" + n.Name, "KUBECONFIG=" + kubeconfig},
	})
}

// StartController starts a process in the host's namespace named
// "controller" with --kubeconfig for the lab's admin kubeconfig before
// args.
func (l *Lab) StartController(path string, args ...string) (*Process, error) {
	return l.StartControllerAs(l.Kubeconfig, path, args...)
}

// StartControllerAs is StartController with another kubeconfig than the
// lab's admin one: a ServiceAccount's, from ServiceAccountKubeconfig.
func (l *Lab) StartControllerAs(kubeconfig, path string, args ...string) (*Process, error) {
	return l.StartProcess(ProcessSpec{
		Name: "controller", Path: path,
		Args: append([]string{"--kubeconfig=" + kubeconfig}, args...),
	})
}
