package lab

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// KillContainer sends SIGKILL to a container's process on node n through
// the node's containerd (`ctr tasks kill`), as when that process crashes;
// the kubelet then restarts it as its pod's restartPolicy says. id is the
// container's ID as a pod's status has it ("containerd://<id>") or bare.
// It needs a node stack.
func (l *Lab) KillContainer(ctx context.Context, n *Node, id string) error {
	if l.opts.NodeStack == nil {
		return errors.New("kill a container: the lab has no node stack")
	}
	id = strings.TrimPrefix(id, "containerd://")
	if id == "" {
		return errors.New("kill a container: no container ID")
	}
	ctr := filepath.Join(l.opts.NodeStack.Assets, "ctr")
	sock := newNodeFiles(l.Dir, n).ContainerdSock
	if _, err := run(ctx, "", ctr, "--address="+sock, "--namespace=k8s.io", "tasks", "kill", "--signal=SIGKILL", id); err != nil {
		return fmt.Errorf("kill container %s on %s: %w", id, n.Name, err)
	}
	return nil
}
