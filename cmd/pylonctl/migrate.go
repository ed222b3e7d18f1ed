package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/pylonlb/pylon/cmd/pylonctl/internal/manifests"
	"github.com/pylonlb/pylon/cmd/pylonctl/internal/metallb"
)

// errNotExact is returned when the conversion lost something: the output
// is written, and the report says what.
var errNotExact = problemError{msg: "not everything converts to pylon: see the unmapped and invalid notes above"}

// newMigrateCmd returns `pylonctl migrate` and its subcommands. flags are the
// root's kubeconfig flags (--kubeconfig, --context, -n, …).
func newMigrateCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Convert another load balancer's configuration to pylon's",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newMigrateMetalLBCmd(flags, streams))
	return cmd
}

type migrateOptions struct {
	files          []string
	pylonNamespace string
	class          string
	output         string
	apply          bool
}

func newMigrateMetalLBCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := migrateOptions{}
	cmd := &cobra.Command{
		Use:   "metallb [-f FILE|DIR|-]... [--apply]",
		Short: "Convert a MetalLB configuration and its Services' annotations to pylon's",
		Long: `Reads MetalLB's configuration (IPAddressPool, L2Advertisement, BGPAdvertisement,
BGPPeer v1beta1 and v1beta2, Community, BFDProfile) from files, or from the
cluster's namespace -n (default metallb-system) when no -f is given, and
writes pylon's equivalent to standard output: password Secrets (in
--pylon-namespace), IPPools, L2Advertisements, BGPPeers, BGPAdvertisements.

The report on standard error says what became of every object and field:
"unmapped" (pylon has no equivalent; the effect is lost), "changed" (carried
over, but pylon behaves differently), "invalid" (pylon's own validation
refuses the result), "info" (how it was carried over). It then lists the
annotations each Service MetalLB serves needs for pylon (pylonlb.io/pool,
pylonlb.io/load-balancer-ips, pylonlb.io/allow-shared-ip); MetalLB's own stay.

--apply adds those annotations to the cluster's Services (a merge patch
bound to the version read; nothing else of a Service changes, not its
address). The configuration itself is never applied: review it, then
kubectl apply it. See docs/migrate-from-metallb.md for the cut-over.

Exit status: 0 when everything converted, 1 when something is unmapped or
invalid (the output is still written) or an error occurred.`,
		Example: `  # from the cluster, into a file to review
  pylonctl migrate metallb > pylon-config.yaml
  # from files, directories or standard input (kubectl get -o yaml lists too)
  kubectl get ipaddresspools,l2advertisements -n metallb-system -o yaml | pylonctl migrate metallb -f -
  # annotate the Services for pylon
  pylonctl migrate metallb --apply > pylon-config.yaml`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runMigrateMetalLB(ctx, flags, streams, o)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVarP(&o.files, "filename", "f", nil, "files or directories to read MetalLB's configuration from (- for standard input); none: the cluster")
	fl.StringVar(&o.pylonNamespace, "pylon-namespace", "pylon-system", "namespace pylon runs in: password Secrets are written there")
	fl.StringVar(&o.class, "metallb-load-balancer-class", "", "spec.loadBalancerClass of the Services MetalLB serves (its --lb-class); empty: Services without a class")
	fl.StringVarP(&o.output, "output", "o", "yaml", "format of the pylon objects: yaml or json")
	fl.BoolVar(&o.apply, "apply", false, "add pylon's annotations to the cluster's Services (read from the cluster, also with -f)")
	return cmd
}

func runMigrateMetalLB(ctx context.Context, flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, o migrateOptions) error {
	if o.output != "yaml" && o.output != "json" {
		return fmt.Errorf("--output %q: must be yaml or json", o.output)
	}
	var kube kubernetes.Interface
	cluster := func() (kubernetes.Interface, dynamic.Interface, error) {
		cfg, err := flags.ToRESTConfig()
		if err != nil {
			return nil, nil, err
		}
		k, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, nil, err
		}
		d, err := dynamic.NewForConfig(cfg)
		return k, d, err
	}

	var objs []manifests.Object
	var err error
	if len(o.files) > 0 {
		if objs, err = manifests.Read(o.files, streams.In); err != nil {
			return err
		}
	} else {
		k, dyn, err := cluster()
		if err != nil {
			return err
		}
		kube = k
		ns := "metallb-system"
		if flags.Namespace != nil && *flags.Namespace != "" {
			ns = *flags.Namespace
		}
		if objs, err = metallb.Read(ctx, dyn, kube, ns); err != nil {
			return err
		}
	}
	if o.apply && len(o.files) > 0 {
		// The changes must be computed from the Services as they are now.
		if kube, _, err = cluster(); err != nil {
			return err
		}
		live, err := metallb.ReadServices(ctx, kube)
		if err != nil {
			return err
		}
		objs = slices.DeleteFunc(objs, func(x manifests.Object) bool {
			return x.GetAPIVersion() == "v1" && (x.GetKind() == "Service" || x.GetKind() == "Namespace")
		})
		objs = append(objs, live...)
	}

	res := metallb.Convert(objs, metallb.Options{PylonNamespace: o.pylonNamespace, Class: o.class})
	if o.output == "json" {
		err = res.WriteJSON(streams.Out)
	} else {
		err = res.WriteYAML(streams.Out)
	}
	if err != nil {
		return err
	}
	if err := res.WriteReport(streams.ErrOut); err != nil {
		return err
	}
	if o.apply {
		n, err := metallb.Apply(ctx, kube, res.Services)
		fmt.Fprintf(streams.ErrOut, "\nannotated %d Services\n", n)
		if err != nil {
			return err
		}
	}
	if !res.Exact() {
		return errNotExact
	}
	return nil
}
