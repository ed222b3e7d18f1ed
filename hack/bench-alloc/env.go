package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	crenvtest "sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/pylonlb/pylon/test/envtest"
)

// apiServer is a running test kube-apiserver and etcd.
type apiServer struct {
	env *crenvtest.Environment
	// config reaches it as a cluster admin (system:masters).
	config *rest.Config
	scheme *runtime.Scheme
	// kubeconfig is a file for config, for the controller process.
	kubeconfig string
}

// assetsDir returns dir, or else the directory hack/envtest-assets.sh
// prints (it builds the binaries on first use, and returns at once after).
func assetsDir(dir, root string) (string, error) {
	if dir == "" {
		var stderr bytes.Buffer
		cmd := exec.Command(filepath.Join(root, "hack", "envtest-assets.sh"))
		cmd.Dir, cmd.Stderr = root, &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("hack/envtest-assets.sh: %w: %s", err, stderr.String())
		}
		dir = strings.TrimSpace(string(out))
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("assets directory %s has no %s (build it with hack/envtest-assets.sh): %w", dir, bin, err)
		}
	}
	return dir, nil
}

// startAPIServer starts etcd and kube-apiserver from assets with the CRDs in
// root/deploy/crds, as test/envtest.Start does (repeated here: Start takes
// a testing.TB), and writes a kubeconfig into tmp. Call stop even when it
// fails: it stops whatever started.
func startAPIServer(assets, root, tmp string) (*apiServer, error) {
	scheme, err := envtest.NewScheme()
	if err != nil {
		return nil, err
	}
	crdDir := filepath.Join(root, "deploy", "crds")
	s := &apiServer{scheme: scheme, env: &crenvtest.Environment{
		BinaryAssetsDirectory:    assets,
		Scheme:                   scheme,
		CRDDirectoryPaths:        []string{crdDir},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}}
	// Room for thousands of LoadBalancer Services, each of which takes a
	// cluster IP; reserved ranges, nothing is ever sent there.
	s.env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", envtest.ServiceClusterIPRange)
	cfg, err := s.env.Start()
	if err != nil {
		return s, fmt.Errorf("start the test API server from %s with the CRDs in %s: %w", assets, crdDir, err)
	}
	s.config = cfg
	s.kubeconfig = filepath.Join(tmp, "kubeconfig")
	if err := os.WriteFile(s.kubeconfig, s.env.KubeConfig, 0o600); err != nil {
		return s, fmt.Errorf("write kubeconfig: %w", err)
	}
	return s, nil
}

// stop stops the API server and etcd; s may be half started.
func (s *apiServer) stop() error {
	if s == nil || s.env == nil {
		return nil
	}
	return s.env.Stop()
}

// benchConfig is config with client-side rate limits far above what the
// benchmark sends, so that the benchmark's own client is never the limit.
func benchConfig(config *rest.Config) *rest.Config {
	c := rest.CopyConfig(config)
	c.QPS, c.Burst = 2000, 4000
	c.UserAgent = "pylon-bench-alloc"
	return c
}
