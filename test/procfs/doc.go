// Package procfs reads what tests and benchmarks measure of a process from
// Linux's /proc: its state, parent, CPU time and start time
// (/proc/<pid>/stat), its peak resident set (VmHWM of /proc/<pid>/status),
// and the list of processes. It is the one reader of those files for
// test/e2e's benchmarks, hack/bench-alloc and test/images/pause's tests.
//
// It may import the standard library only; never package testing, so that
// commands may link it.
package procfs
