// Package generated holds the tests that fail when committed generated files
// no longer match what `make generate` would write: the CRD manifests in
// deploy/crds and the deepcopy functions in api/v1alpha1 from the api/
// markers (TestGeneratedFilesAreCurrent); the RBAC roles in deploy/rbac from
// the +kubebuilder:rbac markers, the copies of the CRDs and roles in the
// chart's files/, and deploy/pylon.yaml and deploy/kustomize rendered from
// the chart by hack/manifests (TestDeployIsCurrent). Everything is
// regenerated in a scratch directory, never in the work tree.
//
// It has no non-test code.
package generated
