package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pylonlb/pylon/config"
)

type validateOptions struct {
	namespace string
	paths     []string
}

func parseValidateFlags(args []string) (validateOptions, error) {
	fl := flag.NewFlagSet("validate", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	opts := validateOptions{}
	fl.StringVar(&opts.namespace, "namespace", "pylon-system", "namespace pylon runs in: where password Secrets without a namespace are looked up")
	if err := fl.Parse(args); err != nil {
		return opts, err
	}
	opts.paths = fl.Args()
	if len(opts.paths) == 0 {
		return opts, errors.New("no files given")
	}
	return opts, nil
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
