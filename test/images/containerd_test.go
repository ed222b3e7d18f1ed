package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/poll"
)

// TestImportIntoContainerd writes the pause image and a second image of the
// same binary (another user and entrypoint) into one tarball, and the pause
// image for this machine and another architecture into a multi-platform
// OCI archive (WriteOCIArchive), imports both with ctr into a throw-away
// containerd built by hack/node-assets.sh (own
// root, state and socket under the test's directory; the CRI and NRI
// plugins disabled), and lists the three images; then it runs the pause image
// with runc and stops it with SIGTERM.
func TestImportIntoContainerd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: containerd needs root; run as root (`sudo -E make test`; CI runs as root)")
	}
	assets := NodeAssets(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	pause, err := BuildPause(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(dir, "images.tar")
	if err := WriteTarball(tarPath,
		Image{Ref: "pylon.local/pause:dev", Binary: pause},
		Image{Ref: "pylon.local/pause-nonroot:dev", Binary: pause, Entrypoint: []string{"/pause"}, User: "65532:65532"},
	); err != nil {
		t.Fatal(err)
	}

	// And the pause image for this machine and another architecture as one
	// multi-platform OCI archive, as hack/release writes pylon's.
	other := map[string]string{"amd64": "arm64"}[runtime.GOARCH]
	if other == "" {
		other = "amd64"
	}
	pauseOther, err := Build{Arch: other, Version: "dev"}.Static(ctx, "./test/images/pause", filepath.Join(dir, other))
	if err != nil {
		t.Fatal(err)
	}
	ociPath := filepath.Join(dir, "pause.oci.tar")
	if err := WriteOCIArchive(ociPath,
		Image{Ref: "pylon.local/pause-oci:dev", Binary: pause},
		Image{Ref: "pylon.local/pause-oci:dev", Binary: pauseOther, Arch: other},
	); err != nil {
		t.Fatal(err)
	}

	sock := startContainerd(t, assets, dir)
	ctr := func(args ...string) (string, error) { return runCtr(assets, sock, args...) }
	if _, err := ctr("images", "import", tarPath); err != nil {
		t.Fatal(err)
	}
	if _, err := ctr("images", "import", "--all-platforms", ociPath); err != nil {
		t.Fatal(err)
	}
	out, err := ctr("images", "ls", "-q")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(out)
	slices.Sort(got)
	if want := []string{"pylon.local/pause-nonroot:dev", "pylon.local/pause-oci:dev", "pylon.local/pause:dev"}; !slices.Equal(got, want) {
		t.Fatalf("images after import: %q, want %q", got, want)
	}

	// The image runs: runc starts /pause from the unpacked layer, and
	// SIGTERM ends it with status 0.
	// containerd finds the shim, and the shim runc, on containerd's PATH.
	t.Cleanup(func() {
		_, _ = ctr("tasks", "kill", "--signal", "SIGKILL", "pausetest")
		_, _ = ctr("tasks", "rm", "--force", "pausetest")
		_, _ = ctr("containers", "rm", "pausetest")
	})
	// runc's state and the task's FIFOs under dir too; only the shim's
	// socket is always in /run/containerd/s, removed when the shim exits.
	if _, err := ctr("run", "-d", "--runc-root", filepath.Join(dir, "runc"), "--fifo-dir", filepath.Join(dir, "fifo"), "pylon.local/pause:dev", "pausetest"); err != nil {
		t.Fatal(err)
	}
	if out, err := ctr("tasks", "ls"); err != nil || !strings.Contains(out, "RUNNING") {
		t.Fatalf("pause not running: %v %s", err, out)
	}
	if _, err := ctr("tasks", "kill", "--signal", "SIGTERM", "pausetest"); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 100*time.Millisecond, 20*time.Second, "pause to stop after SIGTERM", func() (bool, string) {
		out, err := ctr("tasks", "ls")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(out, "STOPPED"), out
	})
	if _, err := ctr("tasks", "rm", "pausetest"); err != nil {
		t.Fatal(err)
	}
}

// runCtr runs the ctr from assets against the containerd at sock, in the
// k8s.io namespace the kubelet uses.
func runCtr(assets, sock string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(assets, "ctr"), append([]string{"--address", sock, "-n", "k8s.io"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr // warnings (cgroup v1 deprecation) go there
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out), nil
}

// startContainerd starts containerd from assets with everything under dir,
// waits for its socket to answer, and stops it by PID when the test ends.
func startContainerd(t *testing.T, assets, dir string) string {
	t.Helper()
	sock := filepath.Join(dir, "containerd.sock")
	config := filepath.Join(dir, "containerd.toml")
	err := os.WriteFile(config, fmt.Appendf(nil, `version = 4
root = %[1]q
state = %[2]q
temp = %[6]q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images", "io.containerd.podsandbox.controller.v1.podsandbox", "io.containerd.nri.v1.nri"]

[plugins."io.containerd.server.v1.grpc"]
  address = %[3]q

[plugins."io.containerd.server.v1.ttrpc"]
  address = %[4]q

[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, sock+".ttrpc", filepath.Join(dir, "opt"), filepath.Join(dir, "tmp")), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(assets, "containerd"), "--config", config)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "PATH="+assets+":"+os.Getenv("PATH"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("containerd's log:\n%s", b)
			}
		}
	})
	poll.Eventually(t, 100*time.Millisecond, 30*time.Second, "containerd to answer", func() (bool, string) {
		out, err := runCtr(assets, sock, "version")
		if err == nil {
			return true, ""
		}
		select {
		case <-exited:
			t.Fatalf("containerd exited: %v", errors.Join(waitErr, err))
		default:
		}
		return false, fmt.Sprintf("%v: %s", err, out)
	})
	return sock
}
