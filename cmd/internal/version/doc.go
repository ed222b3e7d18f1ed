// Package version says which build of pylon a binary is, for the commands'
// --version flag and their start-up log line, for the pylon_build_info
// metric, for the label pylonlb.io/version the controller and the speakers
// put on their Lease and SpeakerStatus (Info.Label), and for `pylonctl
// version`.
//
// The release version and commit are set at link time (the Dockerfile
// passes -ldflags "-X github.com/pylonlb/pylon/cmd/internal/version.version=v0.1.0
// -X github.com/pylonlb/pylon/cmd/internal/version.revision=<commit>");
// without them, Get falls back to what the Go toolchain recorded (the
// module version, the VCS revision and whether the tree was modified). The
// two linker variables are the package's only package-level variables and
// nothing writes them at run time.
//
// It imports the standard library and the Prometheus client (for
// pylon_build_info); only cmd/ may import it (Go's internal rule).
package version
