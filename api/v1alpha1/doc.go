// Package v1alpha1 holds pylon's custom resources, group pylonlb.io, version
// v1alpha1: IPPool, L2Advertisement, BGPPeer, BGPAdvertisement and
// SpeakerStatus. All of them are cluster-scoped.
//
// The kubebuilder markers on these types are the per-object validation that
// the API server enforces (OpenAPI schema and CEL rules): what an operator gets
// back from kubectl when an object is malformed. Rules that need more than one
// object (overlapping pools, advertisements naming missing pools) live in
// package config, not here.
//
// This package owns the wire format only. It imports Kubernetes'
// apimachinery and the standard library, nothing of pylon's (config, the
// controller and the speaker import it, never the other way), and links no
// Kubernetes client and no controller-runtime. The generated deepcopy
// functions and the CRD manifests in deploy/crds come from `make generate`.
//
// +kubebuilder:object:generate=true
// +groupName=pylonlb.io
package v1alpha1
