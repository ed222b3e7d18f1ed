package envtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crenvtest "sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// ErrNoAssets is returned by Launch when KUBEBUILDER_ASSETS is unset.
var ErrNoAssets = errors.New("no test API server: " + AssetsEnv + " is unset")

// Options change how Launch runs the API server. The zero value is what
// Start uses: loopback, temporary directories, envtest's stop timeout.
type Options struct {
	// BindAddress is the address the API server listens on, advertises and
	// puts in its serving certificate. Zero: 127.0.0.1. The address must
	// already be on an interface of this network namespace.
	BindAddress netip.Addr
	// Dir holds the API server's certificates (Dir/apiserver), etcd's data
	// (Dir/etcd) and the kubeconfig. Stop leaves it in place. Empty: a fresh
	// temporary directory that Stop removes.
	Dir string
	// Logs, when set, receives etcd's and the API server's output.
	Logs io.Writer
	// StopTimeout is how long each process gets after SIGTERM before
	// SIGKILL. Zero: envtest's default (20s).
	StopTimeout time.Duration
	// Nodes configures the API server for real kubelets, as a cluster's
	// is: Node and RBAC authorization, the NodeRestriction and
	// ServiceAccount admission plugins (envtest disables the latter), and
	// kubelets reached at their InternalIP, and a serving certificate
	// that also names the kubernetes Service's ClusterIP, which pods dial.
	// The lab's node stack sets it.
	Nodes bool
}

// Launch starts etcd and kube-apiserver from $KUBEBUILDER_ASSETS as o says,
// installs every CRD in deploy/crds and waits until they are served. The
// caller must call Stop. Without KUBEBUILDER_ASSETS it returns an error
// wrapping ErrNoAssets.
//
// Launch is Start without a testing.TB, for tools (cmd/pylonlab) and
// harnesses that manage their own lifetime, such as test/lab.
func Launch(o Options) (*Env, error) {
	assets := os.Getenv(AssetsEnv)
	if assets == "" {
		return nil, ErrNoAssets
	}
	kubectl := filepath.Join(assets, "kubectl")
	for _, bin := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			return nil, fmt.Errorf("%s=%s has no %s (build it with hack/envtest-assets.sh): %w", AssetsEnv, assets, bin, err)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("working directory: %w", err)
	}
	root, err := RepoRoot(wd)
	if err != nil {
		return nil, err
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}

	dir, ownDir := o.Dir, false
	if dir == "" {
		if dir, err = os.MkdirTemp("", "pylon-envtest-"); err != nil {
			return nil, err
		}
		ownDir = true
	}
	e := &Env{Scheme: scheme, RepoRoot: root, CRDDir: filepath.Join(root, "deploy", "crds"), KubectlPath: kubectl, dir: dir, ownDir: ownDir}
	if err := e.launch(assets, o); err != nil {
		if ownDir {
			_ = os.RemoveAll(dir)
		}
		return nil, err
	}
	return e, nil
}

func (e *Env) launch(assets string, o Options) error {
	te := &crenvtest.Environment{
		BinaryAssetsDirectory:   assets,
		Scheme:                  e.Scheme,
		CRDDirectoryPaths:       []string{e.CRDDir},
		ErrorIfCRDPathMissing:   true,
		ControlPlaneStopTimeout: o.StopTimeout,
	}
	te.ControlPlane.KubectlPath = e.KubectlPath
	te.ControlPlane.Etcd = &crenvtest.Etcd{DataDir: filepath.Join(e.dir, "etcd"), Out: o.Logs, Err: o.Logs}
	api := te.ControlPlane.GetAPIServer()
	api.CertDir = filepath.Join(e.dir, "apiserver")
	api.Out, api.Err = o.Logs, o.Logs
	for _, d := range []string{te.ControlPlane.Etcd.DataDir, api.CertDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if o.BindAddress.IsValid() {
		port, err := freePort(o.BindAddress)
		if err != nil {
			return err
		}
		// envtest picks a loopback address unless both are set.
		api.SecureServing.Address = o.BindAddress.String()
		api.SecureServing.Port = strconv.Itoa(port)
		api.Configure().Set("advertise-address", o.BindAddress.String())
	}
	// Dual-stack Services (ipFamilyPolicy RequireDualStack) need a cluster
	// IP range of each family. Reserved ranges: nothing is ever sent there.
	api.Configure().Set("service-cluster-ip-range", ServiceClusterIPRange)
	if o.Nodes {
		api.Configure().Set("authorization-mode", "Node,RBAC")
		api.Configure().Disable("disable-admission-plugins")
		api.Configure().Set("enable-admission-plugins", "NodeRestriction,ServiceAccount")
		// Else `kubectl logs` resolves the node's name in DNS.
		api.Configure().Set("kubelet-preferred-address-types", "InternalIP,Hostname")
		// Pods reach the API server at the kubernetes Service's ClusterIP,
		// which envtest's serving certificate does not name.
		ca, err := writeClusterCerts(api.CertDir, o.BindAddress)
		if err != nil {
			return fmt.Errorf("API server certificates: %w", err)
		}
		api.SecureServing.CA = ca
	}
	if os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT") == "" {
		te.ControlPlaneStartTimeout = startTimeout
	}
	began := time.Now()
	cfg, err := te.Start()
	if err != nil {
		// Start can fail after etcd or the API server is up (a CRD the
		// server refuses, for one): stop whatever runs.
		if stopErr := te.Stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stop the half-started test API server: %w", stopErr))
		}
		return fmt.Errorf("start the test API server from %s with the CRDs in %s: %w", assets, e.CRDDir, err)
	}
	e.te, e.Config, e.CRDs, e.StartupTime = te, cfg, te.CRDs, time.Since(began)
	if e.Client, err = client.New(cfg, client.Options{Scheme: e.Scheme}); err != nil {
		return errors.Join(fmt.Errorf("client for the test API server: %w", err), te.Stop())
	}
	e.KubeconfigPath = filepath.Join(e.dir, "kubeconfig")
	if err := os.WriteFile(e.KubeconfigPath, te.KubeConfig, 0o600); err != nil {
		return errors.Join(fmt.Errorf("write kubeconfig: %w", err), te.Stop())
	}
	return nil
}

// Stop stops the API server, then etcd, and removes the directory Launch
// made (a Dir given in Options stays). An API server that outlives the
// stop timeout is killed; that is no error.
func (e *Env) Stop() error {
	// The API server first, killed if it outlives the stop timeout (an
	// API server without etcd may ignore SIGTERM for good), then etcd.
	err := e.StopAPIServer()
	// etcd too is killed once it outlives the stop timeout (on a loaded
	// machine it can take longer to sync): gone either way.
	if stopErr := e.te.ControlPlane.Etcd.Stop(); stopErr != nil && !killedAfterTimeout(stopErr) {
		err = errors.Join(err, fmt.Errorf("stop etcd: %w", stopErr))
	}
	err = errors.Join(err, e.te.Stop())
	if e.ownDir {
		err = errors.Join(err, os.RemoveAll(e.dir))
	}
	return err
}

// RestartAPIServer stops kube-apiserver (SIGTERM, SIGKILL after the stop
// timeout) and starts it again on the same address with the same
// certificates, so Config, kubeconfigs and users stay valid. etcd keeps
// running, so every object survives.
func (e *Env) RestartAPIServer() error {
	if err := e.StopAPIServer(); err != nil {
		return err
	}
	if err := e.StartAPIServer(); err != nil {
		return fmt.Errorf("start the API server again: %w", err)
	}
	return nil
}

// StopAPIServer stops kube-apiserver only; StartAPIServer brings it back.
// Between the two, clients see connection errors, as in an outage. An API
// server that outlives the stop timeout (it waits for open watches to
// drain) is killed, which is no error here: it is gone either way.
func (e *Env) StopAPIServer() error {
	err := e.te.ControlPlane.GetAPIServer().Stop()
	if err != nil && !killedAfterTimeout(err) {
		return fmt.Errorf("stop the API server: %w", err)
	}
	return nil
}

// StartAPIServer starts a kube-apiserver stopped by StopAPIServer.
func (e *Env) StartAPIServer() error {
	return e.te.ControlPlane.GetAPIServer().Start()
}

// RestartEtcd stops etcd (SIGTERM, SIGKILL after the stop timeout) and
// starts it again on the same data directory and client URL: every object
// survives, and the API server reconnects on its own. Between the two the
// API server answers with errors, as when etcd fails under it.
func (e *Env) RestartEtcd() error {
	etcd := e.te.ControlPlane.Etcd
	if err := etcd.Stop(); err != nil && !killedAfterTimeout(err) {
		return fmt.Errorf("stop etcd: %w", err)
	}
	if err := etcd.Start(); err != nil {
		return fmt.Errorf("start etcd again: %w", err)
	}
	return nil
}

// CompactEtcd compacts etcd's history up to its current revision and
// returns that revision: a watch that resumes from an older one is told it
// expired (410 Gone from the API server) and must list again.
func (e *Env) CompactEtcd(ctx context.Context) (int64, error) {
	c, err := clientv3.New(clientv3.Config{
		Endpoints: []string{e.te.ControlPlane.Etcd.URL.String()}, DialTimeout: 5 * time.Second,
		Logger: zap.NewNop(),
	})
	if err != nil {
		return 0, fmt.Errorf("etcd client: %w", err)
	}
	defer c.Close()
	st, err := c.Status(ctx, e.te.ControlPlane.Etcd.URL.String())
	if err != nil {
		return 0, fmt.Errorf("etcd status: %w", err)
	}
	rev := st.Header.Revision
	if _, err := c.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		return 0, fmt.Errorf("compact etcd at revision %d: %w", rev, err)
	}
	return rev, nil
}

// killedAfterTimeout reports whether envtest's Stop failed only because
// the process outlived the stop timeout, after which envtest sent it
// SIGKILL. envtest says so only in the message.
func killedAfterTimeout(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "timeout waiting for process ") && !strings.Contains(msg, "unable to kill")
}

// APIServerURL is the API server's https URL.
func (e *Env) APIServerURL() string { return e.Config.Host }

// ServiceAccountKeyFile is the private key the API server signs
// ServiceAccount tokens with, for kube-controller-manager's
// --service-account-private-key-file.
func (e *Env) ServiceAccountKeyFile() string {
	return filepath.Join(e.te.ControlPlane.GetAPIServer().CertDir, "sa-signer.key")
}

// Dir is the directory that holds the certificates, etcd's data and the
// kubeconfig: process command lines name it, which tells this
// environment's processes apart from any other's.
func (e *Env) Dir() string { return e.dir }

// AddUser provisions a user authenticated by a client certificate and
// returns its client configuration and a kubeconfig for it. Groups decide
// its rights: "system:masters" is a cluster admin.
func (e *Env) AddUser(name string, groups ...string) (*rest.Config, []byte, error) {
	u, err := e.te.ControlPlane.AddUser(crenvtest.User{Name: name, Groups: groups}, rest.CopyConfig(e.Config))
	if err != nil {
		return nil, nil, fmt.Errorf("add user %s: %w", name, err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig for user %s: %w", name, err)
	}
	return u.Config(), kc, nil
}

// InstallCRDs creates further CustomResourceDefinitions (a test's stand-ins
// for another project's kinds) and waits until the API server serves every
// version of them.
func (e *Env) InstallCRDs(crds ...*apiextensionsv1.CustomResourceDefinition) error {
	_, err := crenvtest.InstallCRDs(e.Config, crenvtest.CRDInstallOptions{CRDs: crds, MaxTime: 30 * time.Second})
	return err
}

// NewScheme holds client-go's kinds, CustomResourceDefinition and pylon's:
// what Env.Scheme holds, for code that starts an API server otherwise
// (hack/bench-alloc).
func NewScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register client-go kinds: %w", err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register CRD kinds: %w", err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register %s kinds: %w", v1alpha1.GroupVersion(), err)
	}
	return scheme, nil
}

// freePort asks the kernel for a free TCP port on addr.
func freePort(addr netip.Addr) (int, error) {
	l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", addr, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
