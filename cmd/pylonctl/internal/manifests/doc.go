// Package manifests reads Kubernetes objects from YAML or JSON files the way
// kubectl's -f does: files, directories (their .yaml, .yml and .json files,
// recursively, in lexical order), "-" for standard input, several documents
// per file separated by ---, and lists (kind: List, or any *List kind as
// `kubectl get -o yaml` writes) unpacked into their items.
//
// Objects come back as unstructured.Unstructured, in the order read, each
// with the file and document it came from, so that a caller decodes only the
// kinds it knows and can say where any other came from.
//
// It imports only the standard library and Kubernetes' apimachinery: no
// client, nothing of pylon's.
package manifests
