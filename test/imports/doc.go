// Package imports holds the test that pylon's packages import only what
// their doc.go says they may: one table of rules (rules_test.go), checked
// against `go list -deps -json` of the whole module. A rule either lists
// everything a package may import directly ("only") or names what must not
// be in its dependency closure at all ("never"), so that, for one, the
// controller's binary links neither memberlist nor GoBGP. Every package
// must be covered by a rule and have a doc.go that says what it may import;
// docs/architecture.md explains the layout the rules keep.
//
// It has no non-test code.
package imports
