// Package deploy tests pylon's install manifests against a real
// kube-apiserver (test/envtest): deploy/pylon.yaml, the kustomize base and
// the Helm chart (rendered with the Helm SDK, helm.sh/helm/v3) apply
// cleanly with server-side dry-run and strict field validation; the chart
// with its default values and the kustomize base are the same objects as
// pylon.yaml; every rendering of the chart is labelled and named
// consistently (TestChartNames) and its values.schema.json refuses bad
// values (TestChartRefusesBadValues), both without an API server; Pod
// Security "restricted" admits the controller's pods; and
// the RBAC the markers generate is enough and no more: the controller's and
// the speaker's reconcilers run in-process under exactly their
// ServiceAccounts' rights (impersonation) and do their work, while what
// they must not do is refused, including, through the
// ValidatingAdmissionPolicy, a speaker writing another node's
// SpeakerStatus with a real pod-bound token.
//
// The end-to-end lab scenarios under those identities, with real tokens,
// are test/e2e's (docs/testing.md). The images are checked without a
// docker daemon: the Dockerfile's build command, run here, gives static
// binaries that report the version passed in, on a distroless nonroot
// base (TestImageBuildRecipe); no image is built.
//
// It has no non-test code.
package deploy
