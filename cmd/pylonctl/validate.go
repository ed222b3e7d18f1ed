package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pylonlb/pylon/config"
)

type validateOptions struct {
	namespace string
	paths     []string
}

// validateCommand is `pylonctl validate`. Its flags and exit statuses are
// the same as before pylonctl had other commands: 0 clean, 1 problems, 2
// unreadable files or no file given.
func validateCommand(a *app) *cobra.Command {
	opts := validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate [--namespace NS] FILE|DIR...",
		Short: "Check pylon resources in files with the checks the controller and speakers make (no cluster needed)",
		Long: `validate reads pylon resources (and the Secrets they reference) from YAML or
JSON files, or the .yaml, .yml and .json files of directories, runs them through
the same config.Parse the controller and speakers use, and prints every problem
with its field path. It needs no cluster.

Exit status: 0 when all is well, 1 when there are problems, 2 when the files
cannot be read.`,
		Example: `  pylonctl validate docs/examples/
  pylonctl validate --namespace pylon pools.yaml peers.yaml`,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.paths = args
			if len(opts.paths) == 0 {
				return errors.New("no files given")
			}
			if code := validate(opts, a.stdout, a.stderr); code != 0 {
				return exitCode(code)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&opts.namespace, "namespace", "n", "pylon-system", "namespace pylon runs in: where password Secrets without a namespace are looked up")
	return cmd
}

// validate decodes every file, parses the lot and prints the verdict.
func validate(opts validateOptions, stdout, stderr io.Writer) int {
	res := config.Resources{Namespace: opts.namespace}
	files, err := yamlFiles(opts.paths)
	if err != nil {
		fmt.Fprintf(stderr, "pylonctl validate: %v\n", err)
		return 2
	}
	for _, name := range files {
		if err := decodeFile(name, &res, stderr); err != nil {
			fmt.Fprintf(stderr, "pylonctl validate: %s: %v\n", name, err)
			return 2
		}
	}
	for i := range res.Secrets {
		if res.Secrets[i].Namespace == "" {
			res.Secrets[i].Namespace = opts.namespace
		}
	}

	cfg := config.Parse(res)
	fmt.Fprintf(stdout, "%d pools, %d L2 advertisements, %d BGP peers, %d BGP advertisements in force\n",
		len(cfg.Pools), len(cfg.L2Advertisements), len(cfg.BGPPeers), len(cfg.BGPAdvertisements))
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
	if len(cfg.Problems) > 0 {
		return 1
	}
	return 0
}

func decodeFile(name string, res *config.Resources, stderr io.Writer) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	skipped, err := config.Decode(f, res)
	for _, s := range skipped {
		fmt.Fprintf(stderr, "%s: skipped %s (not a kind pylon reads)\n", name, s)
	}
	return err
}

// yamlFiles expands directories into their .yaml, .yml and .json files.
func yamlFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(filepath.Ext(path))
			if !d.IsDir() && (path == p || ext == ".yaml" || ext == ".yml" || ext == ".json") {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
