// Package generated holds the test that fails when committed generated files
// (the CRD manifests in deploy/crds and the deepcopy functions in
// api/v1alpha1) no longer match what `make generate` would write from the
// api/ markers. It has no non-test code.
package generated
