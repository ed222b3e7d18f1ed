package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// KillContainer sends SIGKILL to a container's process on node n through
// the node's containerd (`ctr tasks kill`), as when that process crashes;
// the kubelet then restarts it as its pod's restartPolicy says. id is the
// container's ID as a pod's status has it ("containerd://<id>") or bare.
func (l *Lab) KillContainer(ctx context.Context, n *Node, id string) error {
	id = strings.TrimPrefix(id, "containerd://")
	if id == "" {
		return errors.New("kill a container: no container ID")
	}
	if _, err := l.ctr(ctx, n, "tasks", "kill", "--signal=SIGKILL", id); err != nil {
		return fmt.Errorf("kill container %s on %s: %w", id, n.Name, err)
	}
	return nil
}
