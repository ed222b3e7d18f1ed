// Package yamldocs splits YAML streams into documents for the tests and
// generators that read manifests (test/deploy, test/e2e, test/apivalidation,
// hack/manifests): Documents splits at the --- lines with apimachinery's
// YAML reader, as kubectl does; Objects decodes each document that holds an
// object. pylon's components keep their own readers (config.Decode,
// pylonctl's manifests.Decode), which may not import test packages.
//
// It may import the standard library, apimachinery's YAML reader and
// sigs.k8s.io/yaml; never package testing.
package yamldocs
