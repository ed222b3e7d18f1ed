// Package crds is pylon's CustomResourceDefinitions compiled into Go: the
// YAML files of this directory, as `make generate` writes them (controller-gen
// from the api/ markers), embedded, and a Validator that checks objects
// against them offline the way the API server does on create, with the API
// server's own libraries (k8s.io/apiextensions-apiserver):
//
//  1. strict field validation: fields the structural schema does not declare
//     are reported (kubectl --validate=strict), then pruned;
//  2. the schema's defaults are applied;
//  3. metadata (the name must be a DNS subdomain), the OpenAPI schema (types,
//     bounds, patterns, enums, required fields) and list-type set and map
//     invariants;
//  4. when those find nothing that blocks them, the x-kubernetes-validations
//     CEL rules, with the API server's per-call and per-object cost limits.
//
// The files embedded are the files of the directory, so there is no copy to
// go stale: the one source of truth is deploy/crds, and test/generated fails
// when it no longer matches the api/ markers. The embedded files are the
// package's only package-level variable (go:embed needs one), read-only.
//
// It imports the standard library, k8s.io/apiextensions-apiserver,
// k8s.io/apiserver's CEL limits, Kubernetes' apimachinery and
// sigs.k8s.io/yaml; nothing of pylon's, no client.
package crds
