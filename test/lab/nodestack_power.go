package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/test/netlab"
)

// nodeDaemons are the processes of a node of the node stack, in the order
// they start.
var nodeDaemons = [...]string{"containerd", "kubelet", "kube-proxy"}

// PowerOff cuts node n's power (the node stack only). At one instant its
// port on the switch goes down (LinkDown: the switch and n see the link
// lose carrier) and its kubelet, containerd and kube-proxy, every process
// of its containers (the speaker's among them) and their shims get
// SIGKILL. Then what a reboot loses goes as well: the containers' cgroups,
// the mounts under the node's directory (sandbox network namespaces, root
// filesystems, pod volumes), the shims' and containerd's sockets and the
// namespace's nftables rules (kube-proxy's). The node's network namespace
// with its addresses and routes stays, as do its files (containerd's
// images, the kubelet's directory), as a disk would. The Node object is
// left alone: the control plane finds out as it would, when the node stops
// renewing its lease. PowerOn boots it.
func (l *Lab) PowerOff(ctx context.Context, n *Node) error {
	var daemons []*Process
	for _, name := range nodeDaemons {
		p := l.Process(name + "-" + n.Name)
		if p == nil {
			return fmt.Errorf("power off %s: no process %s-%s (not a node stack lab?)", n.Name, name, n.Name)
		}
		daemons = append(daemons, p)
	}
	if err := l.LinkDown(ctx, n); err != nil {
		return err
	}
	var errs []error
	for _, p := range daemons {
		errs = append(errs, p.Signal(syscall.SIGKILL))
	}
	f := newNodeFiles(l.Dir, n)
	_, _, err := cleanNodes([]string{f.Dir}, f.Dir, f.Dir+"/")
	errs = append(errs, err)
	for _, p := range daemons {
		<-p.Done()
	}
	l.RecordProcs()
	for _, s := range []string{f.ContainerdSock, f.ContainerdSock + ".ttrpc"} {
		if err := os.Remove(s); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	_, err = netlab.InNetnsCmd(ctx, "", n.Netns, "nft", "flush", "ruleset")
	errs = append(errs, err)
	return errors.Join(errs...)
}

// PowerOn boots node n after PowerOff: its port comes up, its containerd,
// kubelet and kube-proxy start again as startNode started them (the
// images are still in containerd), and PowerOn waits until the kubelet has
// reported the Node Ready since the boot. The kubelet then brings its pods
// back (new sandboxes); waiting for them is the caller's.
func (l *Lab) PowerOn(ctx context.Context, n *Node) error {
	booted := time.Now()
	if err := l.LinkUp(ctx, n); err != nil {
		return err
	}
	err := l.startNodeDaemons(ctx, n, newNodeFiles(l.Dir, n), "")
	l.RecordProcs()
	if err != nil {
		return err
	}
	return l.waitNodeReadySince(ctx, n, booted)
}

// waitNodeReadySince waits until node n's Ready condition is True with a
// heartbeat at or after since (second resolution, as the API has it).
func (l *Lab) waitNodeReadySince(ctx context.Context, n *Node, since time.Time) error {
	since = since.Truncate(time.Second)
	var last string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, nodeReadyTimeout, true, func(ctx context.Context) (bool, error) {
		var node corev1.Node
		if err := l.Client.Get(ctx, client.ObjectKey{Name: n.Name}, &node); err != nil {
			last = err.Error()
			return false, nil
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				last = fmt.Sprintf("Ready=%s (%s) heartbeat %v", c.Status, c.Reason, c.LastHeartbeatTime.Time)
				return c.Status == corev1.ConditionTrue && !c.LastHeartbeatTime.Time.Before(since), nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("node %s not Ready after booting (see logs/kubelet-%s.log): last %s: %w", n.Name, n.Name, last, err)
	}
	return nil
}
