package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

func main() {
	crds := flag.String("crds", "deploy/crds", "directory of the CRD manifests (controller-gen crd)")
	rbac := flag.String("rbac", "deploy/rbac", "directory holding controller/role.yaml and speaker/role.yaml (controller-gen rbac)")
	out := flag.String("out", "deploy", "directory to write pylon.yaml, kustomize/ and charts/pylon/ into")
	flag.Parse()
	if err := run(*crds, *rbac, *out); err != nil {
		fmt.Fprintf(os.Stderr, "render: %v\n", err)
		os.Exit(1)
	}
}

func run(crdDir, rbacDir, out string) error {
	in, err := readInputs(crdDir, rbacDir)
	if err != nil {
		return err
	}
	files, err := render(in)
	if err != nil {
		return err
	}
	return write(out, files)
}

// readInputs reads the generated CRDs and roles.
func readInputs(crdDir, rbacDir string) (inputs, error) {
	in := inputs{roles: map[string][]client.Object{}}
	names, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil || len(names) == 0 {
		return in, fmt.Errorf("no CRDs in %s: %v", crdDir, err)
	}
	sort.Strings(names)
	for _, name := range names {
		docs, err := readDocs(name)
		if err != nil {
			return in, err
		}
		for _, d := range docs {
			var m map[string]any
			if err := yaml.Unmarshal(d, &m); err != nil {
				return in, fmt.Errorf("%s: %w", name, err)
			}
			in.crds = append(in.crds, m)
		}
	}
	for _, component := range []string{"controller", "speaker"} {
		name := filepath.Join(rbacDir, component, "role.yaml")
		docs, err := readDocs(name)
		if err != nil {
			return in, err
		}
		for _, d := range docs {
			var meta struct{ Kind string }
			if err := yaml.Unmarshal(d, &meta); err != nil {
				return in, fmt.Errorf("%s: %w", name, err)
			}
			var o client.Object
			switch meta.Kind {
			case "ClusterRole":
				o = &rbacv1.ClusterRole{}
			case "Role":
				o = &rbacv1.Role{}
			default:
				return in, fmt.Errorf("%s: unexpected kind %q", name, meta.Kind)
			}
			if err := yaml.UnmarshalStrict(d, o); err != nil {
				return in, fmt.Errorf("%s: %w", name, err)
			}
			in.roles[component] = append(in.roles[component], o)
		}
	}
	return in, nil
}

// readDocs splits a YAML stream into its non-empty documents.
func readDocs(name string) ([][]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var docs [][]byte
	for {
		d, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
}

// write writes files under out and removes files in the directories it
// owns (the kustomize base and the chart) that it no longer writes.
func write(out string, files map[string][]byte) error {
	for name, data := range files {
		p := filepath.Join(out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	for _, dir := range []string{kustomizeDir, chartDir} {
		root := filepath.Join(out, filepath.FromSlash(dir))
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(out, p)
			if err != nil {
				return err
			}
			if _, ok := files[filepath.ToSlash(rel)]; !ok {
				return os.Remove(p)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
