// Package speaker will hold pylon's speaker: the reconcilers that compute,
// on each node, which addresses this node announces (by ARP/NDP or BGP) and
// apply the difference to the announcers in speaker/layer2 and speaker/bgp,
// with membership in speaker/membership and owner choice in
// speaker/election.
//
// Nothing is implemented here yet; the package exists so the layout in
// DESIGN.md is in place. It may import api/v1alpha1, config and
// controller-runtime, and must never import controller.
package speaker
