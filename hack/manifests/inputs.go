package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// inputDirs are the chart's directories that hold controller-gen's
// output, relative to the chart; readInputs owns them.
func inputDirs() []string { return []string{"files/crds", "files/rbac"} }

// components are the two with a ServiceAccount and generated roles.
func components() []string { return []string{"controller", "speaker"} }

// readInputs returns the chart's files/ as they should be: every CRD of
// crdDir and each component's role.yaml of rbacDir, by path in the chart,
// each under a line that names where it comes from.
func readInputs(crdDir, rbacDir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	add := func(from, source, to string) error {
		data, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		files[to] = append([]byte("# "+source+", controller-gen's output copied by `make generate` (hack/manifests). DO NOT EDIT.\n"), data...)
		return nil
	}
	crds, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil || len(crds) == 0 {
		return nil, fmt.Errorf("no CRDs in %s: %v", crdDir, err)
	}
	for _, c := range crds {
		name := filepath.Base(c)
		if err := add(c, "deploy/crds/"+name, "files/crds/"+name); err != nil {
			return nil, err
		}
	}
	for _, c := range components() {
		if err := add(filepath.Join(rbacDir, c, "role.yaml"), "deploy/rbac/"+c+"/role.yaml", "files/rbac/"+c+"/role.yaml"); err != nil {
			return nil, err
		}
	}
	return files, nil
}
