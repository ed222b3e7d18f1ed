// Package version says which build of pylon a binary is, for the commands'
// --version flag and their start-up log line.
//
// The release version is set at link time (the Dockerfile passes
// -ldflags "-X github.com/pylonlb/pylon/cmd/internal/version.version=v0.1.0");
// without it, Get falls back to what the Go toolchain recorded (the module
// version, the VCS revision and whether the tree was modified). The linker
// variable is the package's only package-level variable and nothing writes
// it at run time.
//
// It imports only the standard library; only cmd/ may import it.
package version
