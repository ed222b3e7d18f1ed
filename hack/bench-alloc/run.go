package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/images"
	"github.com/pylonlb/pylon/test/poll"
)

// pylonNS is the namespace the controller runs in.
const pylonNS = "pylon-system"

// poolCIDR is the benchmark's IPv6 pool: a /64 of the IPv6 documentation
// prefix; poolV4CIDR its IPv4 pool, a /16 of the benchmarking range
// (RFC 2544). Nothing is ever sent to either: no speaker runs.
const (
	poolCIDR   = "2001:db8:b0::/64"
	poolV4CIDR = "198.18.0.0/16"
)

// errStop ends the run after a phase that failed a correctness check the
// later phases build on; the failure is in the report.
var errStop = errors.New("stopped: a phase did not converge")

// bench is one benchmark run.
type bench struct {
	o         options
	root, tmp string
	api       *apiServer
	cs        kubernetes.Interface
	crc       client.Client
	load      *loader
	tr        *tracker
	bin       string
	// PIDs of the API server's processes, for their CPU time.
	apiPID, etcdPID int
	// ctrl is the controller process running now; runs counts them.
	ctrl *controllerProc
	runs int
	// next is the number of the next Service name.
	next int
	// standing are the live Services that have addresses.
	standing []string
	// apiVersion is the API server's version.
	apiVersion string
	stopWatch  context.CancelFunc
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench-alloc: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, o options) int {
	// envtest logs through controller-runtime's logger; the benchmark
	// reports on its own.
	ctrllog.SetLogger(zap.New(zap.WriteTo(discard{})))
	b := &bench{o: o}
	defer b.close()
	if err := b.setup(ctx); err != nil {
		logf("set-up: %v", err)
		return 1
	}
	rep := &report{}
	began := time.Now()
	var err error
	if len(o.limitLevels) > 0 {
		err = b.phaseAPILimit(ctx, rep)
	} else {
		err = b.phases(ctx, rep)
	}
	if err == nil && b.tr != nil {
		rep.check("all", "moves, duplicates, addresses shown without condition and annotation: seen by the watch during the run", b.tr.Problems())
	}
	if err != nil && !errors.Is(err, errStop) {
		rep.fail("all", "run", err.Error())
	}
	if b.ctrl != nil && rep.broken {
		logf("the controller's last log lines:\n%s", b.ctrl.logTail(30))
	}
	b.header(os.Stdout, time.Since(began))
	rep.write(os.Stdout)
	if rep.broken || err != nil {
		return 1
	}
	return 0
}

// phases are the controller's: create, restart, churn.
func (b *bench) phases(ctx context.Context, rep *report) error {
	err := b.phaseCreate(ctx, rep)
	if err == nil {
		err = b.phaseRestart(ctx, rep)
	}
	if err == nil {
		err = b.phaseChurn(ctx, rep)
	}
	return err
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func (b *bench) setup(ctx context.Context) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	if b.root, err = envtest.RepoRoot(wd); err != nil {
		return err
	}
	assets, err := assetsDir(b.o.assets, b.root)
	if err != nil {
		return err
	}
	if b.tmp, err = os.MkdirTemp("", "pylon-bench-alloc-"); err != nil {
		return err
	}
	if b.o.logDir != "" {
		if err := os.MkdirAll(b.o.logDir, 0o755); err != nil {
			return err
		}
	}
	logf("building cmd/controller")
	if b.bin, err = images.BuildStatic(ctx, "./cmd/controller", b.tmp, ""); err != nil {
		return err
	}
	logf("starting the test API server from %s", assets)
	if b.api, err = startAPIServer(assets, b.root, b.tmp); err != nil {
		return err
	}
	b.apiPID, b.etcdPID = childPID("kube-apiserver"), childPID("etcd")
	cfg := benchConfig(b.api.config)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	b.cs, b.load = cs, &loader{cs: cs, clients: b.o.clients}
	if b.crc, err = client.New(cfg, client.Options{Scheme: b.api.scheme}); err != nil {
		return err
	}
	if v, err := cs.Discovery().ServerVersion(); err == nil {
		b.apiVersion = v.GitVersion
	}
	for _, ns := range []string{pylonNS, benchNS} {
		if err := b.crc.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return fmt.Errorf("create namespace %s: %w", ns, err)
		}
	}
	pools := map[string]string{"bench": poolCIDR}
	if b.o.family != "v6" {
		pools["bench-v4"] = poolV4CIDR
	}
	for name, cidr := range pools {
		if err := b.crc.Create(ctx, gen.IPPool(name, gen.Addresses(cidr))); err != nil {
			return fmt.Errorf("create IPPool %s: %w", name, err)
		}
	}
	if len(b.o.limitLevels) > 0 {
		// No controller and no watch: the API server alone is measured,
		// and the plain client moves addresses on purpose.
		return nil
	}
	b.tr = newTracker()
	watchCtx, cancel := context.WithCancel(context.Background())
	b.stopWatch = cancel
	if err := b.tr.run(watchCtx, cs, benchNS); err != nil {
		return err
	}
	if err := b.startController(); err != nil {
		return err
	}
	return b.waitPoolReady(ctx)
}

// startController starts a fresh controller process.
func (b *bench) startController() error {
	b.runs++
	args := []string{"--kubeconfig=" + b.api.kubeconfig, "--metrics-bind-address=0", "--health-probe-bind-address=0", "--namespace=" + pylonNS, "--workers=" + strconv.Itoa(b.o.workers)}
	dir := b.tmp
	if b.o.logDir != "" {
		dir = b.o.logDir
	}
	p, err := startController(b.bin, args, nil, filepath.Join(dir, fmt.Sprintf("controller-%d.log", b.runs)))
	if err != nil {
		return err
	}
	b.ctrl = p
	logf("controller started: pid %d, log %s", p.cmd.Process.Pid, p.logPath)
	return nil
}

// waitPoolReady waits until the controller has written the IPPool's status:
// its caches are synced and it works.
func (b *bench) waitPoolReady(ctx context.Context) error {
	_, err := poll.Until(ctx, 20*time.Millisecond, 60*time.Second, "IPPool bench Ready", func(ctx context.Context) (bool, string, error) {
		if !b.ctrl.running() {
			return false, "", fmt.Errorf("the controller exited: %v", b.ctrl.err)
		}
		var pool v1alpha1.IPPool
		if err := b.crc.Get(ctx, client.ObjectKey{Name: "bench"}, &pool); err != nil {
			return false, err.Error(), nil
		}
		return meta.IsStatusConditionTrue(pool.Status.Conditions, v1alpha1.ConditionReady), fmt.Sprintf("conditions %+v", pool.Status.Conditions), nil
	})
	if err != nil {
		return fmt.Errorf("%w\n%s", err, b.ctrl.logTail(30))
	}
	logf("controller up: IPPool bench Ready after %v", time.Since(b.ctrl.started).Round(time.Millisecond))
	return nil
}

// close stops the controller, the watch and the API server and removes the
// temporary directory, whatever state the run is in.
func (b *bench) close() {
	if b.ctrl != nil {
		if _, err := b.ctrl.stop(30 * time.Second); err != nil {
			logf("stop the controller: %v", err)
		}
	}
	if b.stopWatch != nil {
		b.stopWatch()
	}
	if err := b.api.stop(); err != nil {
		logf("stop the test API server: %v", err)
	}
	if b.tmp != "" {
		if err := os.RemoveAll(b.tmp); err != nil {
			logf("remove %s: %v", b.tmp, err)
		}
	}
}

// header writes how the run was made.
func (b *bench) header(w *os.File, took time.Duration) {
	fmt.Fprintf(w, "bench-alloc %s\n\n", strings.Join(b.o.args, " "))
	fmt.Fprintf(w, "- date: %s; run took %v\n", time.Now().UTC().Format(time.RFC3339), took.Round(time.Second))
	fmt.Fprintf(w, "- machine: %d cores (%s), %s; %s\n", runtime.NumCPU(), cpuModel(), memTotal(), runtime.Version())
	fmt.Fprintf(w, "- kube-apiserver %s with etcd, both from $KUBEBUILDER_ASSETS, on the same cores as the controller and the benchmark\n", b.apiVersion)
	fmt.Fprintf(w, "- Services: -family %s (pools %s)\n", b.o.family, poolsOf(b.o.family))
	if len(b.o.limitLevels) > 0 {
		fmt.Fprintf(w, "- no controller: a plain client sends the controller's status patch; benchmark: %d concurrent clients for the creates\n\n", b.o.clients)
		return
	}
	fmt.Fprintf(w, "- controller: --workers=%d, no client-side rate limit; benchmark: %d concurrent clients\n\n", b.o.workers, b.o.clients)
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	data, _ := os.ReadFile("/proc/meminfo")
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return fmt.Sprintf("%.1f GiB RAM", float64(kb)/(1<<20))
		}
	}
	return "unknown RAM"
}

func poolsOf(family string) string {
	if family == "v6" {
		return poolCIDR
	}
	return poolCIDR + ", " + poolV4CIDR
}
