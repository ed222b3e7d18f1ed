// Package deploy tests pylon's install manifests against a real
// kube-apiserver (test/envtest): deploy/pylon.yaml, the kustomize base and
// the Helm chart (rendered with the Helm SDK, helm.sh/helm/v3) apply
// cleanly with server-side dry-run and strict field validation; the chart
// with its default values and the kustomize base are the same objects as
// pylon.yaml; Pod Security "restricted" admits the controller's pods; and
// the RBAC the markers generate is enough and no more: the controller's and
// the speaker's reconcilers run in-process under exactly their
// ServiceAccounts' rights (impersonation) and do their work, while what
// they must not do is refused, including, through the
// ValidatingAdmissionPolicy, a speaker writing another node's
// SpeakerStatus with a real pod-bound token.
//
// Not covered here: the end-to-end lab scenarios under those identities
// (test/e2e runs the binaries as cluster admin); see docs/install.md.
//
// It has no non-test code.
package deploy
