// Package cmdtest holds the checks cmd/controller's and cmd/speaker's tests
// share, for the flags both binaries have, so that they are written once.
// It imports the standard library (testing included); only tests import it.
package cmdtest
