package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	crds := flag.String("crds", "deploy/crds", "directory of the CRD manifests (controller-gen crd)")
	rbac := flag.String("rbac", "deploy/rbac", "directory holding controller/role.yaml and speaker/role.yaml (controller-gen rbac)")
	chart := flag.String("chart", "deploy/charts/pylon", "the Helm chart: the generated inputs are copied into its files/, then it is rendered")
	out := flag.String("out", "deploy", "directory to write pylon.yaml and kustomize/ into")
	flag.Parse()
	if err := run(*crds, *rbac, *chart, *out); err != nil {
		fmt.Fprintf(os.Stderr, "manifests: %v\n", err)
		os.Exit(1)
	}
}

func run(crdDir, rbacDir, chartDir, out string) error {
	inputs, err := readInputs(crdDir, rbacDir)
	if err != nil {
		return err
	}
	if err := write(chartDir, inputs, inputDirs()...); err != nil {
		return err
	}
	files, err := render(chartDir)
	if err != nil {
		return err
	}
	return write(out, files, kustomizeDir)
}

// write replaces the directories owned (relative to root) with nothing
// but the files, by path relative to root, that lie in them, and writes
// the other files.
func write(root string, files map[string][]byte, owned ...string) error {
	for _, dir := range owned {
		if err := os.RemoveAll(filepath.Join(root, filepath.FromSlash(dir))); err != nil {
			return err
		}
	}
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
