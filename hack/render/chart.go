package main

import (
	"bytes"
	"fmt"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// chartYAML is the chart's Chart.yaml. Kubernetes 1.30 is the first with
// ValidatingAdmissionPolicy v1 and node names in ServiceAccount tokens by
// default.
func chartYAML() string {
	return fmt.Sprintf(`apiVersion: v2
name: pylon
description: "Bare-metal LoadBalancer Services: addresses from IPPools, announced over ARP/NDP or BGP."
type: application
version: %[1]s
appVersion: v%[1]s
kubeVersion: ">=1.30.0-0"
home: https://github.com/pylonlb/pylon
sources:
- https://github.com/pylonlb/pylon
keywords:
- loadbalancer
- bgp
- arp
- bare-metal
`, Release)
}

// notes is printed after helm install and upgrade.
func notes() string {
	return `pylon {{ .Chart.AppVersion }} is installed in namespace {{ .Release.Namespace }}.

The speaker pods use the host network{{ if .Values.layer2.enabled }} and NET_RAW{{ end }}: the namespace must
allow Pod Security level "privileged" if your cluster enforces a stricter default:
  kubectl label namespace {{ .Release.Namespace }} pod-security.kubernetes.io/enforce=privileged

Next: create an IPPool and an L2Advertisement or BGPPeer + BGPAdvertisement
(docs/configuration.md), then a Service of type LoadBalancer:
  kubectl get ippools
  kubectl get speakerstatuses
  kubectl describe service NAME      # events say why a Service has no address
`
}

// valuesYAML is values.yaml: v with valueDocs as comments.
func valuesYAML(v Values) ([]byte, error) {
	j, err := yaml.Marshal(v)
	if err != nil {
		return nil, err
	}
	var n yamlv3.Node
	if err := yamlv3.Unmarshal(j, &n); err != nil {
		return nil, err
	}
	docs := valueDocs()
	if err := annotate(&n, "", docs); err != nil {
		return nil, err
	}
	if len(docs) > 0 {
		return nil, fmt.Errorf("valueDocs names values that do not exist: %v", docs)
	}
	var b bytes.Buffer
	enc := yamlv3.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// annotate puts each documented path's text on its key as a head comment,
// deleting it from docs, so that what is left names nothing.
func annotate(n *yamlv3.Node, prefix string, docs map[string]string) error {
	switch n.Kind {
	case yamlv3.DocumentNode:
		for _, c := range n.Content {
			if err := annotate(c, prefix, docs); err != nil {
				return err
			}
		}
	case yamlv3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			path := strings.TrimPrefix(prefix+"."+k.Value, ".")
			if text, ok := docs[path]; ok {
				k.HeadComment = text
				delete(docs, path)
			}
			if err := annotate(val, path, docs); err != nil {
				return err
			}
		}
	}
	return nil
}
