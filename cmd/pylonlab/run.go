package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pylonlb/pylon/test/demo"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/images"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/netlab"
)

func run(ctx context.Context, o options, w io.Writer) error {
	switch o.command {
	case "status":
		st, err := lab.Status(ctx)
		if err != nil {
			return err
		}
		printStatus(w, st)
		return nil
	case "down":
		left, err := lab.Down(ctx)
		switch {
		case !left.Empty():
			fmt.Fprintf(w, "removed: %s\n", left)
		case err == nil:
			fmt.Fprintln(w, "nothing left over")
		}
		return err
	case "demo":
		// Not root: the demo's first step says so before anything is
		// built, so the API server binaries are not built for nothing.
		if os.Geteuid() == 0 {
			if err := ensureAssets(ctx, envtest.AssetsEnv, "envtest-assets.sh"); err != nil {
				return err
			}
			if err := ensureAssets(ctx, images.NodeAssetsEnv, "node-assets.sh"); err != nil {
				return err
			}
		}
		_, err := demo.Run(ctx, demo.Options{Keep: o.keep}, w)
		return err
	}
	return up(ctx, o, w)
}

func up(ctx context.Context, o options, w io.Writer) error {
	if err := ensureAssets(ctx, envtest.AssetsEnv, "envtest-assets.sh"); err != nil {
		return err
	}
	lo := lab.Options{
		Nodes: o.nodes, NodeASN: uint32(o.nodeASN),
		Logf: func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) },
	}
	if o.nodeStack {
		if err := ensureAssets(ctx, images.NodeAssetsEnv, "node-assets.sh"); err != nil {
			return err
		}
		dir, err := os.MkdirTemp("", "pylonlab-images-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		backend, err := lab.BuildBackendImage(ctx, dir)
		if err != nil {
			return err
		}
		lo.NodeStack = &lab.NodeStack{Assets: os.Getenv(images.NodeAssetsEnv), Images: []images.Image{backend}}
	}
	l, err := lab.New(ctx, lo)
	if err != nil {
		return err
	}
	printLab(w, l)
	<-ctx.Done()
	fmt.Fprintln(w, "tearing the lab down")
	return l.Close()
}

// ensureAssets points env (KUBEBUILDER_ASSETS, PYLON_NODE_ASSETS) at the
// binaries hack/<script> builds (or finds cached) when it is unset.
func ensureAssets(ctx context.Context, env, script string) error {
	if os.Getenv(env) != "" {
		return nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := envtest.RepoRoot(wd)
	if err != nil {
		return fmt.Errorf("run pylonlab in the pylon repository, or set %s: %w", env, err)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", script))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("hack/%s: %w", script, err)
	}
	return os.Setenv(env, strings.TrimSpace(string(out)))
}

func printLab(w io.Writer, l *lab.Lab) {
	fmt.Fprintf(w, "lab %s up in %v; Ctrl-C tears it down\n\n", l.Prefix, l.BringUp.Round(time.Millisecond))
	fmt.Fprintf(w, "  %-4s %-16s %-16s %-18s %s\n", "host", "IPv4", "IPv6", "MAC", "namespace")
	hosts := []*lab.Host{&l.Router.Host, l.LocalClient, l.RemoteClient}
	for _, n := range l.Nodes {
		hosts = append(hosts, &n.Host)
	}
	for _, h := range hosts {
		fmt.Fprintf(w, "  %-4s %-16s %-16s %-18s %s\n", h.Name, h.IPv4, h.IPv6, h.MAC, h.Netns)
	}
	fmt.Fprintf(w, "\nAPI server   %s (kubeconfig %s)\n", l.API.APIServerURL(), l.Kubeconfig)
	fmt.Fprintf(w, "router       ip netns exec %s vtysh --vty_socket %s\n", l.Router.Netns, l.Router.Dir)
	fmt.Fprintf(w, "a shell      ip netns exec %s bash\n", l.LocalClient.Netns)
	fmt.Fprintf(w, "kubectl      %s --kubeconfig %s get nodes\n", l.API.KubectlPath, l.Kubeconfig)
	if l.Nodes[0].KubeletKubeconfig != "" {
		fmt.Fprintf(w, "node stack   containerd, kubelet and kube-proxy on every node; image %s imported (lab.BackendDeployment's)\n", lab.BackendImage)
	}
	fmt.Fprintf(w, "logs         %s\n", l.Dir)
}

func printStatus(w io.Writer, st netlab.MachineStatus) {
	if st.Running != "" {
		fmt.Fprintf(w, "running lab: %s\n", strings.TrimSpace(st.Running))
	} else {
		fmt.Fprintln(w, "no lab running")
	}
	for _, r := range st.Records {
		fmt.Fprintf(w, "record %s (owner pid %d, dir %s): live processes %v\n", r.Prefix, r.Owner, r.Dir, r.Alive)
		if r.Other != "" {
			fmt.Fprintf(w, "  its node stack on the host: %s\n", r.Other)
		}
	}
	fmt.Fprintf(w, "namespaces %v\nhost links %v\n", st.Namespaces, st.Links)
}
