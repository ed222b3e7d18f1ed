package yamldocs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Documents splits a YAML stream at its --- lines. Every document comes
// back as read, comment-only ones included.
func Documents(r io.Reader) ([][]byte, error) {
	docs := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out [][]byte
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", len(out)+1, err)
		}
		out = append(out, doc)
	}
}

// Objects decodes the documents of a YAML stream into objects (numbers
// as float64, as sigs.k8s.io/yaml decodes them), leaving out empty and
// comment-only documents.
func Objects(data []byte) ([]map[string]any, error) {
	docs, err := Documents(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for i, d := range docs {
		var o map[string]any
		if err := yaml.Unmarshal(d, &o); err != nil {
			return nil, fmt.Errorf("document %d: %w in:\n%s", i+1, err, d)
		}
		if len(o) > 0 {
			out = append(out, o)
		}
	}
	return out, nil
}
