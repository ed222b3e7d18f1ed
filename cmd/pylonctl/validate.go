package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/cmd/pylonctl/internal/manifests"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/deploy/crds"
)

type validateOptions struct {
	namespace string
	files     []string
	paths     []string
}

// validateCommand is `pylonctl validate`: 0 clean, 1 problems, 2 unreadable
// files, no file given or no pylon object in them.
func validateCommand(a *app) *cobra.Command {
	opts := validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate [--namespace NS] [-f] FILE|DIR|-...",
		Short: "Check pylon resources in files as the API server and the controller would (no cluster needed)",
		Long: `validate reads pylon resources (and the Secrets they reference) from YAML or
JSON files, the .yaml, .yml and .json files of directories, or standard input
(-), with several documents per file and lists (kind: List, as
` + "`kubectl get -o yaml`" + ` writes) unpacked. It needs no cluster.

Each pylon object is first checked against pylon's CRDs, built into this
binary, with the API server's own libraries: unknown fields (as kubectl's
strict field validation reports them), the OpenAPI schema and the CEL rules
(x-kubernetes-validations), with the schema's defaults filled in. The objects
the API server would accept then go through the same config.Parse the
controller and speakers use. Every problem is printed with its field path.

Exit status: 0 when all is well, 1 when there are problems, 2 when the files
cannot be read or hold no pylon object.`,
		Example: `  pylonctl validate docs/examples/
  pylonctl validate --namespace pylon pools.yaml peers.yaml
  kubectl get ippools,bgppeers -o yaml | pylonctl validate -f -`,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.paths = append(append([]string{}, opts.files...), args...)
			if len(opts.paths) == 0 {
				return errors.New("no files given")
			}
			if code := validate(opts, a.stdin, a.stdout, a.stderr); code != exitOK {
				return exitCode(code)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&opts.namespace, "namespace", "n", "pylon-system", "namespace pylon runs in: where password Secrets without a namespace are looked up")
	cmd.Flags().StringSliceVarP(&opts.files, "filename", "f", nil, "a file, a directory or - (standard input) to read, as kubectl's -f; also taken as arguments")
	return cmd
}

// validate reads every object, checks the pylon ones against the CRDs,
// parses those the API server would accept and prints the verdict.
func validate(opts validateOptions, stdin io.Reader, stdout, stderr io.Writer) int {
	objs, err := manifests.Read(opts.paths, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "pylonctl validate: %v\n", err)
		return exitError
	}
	schemas, err := crds.NewValidator()
	if err != nil {
		fmt.Fprintf(stderr, "pylonctl validate: pylon's CRDs: %v\n", err)
		return exitError
	}
	res := config.Resources{Namespace: opts.namespace}
	pylonObjects, refused := 0, 0
	var report bytes.Buffer
	for i := range objs {
		o := &objs[i]
		gvk := o.GroupVersionKind()
		switch {
		case schemas.Knows(gvk.GroupKind()):
			pylonObjects++
			stored, errs, err := schemas.Validate(context.Background(), &o.Unstructured)
			if err == nil && len(errs) == 0 {
				err = decodeInto(stored, &res)
			}
			if err != nil {
				errs = append(errs, field.InternalError(nil, err))
			}
			if len(errs) > 0 {
				refused++
				printRefusal(&report, o, errs)
			}
		case gvk == (schema.GroupVersionKind{Version: "v1", Kind: "Secret"}):
			if err := decodeInto(&o.Unstructured, &res); err != nil {
				fmt.Fprintf(stderr, "pylonctl validate: %s: %v\n", o.Source, err)
				return exitError
			}
		default:
			fmt.Fprintf(stderr, "%s: skipped %s %s (not a kind pylon reads)\n", o.Source, o.GetAPIVersion()+"/"+o.GetKind(), o.GetName())
		}
	}
	if pylonObjects == 0 {
		fmt.Fprintf(stderr, "pylonctl validate: no pylon object (apiVersion %s) in %s\n", v1alpha1.GroupVersion(), strings.Join(opts.paths, ", "))
		return exitError
	}
	for i := range res.Secrets {
		if res.Secrets[i].Namespace == "" {
			res.Secrets[i].Namespace = opts.namespace
		}
	}
	cfg := config.Parse(res)
	fmt.Fprintf(stdout, "%d pools, %d L2 advertisements, %d BGP peers, %d BGP advertisements in force\n",
		len(cfg.Pools), len(cfg.L2Advertisements), len(cfg.BGPPeers), len(cfg.BGPAdvertisements))
	_, _ = report.WriteTo(stdout)
	for _, p := range cfg.Problems {
		verdict := "degraded"
		if p.Rejected {
			verdict = "rejected"
		}
		fmt.Fprintf(stdout, "%s %s: %s (%s)\n", p.Kind, p.Name, verdict, p.Reason)
		for _, e := range p.Errors {
			fmt.Fprintf(stdout, "  %s\n", e.Error())
		}
	}
	if refused > 0 || len(cfg.Problems) > 0 {
		return exitProblem
	}
	return exitOK
}

// printRefusal says why the API server would refuse o, one field a line.
func printRefusal(w io.Writer, o *manifests.Object, errs field.ErrorList) {
	fmt.Fprintf(w, "%s %s: invalid, the API server refuses it (%s)\n", o.GetKind(), o.GetName(), o.Source)
	for _, e := range errs {
		if e.Field == "" {
			fmt.Fprintf(w, "  %s\n", e.Detail)
			continue
		}
		fmt.Fprintf(w, "  %s\n", e.Error())
	}
}

// decodeInto hands one object to config.Decode, which keeps the kinds
// config.Parse reads (pylon's other kinds, SpeakerStatus, it skips).
func decodeInto(obj *unstructured.Unstructured, res *config.Resources) error {
	js, err := obj.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = config.Decode(bytes.NewReader(js), res)
	return err
}
