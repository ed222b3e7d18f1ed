// Package apivalidation is the envtest suite for pylon's CRDs: it installs
// deploy/crds on a real kube-apiserver and checks what an operator sees.
//
//   - every CRD is established and served, one per kind of api/v1alpha1;
//   - every object in docs/examples is accepted with strict field validation,
//     and comes back with its defaults filled in;
//   - a catalogue of bad objects is refused, each with an error that names
//     the field and says what it allows, and a catalogue of edge cases is
//     accepted, so the rules are shown not to over-reject;
//   - kubectl's server-side dry run accepts the CRDs and the examples and
//     prints the field for bad objects.
//
// It has no non-test code. It needs KUBEBUILDER_ASSETS (see package
// pylon/test/envtest): `make test` sets it; without it the tests are skipped.
package apivalidation
