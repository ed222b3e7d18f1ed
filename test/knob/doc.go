// Package knob reads the knobs of pylon's tests and benchmarks from the
// environment (PYLON_BENCH_TRIALS, PYLON_BENCH_SECONDS, ...), so that every
// package's benchmarks read them the same way.
//
// It imports the standard library only (testing among it). Only tests
// import it.
package knob
