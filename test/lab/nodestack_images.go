package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pylonlb/pylon/test/images"
)

// ImportImages imports imgs into every node's containerd (namespace
// k8s.io, where the kubelet looks), as the bring-up imports
// NodeStack.Images: one tarball, `ctr images import` on each node.
func (l *Lab) ImportImages(ctx context.Context, imgs ...images.Image) error {
	if l.opts.NodeStack == nil {
		return errors.New("import images: the lab has no node stack")
	}
	f, err := os.CreateTemp(l.Dir, "images-*.tar")
	if err != nil {
		return err
	}
	path := f.Name()
	if err := f.Close(); err != nil {
		return err
	}
	defer os.Remove(path)
	if err := images.WriteTarball(path, imgs...); err != nil {
		return err
	}
	for _, n := range l.Nodes {
		if _, err := l.ctr(ctx, n, "images", "import", path); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	return nil
}

// NodeContainers lists the containers in node n's containerd (namespace
// k8s.io: the kubelet's, pod sandboxes included), container ID to image.
func (l *Lab) NodeContainers(ctx context.Context, n *Node) (map[string]string, error) {
	if l.opts.NodeStack == nil {
		return nil, errors.New("node containers: the lab has no node stack")
	}
	out, err := l.ctr(ctx, n, "containers", "list")
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", n.Name, err)
	}
	got := map[string]string{}
	for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 2 { // the header: CONTAINER IMAGE RUNTIME
			continue
		}
		got[f[0]] = f[1]
	}
	return got, nil
}

// ctr runs the node stack's ctr against node n's containerd.
func (l *Lab) ctr(ctx context.Context, n *Node, args ...string) ([]byte, error) {
	sock := newNodeFiles(l.Dir, n).ContainerdSock
	return run(ctx, "", filepath.Join(l.opts.NodeStack.Assets, "ctr"), append([]string{"--address=" + sock, "--namespace=k8s.io"}, args...)...)
}
