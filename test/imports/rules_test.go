package imports

// rule is one line of the table: what the packages it covers may import.
type rule struct {
	name string
	// pkgs are the packages the rule covers: "./x", "./x/...".
	pkgs []string
	// only, when not nil, is everything these packages may import
	// directly (an empty list: nothing at all).
	only []string
	// never must not be in their dependency closure, however far down.
	never []string
	// says is the doc.go sentence the rule repeats, for the failure message.
	says string
}

// rules is the one place the import rules are written down; each entry
// repeats what a doc.go says, and docs/architecture.md gives the reasons.
// Patterns: std (the standard library), external (anything outside pylon),
// "./x" (pylon's package x), full import paths, "/..." for a whole tree.
func rules() []rule {
	// What the pure packages must not link: a Kubernetes client, a
	// manager, and for the plain-value leaves Prometheus and memberlist.
	clients := []string{"k8s.io/client-go/...", "sigs.k8s.io/controller-runtime/..."}
	pure := append([]string{"github.com/prometheus/...", "github.com/hashicorp/memberlist/..."}, clients...)
	return []rule{
		// The API and the shared model.
		{name: "api", pkgs: []string{"./api/..."},
			only:  []string{std, "k8s.io/apimachinery/..."},
			never: append([]string{"./..."}, clients...),
			says:  "api/v1alpha1/doc.go: the wire format only; Kubernetes' apimachinery and the standard library, nothing of pylon's, no client, no controller-runtime"},
		{name: "config", pkgs: []string{"./config"},
			only:  []string{std, "./api/v1alpha1", "k8s.io/apimachinery/...", "k8s.io/api/core/v1", "sigs.k8s.io/yaml"},
			never: append([]string{"./controller/...", "./speaker/...", "./cmd/..."}, clients...),
			says:  "config/doc.go: api/v1alpha1, Kubernetes' apimachinery and core API types, sigs.k8s.io/yaml; no client, no controller-runtime, no clock"},
		{name: "memberlistkey", pkgs: []string{"./memberlistkey"},
			only: []string{std},
			says: "memberlistkey/doc.go: the standard library only, so that the controller writes the key Secret without linking memberlist"},

		// The controller.
		{name: "controller", pkgs: []string{"./controller"},
			only: []string{std, "./api/v1alpha1", "./config", "./controller/allocator", "./memberlistkey",
				"k8s.io/...", "sigs.k8s.io/controller-runtime/...", "github.com/prometheus/client_golang/..."},
			says: "controller/doc.go: of pylon's, api/v1alpha1, config, controller/allocator and memberlistkey; Kubernetes' libraries, controller-runtime, Prometheus's client"},
		{name: "controller never speaker", pkgs: []string{"./controller/..."},
			never: []string{"./speaker/..."},
			says:  "controller/doc.go: never speaker/..."},
		{name: "controller/allocator", pkgs: []string{"./controller/allocator"},
			only:  []string{std, "./config", "k8s.io/apimachinery/pkg/labels"},
			never: pure,
			says:  "controller/allocator/doc.go: config, apimachinery labels and the standard library only; no client, controller-runtime or Prometheus"},
		{name: "cmd/controller", pkgs: []string{"./cmd/controller"},
			only: []string{std, "./api/v1alpha1", "./controller", "./cmd/internal/...", "k8s.io/...", "sigs.k8s.io/controller-runtime/..."},
			never: []string{"./speaker/...", "github.com/hashicorp/memberlist/...", "github.com/miekg/dns/...",
				"github.com/osrg/gobgp/..."},
			says: "cmd/controller/doc.go: the controller's binary links neither the speaker nor memberlist, its DNS library or GoBGP"},

		// The speaker.
		{name: "speaker", pkgs: []string{"./speaker"},
			only: []string{std, "./api/v1alpha1", "./config", "./memberlistkey", "./speaker/...",
				"k8s.io/...", "sigs.k8s.io/controller-runtime/...", "github.com/prometheus/client_golang/...", "github.com/go-logr/logr"},
			says: "speaker/doc.go: api/v1alpha1, config, memberlistkey, the speaker's leaves, Kubernetes' libraries, controller-runtime, Prometheus's client, logr"},
		{name: "speaker never controller", pkgs: []string{"./speaker/...", "./cmd/speaker"},
			never: []string{"./controller/..."},
			says:  "speaker/doc.go: never controller/..."},
		{name: "speaker/bfd", pkgs: []string{"./speaker/bfd"},
			only:  []string{std, "golang.org/x/net/...", "golang.org/x/sys/...", "github.com/go-logr/logr", "k8s.io/utils/clock"},
			never: pure,
			says:  "speaker/bfd/doc.go: the standard library, x/net, x/sys, logr and k8s.io/utils/clock; no Kubernetes client, GoBGP or Prometheus"},
		{name: "speaker/bgp", pkgs: []string{"./speaker/bgp"},
			only:  []string{std, "./config", "github.com/osrg/gobgp/v3/...", "github.com/go-logr/logr", "k8s.io/apimachinery/pkg/labels"},
			never: clients,
			says:  "speaker/bgp/doc.go: config, GoBGP, logr and apimachinery labels; no client, no controller-runtime"},
		{name: "speaker/election", pkgs: []string{"./speaker/election"},
			only:  []string{std, "./config", "k8s.io/apimachinery/pkg/labels"},
			never: pure,
			says:  "speaker/election/doc.go: config and apimachinery labels only; no client, controller-runtime, memberlist or Prometheus"},
		{name: "speaker/layer2", pkgs: []string{"./speaker/layer2"},
			only: []string{std, "./config", "github.com/mdlayher/...", "golang.org/x/net/...", "golang.org/x/sys/...",
				"k8s.io/utils/clock", "github.com/go-logr/logr"},
			never: pure,
			says:  "speaker/layer2/doc.go: config, mdlayher, x/net, x/sys, k8s.io/utils/clock, logr; no client, controller-runtime, memberlist or Prometheus"},
		{name: "speaker/membership", pkgs: []string{"./speaker/membership"},
			only:  []string{std, "./memberlistkey", "github.com/hashicorp/memberlist"},
			never: clients,
			says:  "speaker/membership/doc.go: memberlist and, of pylon's, memberlistkey only; no client, no controller-runtime"},
		{name: "cmd/speaker", pkgs: []string{"./cmd/speaker"},
			only: []string{std, "./api/v1alpha1", "./memberlistkey", "./speaker/...", "./cmd/internal/...",
				"k8s.io/...", "sigs.k8s.io/controller-runtime/...", "github.com/go-logr/logr"},
			says: "cmd/speaker/doc.go: api/v1alpha1, memberlistkey, speaker and its leaves, the commands' internal packages, Kubernetes' libraries, controller-runtime, logr"},

		// The other commands and what only commands use.
		{name: "cmd/pylonctl", pkgs: []string{"./cmd/pylonctl"},
			only:  []string{external, "./config", "./api/...", "./speaker/...", "./deploy/crds", "./cmd/pylonctl/...", "./cmd/internal/..."},
			never: []string{"./controller/..."},
			says:  "cmd/pylonctl/doc.go: api/v1alpha1, config, speaker and its leaves, deploy/crds, its own internal packages and cmd/internal; never controller"},
		{name: "deploy/crds", pkgs: []string{"./deploy/crds"},
			only:  []string{std, "k8s.io/apiextensions-apiserver/...", "k8s.io/apiserver/pkg/apis/cel", "k8s.io/apimachinery/...", "sigs.k8s.io/yaml"},
			never: []string{"./..."},
			says:  "deploy/crds/doc.go: the standard library, apiextensions-apiserver, apiserver's CEL limits, apimachinery and sigs.k8s.io/yaml; nothing of pylon's"},
		{name: "cmd/pylonctl/internal/manifests", pkgs: []string{"./cmd/pylonctl/internal/manifests"},
			only: []string{std, "k8s.io/apimachinery/...", "sigs.k8s.io/yaml"},
			says: "cmd/pylonctl/internal/manifests/doc.go: the standard library and Kubernetes' apimachinery"},
		{name: "cmd/pylonctl/internal/metallb", pkgs: []string{"./cmd/pylonctl/internal/metallb"},
			only: []string{std, "./api/v1alpha1", "./config", "./cmd/pylonctl/internal/manifests",
				"k8s.io/api/...", "k8s.io/apimachinery/...", "k8s.io/client-go/...", "k8s.io/utils/...", "sigs.k8s.io/yaml"},
			never: []string{"./controller/...", "./speaker/..."},
			says:  "cmd/pylonctl/internal/metallb/doc.go: api/v1alpha1, config, manifests, Kubernetes' api, apimachinery and client-go"},
		{name: "cmd/internal/restconfig", pkgs: []string{"./cmd/internal/restconfig"},
			only: []string{std, "k8s.io/client-go/rest", "k8s.io/client-go/tools/clientcmd", "sigs.k8s.io/controller-runtime"},
			says: "cmd/internal/restconfig/doc.go: client-go's rest and clientcmd, controller-runtime's loader"},
		{name: "cmd/internal/securemetrics", pkgs: []string{"./cmd/internal/securemetrics"},
			only: []string{std, "sigs.k8s.io/controller-runtime/pkg/metrics/..."},
			says: "cmd/internal/securemetrics/doc.go: controller-runtime's metrics server and filters"},
		{name: "cmd/internal/version", pkgs: []string{"./cmd/internal/version"},
			only: []string{std, "github.com/prometheus/client_golang/prometheus"},
			says: "cmd/internal/version/doc.go: the standard library and the Prometheus client (pylon_build_info)"},
		// cmd/pylonlab also links package testing, through test/lab; the
		// rule that it must not comes with the lab's layers, which end that.
		{name: "cmd/pylonlab", pkgs: []string{"./cmd/pylonlab"},
			only: []string{std, "./test/lab", "./test/demo", "./test/envtest", "./test/images",
				"github.com/go-logr/logr", "sigs.k8s.io/controller-runtime/pkg/log"},
			says: "cmd/pylonlab/doc.go: a thin front to test/lab and test/demo"},

		// What ships links no test support.
		{name: "components link no tests",
			pkgs: []string{"./api/...", "./config/...", "./memberlistkey/...", "./controller/...", "./speaker/...", "./deploy/crds",
				"./cmd/controller", "./cmd/speaker", "./cmd/pylonctl", "./cmd/internal/..."},
			never: []string{"./test/...", "testing"},
			says:  "test/*/doc.go: pylon's components must not import them; nothing shipped links package testing"},

		// Tools and test support.
		{name: "hack/manifests", pkgs: []string{"./hack/manifests"},
			only: []string{std, "./test/chart", "sigs.k8s.io/yaml", "k8s.io/apimachinery/pkg/util/yaml", "helm.sh/helm/v3/pkg/chartutil"},
			says: "hack/manifests/doc.go: test/chart (the Helm SDK's rendering), sigs.k8s.io/yaml, apimachinery's YAML reader and chartutil"},
		{name: "hack/release", pkgs: []string{"./hack/release"},
			only: []string{std, "./test/images", "helm.sh/helm/v3/pkg/chart", "helm.sh/helm/v3/pkg/chart/loader", "helm.sh/helm/v3/pkg/chartutil"},
			says: "hack/release/doc.go: test/images (the daemonless image builder) and the Helm SDK's chart packages (chart, loader, chartutil)"},
		{name: "hack/bench-alloc", pkgs: []string{"./hack/bench-alloc"},
			only: []string{external, "./api/v1alpha1", "./test/envtest"},
			says: "hack/bench-alloc/doc.go: of pylon's, api/v1alpha1 and test/envtest; the controller runs as a binary"},
		{name: "test/envtest", pkgs: []string{"./test/envtest"},
			only: []string{external, "./api/v1alpha1"},
			says: "test/envtest/doc.go: nothing of pylon's but api/v1alpha1"},
		{name: "test/controllertest", pkgs: []string{"./test/controllertest"},
			only: []string{external, "./api/v1alpha1", "./config", "./controller/...", "./memberlistkey", "./test/envtest"},
			says: "test/controllertest/doc.go: controller (and what it links), test/envtest, controller-runtime, Prometheus's client"},
		{name: "test/knob", pkgs: []string{"./test/knob"},
			only: []string{std},
			says: "test/knob/doc.go: the standard library only"},
		{name: "test/images", pkgs: []string{"./test/images"},
			only: []string{std, "github.com/google/go-containerregistry/...", "./test/envtest"},
			says: "test/images/doc.go: the standard library, go-containerregistry and test/envtest"},
		{name: "test/lab", pkgs: []string{"./test/lab"},
			only: []string{external, "./test/envtest", "./test/images"},
			says: "test/lab/doc.go: of pylon's, test/envtest and test/images"},
		{name: "test/chart", pkgs: []string{"./test/chart"},
			only: []string{std, "helm.sh/helm/v3/...", "k8s.io/...", "sigs.k8s.io/controller-runtime/...", "./api/...", "./test/envtest"},
			says: "test/chart/doc.go: Helm's SDK, Kubernetes' API types and client libraries, pylon's api/ and test/envtest"},
		{name: "test/demo", pkgs: []string{"./test/demo"},
			only: []string{std, "k8s.io/...", "sigs.k8s.io/controller-runtime/...", "./test/lab", "./test/chart", "./test/images",
				"./test/envtest", "./api/...", "./config", "./controller"},
			says: "test/demo/doc.go: test/lab, test/chart, test/images, test/envtest, pylon's api/, config/ and controller/, Kubernetes' libraries"},
		{name: "binaries in images", pkgs: []string{"./test/images/pause", "./test/lab/backend"},
			only: []string{std},
			says: "test/images/pause/doc.go, test/lab/backend/doc.go: the standard library only (static binaries in images)"},
		{name: "test suites", pkgs: []string{"./test/apivalidation", "./test/deploy", "./test/e2e", "./test/generated", "./test/imports"},
			only: []string{},
			says: "their doc.go: no non-test code"},
	}
}
