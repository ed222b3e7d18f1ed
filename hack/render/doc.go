// Command render writes pylon's install manifests from one source, the Go
// values in this package, so that the kubectl install and the Helm chart
// never disagree:
//
//   - deploy/kustomize/: a kustomize base (namespace pylon-system, CRDs,
//     ServiceAccounts, RBAC, the admission policy, the controller
//     Deployment with its PodDisruptionBudget, the speaker DaemonSet, the
//     metrics Services);
//   - deploy/pylon.yaml: the same objects in one file, for kubectl apply;
//   - deploy/charts/pylon/: a Helm chart whose templates are those objects
//     with chart values in place of the defaults, and whose values.yaml is
//     the defaults (Values, Defaults).
//
// Every object is built once, as k8s.io/api types, from a Values. The plain
// manifests are those objects marshalled as they are. For the chart, the
// builders ask a *tpl for each value that a chart value may change; the tpl
// hands back a marker in its place and remembers the template text that
// replaces the marker after marshalling (holes.go). Rendering the chart
// with its default values therefore gives pylon.yaml back, which
// test/deploy checks with the Helm SDK.
//
// Inputs are generated too: the CRDs (deploy/crds) and the RBAC roles
// (deploy/rbac, from the +kubebuilder:rbac markers in controller/rbac.go
// and speaker/rbac.go). `make generate` runs controller-gen, then this
// command; test/generated fails when any output is stale.
//
// It imports nothing of pylon's: the CRDs and the roles it reads are files.
//
// Usage:
//
//	go run ./hack/render -crds deploy/crds -rbac deploy/rbac -out deploy
package main
