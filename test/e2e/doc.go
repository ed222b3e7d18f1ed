// Package e2e holds pylon's end-to-end tests: real binaries in the
// network lab of test/lab (node namespaces on a bridge, an FRR router, a
// real API server), probed from client namespaces the way a user's
// traffic would arrive.
//
// The tests need root; without it they skip with a loud reason. `make
// test` runs them (CI runs as root).
//
// It has no non-test code.
package e2e
