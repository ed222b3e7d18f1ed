package main

import (
	"bytes"
	"fmt"
	"strings"
)

// Where the outputs go, relative to -out (deploy/).
const (
	kustomizeDir = "kustomize"
	chartDir     = "charts/pylon"
	allInOne     = "pylon.yaml"
)

// render returns every output file, by path relative to -out.
func render(in inputs) (map[string][]byte, error) {
	files := map[string][]byte{}
	v := Defaults()

	plain, err := groups(v, nil, in)
	if err != nil {
		return nil, err
	}
	var all bytes.Buffer
	all.WriteString(header)
	all.WriteString("# pylon v" + Release + ": kubectl apply --server-side -f pylon.yaml (docs/install.md).\n")
	var resources []string
	for _, g := range plain {
		y, err := (*tpl)(nil).file(g.docs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g.name, err)
		}
		if len(y) == 0 {
			continue
		}
		files[kustomizeDir+"/"+g.name] = append([]byte(header), y...)
		all.Write(y)
		resources = append(resources, g.name)
	}
	files[allInOne] = all.Bytes()
	files[kustomizeDir+"/kustomization.yaml"] = []byte(header +
		"# pylon's base, for namespace pylon-system only: the admission policy names the\n" +
		"# speaker's ServiceAccount by namespace. Overlays may patch images, args and\n" +
		"# resources; for another namespace use the Helm chart.\n" +
		"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- " +
		strings.Join(resources, "\n- ") + "\n")

	t := &tpl{}
	chart, err := groups(v, t, in)
	if err != nil {
		return nil, err
	}
	for _, g := range chart {
		if g.plainOnly {
			continue
		}
		y, err := t.file(g.docs)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", g.name, err)
		}
		files[chartDir+"/templates/"+g.name] = append([]byte(header), y...)
	}
	values, err := valuesYAML(v)
	if err != nil {
		return nil, err
	}
	files[chartDir+"/values.yaml"] = append([]byte(header), values...)
	files[chartDir+"/Chart.yaml"] = []byte(header + chartYAML())
	files[chartDir+"/templates/NOTES.txt"] = []byte(notes())
	return files, nil
}
