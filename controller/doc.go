// Package controller will hold pylon's controller: the reconcilers that
// assign external IPs from IPPools to Services of type LoadBalancer, write
// Service and IPPool status, events and metrics. The pure allocation state
// goes in controller/allocator.
//
// Nothing is implemented here yet; the package exists so the layout in
// DESIGN.md is in place. It may import api/v1alpha1, config and
// controller-runtime, and must never import speaker.
package controller
