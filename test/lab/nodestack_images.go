package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pylonlb/pylon/test/images"
	"github.com/pylonlb/pylon/test/netlab"
)

// ImportImages writes imgs into one tarball and imports it into every
// node's containerd (namespace k8s.io, where the kubelet looks), as
// bring-up does with NodeStack.Images: for images a test builds once the
// lab is up (a second tag for a rolling update, the refs a manifest
// names).
func (l *Lab) ImportImages(ctx context.Context, imgs ...images.Image) error {
	dir, err := os.MkdirTemp(l.Dir, "images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tarball := filepath.Join(dir, "images.tar")
	if err := images.WriteTarball(tarball, imgs...); err != nil {
		return err
	}
	return l.onEveryNode(func(n *Node) error { return l.importTarball(ctx, n, tarball) })
}

// importTarball imports an image tarball into n's containerd.
func (l *Lab) importTarball(ctx context.Context, n *Node, tarball string) error {
	_, err := l.ctr(ctx, n, "images", "import", tarball)
	return err
}

// NodeContainers lists the containers in node n's containerd (namespace
// k8s.io: the kubelet's, pod sandboxes included), container ID to image.
func (l *Lab) NodeContainers(ctx context.Context, n *Node) (map[string]string, error) {
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

// ctr runs the node stack's ctr against node n's containerd, in the
// kubelet's namespace k8s.io.
func (l *Lab) ctr(ctx context.Context, n *Node, args ...string) ([]byte, error) {
	sock := newNodeFiles(l.Dir, n).ContainerdSock
	return netlab.Run(ctx, "", filepath.Join(l.opts.NodeStack.Assets, "ctr"), append([]string{"--address=" + sock, "--namespace=k8s.io"}, args...)...)
}
