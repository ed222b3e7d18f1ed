// Command manifests writes pylon's plain install manifests from its Helm
// chart, the one source a change is made in:
//
//   - it first copies what controller-gen generates into the chart's
//     files/: the CRDs (deploy/crds/*.yaml to files/crds/) and the RBAC
//     roles (deploy/rbac/{controller,speaker}/role.yaml to
//     files/rbac/{controller,speaker}/role.yaml), which the chart's
//     templates read with .Files; so a new API field or
//     +kubebuilder:rbac marker reaches the chart through `make generate`
//     alone;
//   - then renders the chart (deploy/charts/pylon) with the Helm SDK, as
//     `helm template pylon deploy/charts/pylon --namespace pylon-system`
//     does with the default values (test/chart.Render), and writes the
//     objects as deploy/kustomize/ (one file per template, plus
//     namespace.yaml and kustomization.yaml) and deploy/pylon.yaml (all of
//     them in one file, for kubectl apply).
//
// The Namespace pylon-system, labelled for Pod Security "privileged", is
// the one object not in the chart (Helm installs into a namespace it is
// given). The chart's helm.sh/resource-policy annotation, which tells Helm
// to keep the CRDs on uninstall, is left out of the plain manifests, and so
// are the two labels that say Helm manages an object
// (app.kubernetes.io/managed-by: Helm, helm.sh/chart), on objects and pod
// templates alike: kubectl manages these. The other recommended labels
// (name, instance, version, component) stay. The objects are written as sigs.k8s.io/yaml writes them (keys sorted, no
// comments). Chart.yaml's version is pylon's release; its appVersion must
// be the same with a leading v (the images' tag).
//
// `make generate` runs controller-gen, then this command; test/generated
// runs both into a scratch directory and fails when any output is stale.
//
// It may import test/chart (the Helm SDK's rendering), test/yamldocs,
// sigs.k8s.io/yaml and chartutil; nothing imports it.
//
// Usage:
//
//	go run ./hack/manifests -crds deploy/crds -rbac deploy/rbac -chart deploy/charts/pylon -out deploy
package main
