// Package poll is pylon's one way to wait for a condition: Until for code
// that returns errors (test/demo, the lab), Eventually for tests, which
// fails the test. Both are thin wrappers over apimachinery's
// wait.PollUntilContextCancel: the condition is checked at once and then
// every interval, and a timeout names what was awaited and what the
// condition last saw.
//
// Eventually takes a T, the two methods it needs of a test, so that code
// linked by commands (test/lab, cmd/pylonlab) may use the package without
// linking package testing. It may import the standard library and
// k8s.io/apimachinery/pkg/util/wait only.
package poll
