package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// Decode reads YAML or JSON documents (separated by ---) and appends the
// pylon resources and Secrets among them to res. Documents of other kinds are
// returned in skipped as "apiVersion/kind name". Unknown fields are errors,
// as the API server's strict field validation makes them.
func Decode(r io.Reader, res *Resources) (skipped []string, err error) {
	docs := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for n := 1; ; n++ {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return skipped, nil
		}
		if err != nil {
			return skipped, fmt.Errorf("document %d: %w", n, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var head struct {
			metav1.TypeMeta `json:",inline"`
			Metadata        struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return skipped, fmt.Errorf("document %d: %w", n, err)
		}
		if head.Kind == "" && head.Metadata.Name == "" {
			continue // comments only
		}
		if err := decodeOne(doc, head.APIVersion, head.Kind, res); err != nil {
			if errors.Is(err, errOtherKind) {
				skipped = append(skipped, head.APIVersion+"/"+head.Kind+" "+head.Metadata.Name)
				continue
			}
			return skipped, fmt.Errorf("document %d (%s %s): %w", n, head.Kind, head.Metadata.Name, err)
		}
	}
}

var errOtherKind = errors.New("not a kind pylon reads")

func decodeOne(doc []byte, apiVersion, kind string, res *Resources) error {
	if apiVersion == "v1" && kind == "Secret" {
		if err := decodeInto(doc, &res.Secrets); err != nil {
			return err
		}
		// stringData is write-only on the API server; fold it in as it would.
		s := &res.Secrets[len(res.Secrets)-1]
		for k, v := range s.StringData {
			if s.Data == nil {
				s.Data = map[string][]byte{}
			}
			s.Data[k] = []byte(v)
		}
		return nil
	}
	if apiVersion != v1alpha1.GroupVersion().String() {
		return errOtherKind
	}
	switch kind {
	case "IPPool":
		return decodeInto(doc, &res.Pools)
	case "L2Advertisement":
		return decodeInto(doc, &res.L2Advertisements)
	case "BGPPeer":
		return decodeInto(doc, &res.BGPPeers)
	case "BGPAdvertisement":
		return decodeInto(doc, &res.BGPAdvertisements)
	}
	return errOtherKind
}

// decodeInto strictly decodes one document and appends it to list.
func decodeInto[T any](doc []byte, list *[]T) error {
	var o T
	if err := yaml.UnmarshalStrict(doc, &o); err != nil {
		return err
	}
	*list = append(*list, o)
	return nil
}
