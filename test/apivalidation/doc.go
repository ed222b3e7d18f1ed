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
//     prints the field for bad objects;
//   - the offline validator of deploy/crds (what `pylonctl validate` checks
//     first) agrees: it refuses every bad object naming the same field with
//     the same message, accepts the edge cases and the examples, and fills
//     in the same defaults (TestOfflineValidatorAgrees, which needs no API
//     server and always runs).
//
// It has no non-test code. It needs KUBEBUILDER_ASSETS (see package
// pylon/test/envtest): `make test` sets it; without it TestAPIServer is skipped.
package apivalidation
