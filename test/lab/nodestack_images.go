package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/pylonlb/pylon/test/images"
)

// ImportImages writes imgs into one tarball and imports it into every
// node's containerd, as bring-up does with NodeStack.Images: for images a
// test builds once the lab is up (a second tag for a rolling update).
func (l *Lab) ImportImages(ctx context.Context, imgs ...images.Image) error {
	if l.opts.NodeStack == nil {
		return errors.New("import images: the lab has no node stack")
	}
	dir, err := os.MkdirTemp(l.Dir, "images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tarball := filepath.Join(dir, "images.tar")
	if err := images.WriteTarball(tarball, imgs...); err != nil {
		return err
	}
	errs := make([]error, len(l.Nodes))
	var wg sync.WaitGroup
	for i, n := range l.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.importTarball(ctx, n, tarball); err != nil {
				errs[i] = fmt.Errorf("node %s: %w", n.Name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// importTarball imports an image tarball into n's containerd, in the
// kubelet's namespace k8s.io.
func (l *Lab) importTarball(ctx context.Context, n *Node, tarball string) error {
	sock := newNodeFiles(l.Dir, n).ContainerdSock
	_, err := run(ctx, "", filepath.Join(l.opts.NodeStack.Assets, "ctr"), "--address="+sock, "--namespace=k8s.io", "images", "import", tarball)
	return err
}
