// Command release writes a pylon release's artifacts into one directory
// (`make release`: dist/), without a container daemon:
//
//   - pylon-<version>.tgz: the Helm chart (deploy/charts/pylon) packaged
//     with the Helm SDK, as `helm package` does;
//   - pylon.yaml: the plain install manifest (deploy/pylon.yaml, which
//     `make generate` renders from the chart), after checking that its
//     images are the chart's, tagged v<version>;
//   - pylon-controller-v<version>.oci.tar and pylon-speaker-v<version>.oci.tar:
//     each an OCI image layout, tarred, holding one multi-platform image
//     index for linux/amd64 and linux/arm64, named by the chart's image
//     values and tagged v<version>; each image is one layer holding the
//     static binary, built as the Dockerfile builds it (CGO_ENABLED=0,
//     -trimpath, the version and revision linked in), its entrypoint and
//     the nonroot user 65532:65532 as the Dockerfile's stages say
//     (test/images builds them, as it builds the images the end-to-end
//     tests run);
//   - SHA256SUMS: the others' SHA-256 digests, as `sha256sum -c` reads them.
//
// The version is the chart's: Chart.yaml's version, and its appVersion the
// same with a leading v (the images' tag). -version, when given, must be
// that appVersion: a release of another version starts by changing
// Chart.yaml and running `make generate`. The output directory must be
// absent or empty (`make release` removes dist/ first), so that SHA256SUMS
// lists one release only. docs/release.md says how to publish them.
//
// It may import test/images (the daemonless image builder) and the Helm
// SDK's chart packages (chart, loader, chartutil); nothing imports it.
//
// Usage:
//
//	go run ./hack/release -version v0.1.0 -revision "$(git rev-parse HEAD)" -out dist
package main
