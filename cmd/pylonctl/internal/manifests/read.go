package manifests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Stdin is the path that names standard input.
const Stdin = "-"

// Object is one object read, with where it came from.
type Object struct {
	unstructured.Unstructured
	// Source is "FILE document N" (or "FILE document N item M" for a
	// list's item); FILE is "stdin" for standard input.
	Source string
}

// Read reads every path: a file, a directory (its .yaml, .yml and .json
// files, recursively, in lexical order) or Stdin, which reads stdin once.
// Documents that hold only comments are skipped; a document without kind is
// an error.
func Read(paths []string, stdin io.Reader) ([]Object, error) {
	var out []Object
	readStdin := false
	for _, p := range paths {
		if p == Stdin {
			if readStdin {
				return nil, errors.New("standard input (-) named twice")
			}
			readStdin = true
			objs, err := Decode(stdin, "stdin")
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
			continue
		}
		files, err := expand(p)
		if err != nil {
			return nil, err
		}
		for _, name := range files {
			objs, err := readFile(name)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
	}
	return out, nil
}

func readFile(name string) ([]Object, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Decode(f, name)
}

// expand turns a directory into its .yaml, .yml and .json files; a file
// named directly is read whatever its extension.
func expand(p string) ([]string, error) {
	var out []string
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
	return out, err
}

// Decode reads the YAML or JSON documents of r; name says where they came
// from in each Object's Source and in errors.
func Decode(r io.Reader, name string) ([]Object, error) {
	docs := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []Object
	for n := 1; ; n++ {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s document %d: %w", name, n, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("%s document %d: %w", name, n, err)
		}
		if t := bytes.TrimSpace(js); bytes.Equal(t, []byte("null")) || bytes.Equal(t, []byte("{}")) {
			continue // comments only
		}
		source := fmt.Sprintf("%s document %d", name, n)
		obj, _, err := unstructured.UnstructuredJSONScheme.Decode(js, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		switch o := obj.(type) {
		case *unstructured.Unstructured:
			out = append(out, Object{Unstructured: *o, Source: source})
		case *unstructured.UnstructuredList:
			for i, it := range o.Items {
				out = append(out, Object{Unstructured: it, Source: fmt.Sprintf("%s item %d", source, i+1)})
			}
		}
	}
}
