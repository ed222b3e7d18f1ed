// Package metallb converts a MetalLB configuration into pylon's: the
// metallb.io resources IPAddressPool, L2Advertisement, BGPAdvertisement,
// BGPPeer (v1beta1 and v1beta2), Community and BFDProfile become IPPools,
// L2Advertisements, BGPAdvertisements, BGPPeers and password Secrets, and
// Services that use MetalLB's annotations get pylon's.
//
// Convert is a pure function of the objects read (from files or from a
// cluster, package manifests' Object) and Options. Its Result holds the
// pylon objects as config.Resources, so that config.Parse, the check the
// controller, the speakers and `pylonctl validate` make, judges them; Convert
// runs it itself and reports every problem it finds. Nothing is dropped
// silently: every field of a MetalLB spec is either carried over or named in
// a Note that says why not (Unmapped), and a field carried over with a
// difference in behaviour says which (Changed). Fields this package does not
// know (a newer MetalLB) are reported too: a tracker lists every leaf of
// each spec and flags those no rule consumed. Output and report are
// deterministic: objects sorted by kind and name, notes in field order.
//
// MetalLB's Go module is not imported: its types are read as unstructured
// objects and decoded into the small structs in types.go, written from
// MetalLB's API documentation (api/v1beta1, api/v1beta2) and its
// configuration parser's documented semantics.
//
// Read (cluster.go) lists the objects from a cluster with client-go, and
// Apply (apply.go) patches Services' annotations. The rest touches no
// network.
//
// Imports: api/v1alpha1, config (its parsers decide what pylon accepts),
// Kubernetes'
// api, apimachinery and client-go. Not controller-runtime, not the speaker,
// nothing of cmd/ but package manifests.
package metallb
