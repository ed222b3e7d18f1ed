// Package images builds container images without a daemon, for the lab's
// real node stack (containerd and the kubelet) and for pylon's releases:
// each image is one layer holding one static binary on an empty base.
// WriteTarball writes a set of them as one docker-archive tarball that
// `ctr -n k8s.io images import` loads; WriteOCIArchive writes one name's
// images for several architectures as one multi-platform index in a tarred
// OCI layout, as hack/release publishes them (OpenOCIArchive reads it back).
// BuildStatic and Build.Static build a package of this module into such a
// binary (CGO_ENABLED=0, GOOS=linux, the Dockerfile's version and revision
// ldflags), Pylon and Build.Pylon build the controller and speaker images as
// the Dockerfile makes them (entrypoint, nonroot user) and BuildPause builds
// the pod sandbox's pause program (test/images/pause).
//
// NodeAssets finds the node binaries hack/node-assets.sh builds
// (PYLON_NODE_ASSETS), failing the test instead of skipping it under
// PYLON_REQUIRE_ENVTEST=1 as `make test` sets.
//
// It may import the standard library, github.com/google/go-containerregistry
// and test/envtest (for the repository root and the environment variable
// names); nothing in pylon's shipped commands may import it (hack/release,
// a tool, does).
package images
