// Package chart installs pylon's Helm chart (deploy/charts/pylon, loaded
// from the repository's root) with the Helm SDK, as `helm install` does,
// for `make demo` (test/demo) and the end-to-end tests (test/e2e): Install,
// Upgrade and Uninstall,
// the values that point the chart at the lab's images (ImageValues),
// RemoveCRDs (the lab's API server starts with pylon's CRDs, which Helm
// refuses to adopt) and Ready (the controller's pods and a speaker a node
// Ready). Render renders the chart as `helm template` does: hack/manifests
// writes deploy/pylon.yaml and deploy/kustomize with it, test/deploy checks
// the chart with it.
//
// It may import Helm's SDK, Kubernetes' API types and client libraries,
// pylon's api/ and test/envtest (for the repository root); nothing in
// pylon's commands or components may import it (hack/manifests, a
// generator run by `make generate`, is no such command).
package chart
