// Package config turns pylon's custom resources into one validated model.
//
// Parse is a pure function: it takes the listed IPPools, L2Advertisements,
// BGPPeers, BGPAdvertisements and the Secrets they reference, and returns a
// Config with netip types, resolved pool sets and parsed selectors, plus a
// list of Problems, each naming an object, a reason and field-path errors
// (spec.addresses[2], spec.peers[0]). The controller turns Problems into
// status conditions and events; the speaker and pylonctl call the same
// function, so every component reaches the same verdict on the same input.
//
// A Problem either rejects the object's current generation or only degrades
// the object (it stays in, without the part that is wrong: an advertisement
// naming a pool that does not exist yet still covers the pools that do).
// A rejected object keeps its last accepted generation in the model when
// one is known: from Resources.Last, the Config the caller had in force, or
// from the object's own status.inForce, which the controller writes; the
// Problem then says which generation stays in force (keep.go). A peer whose
// password Secret becomes unusable keeps the password it had. So a typo in
// an edit never takes away what was working, in any component.
//
// Parse re-checks the per-object rules the API server enforces through the
// CRDs, so objects admitted by an older CRD, or read from a file by pylonctl,
// get the same verdict. On top it checks what no single object can: pools
// overlapping each other, names of missing pools and peers, duplicate peers,
// password Secrets that are missing or lack their key, aggregation lengths
// that would announce addresses outside a pool, localPref on eBGP sessions.
//
// This package imports only api/v1alpha1, Kubernetes' apimachinery and core
// API types, and sigs.k8s.io/yaml (Decode reads the objects from YAML for
// pylonctl): no client, no controller-runtime, no clock, no goroutines, and
// nothing of the controller, the speaker or the commands, which all use it.
package config
