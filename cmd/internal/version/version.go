package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// version and revision are set by the linker (-X); see the package doc.
var version, revision string

// Info is what a binary knows about its build.
type Info struct {
	// Version is the release version (v0.1.0), or the module version the
	// toolchain recorded, or "(devel)".
	Version string `json:"version"`
	// Revision is the VCS commit, with "-dirty" for a modified tree; empty
	// when unknown (built outside a checkout without -ldflags).
	Revision string `json:"revision,omitempty"`
	// GoVersion and Platform describe the toolchain and target.
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the running binary's build information.
func Get() Info {
	return from(version, revision, debug.ReadBuildInfo)
}

// from is Get with its inputs injected, for tests: the linker's version
// and revision win over what the toolchain recorded.
func from(linked, linkedRev string, read func() (*debug.BuildInfo, bool)) Info {
	i := fromBuildInfo(linked, read)
	if linkedRev != "" {
		i.Revision = linkedRev
	}
	return i
}

func fromBuildInfo(linked string, read func() (*debug.BuildInfo, bool)) Info {
	i := Info{Version: linked, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := read()
	if !ok {
		if i.Version == "" {
			i.Version = "(devel)"
		}
		return i
	}
	if i.Version == "" {
		i.Version = bi.Main.Version
	}
	if i.Version == "" {
		i.Version = "(devel)"
	}
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && i.Revision != "" {
		i.Revision += "-dirty"
	}
	return i
}

// String is the one line `--version` prints: the command's name, the
// version, then what is known of the revision, toolchain and platform.
func (i Info) String(command string) string {
	rev := i.Revision
	if rev == "" {
		rev = "unknown revision"
	}
	return fmt.Sprintf("%s %s (%s, %s, %s)", command, i.Version, rev, i.GoVersion, i.Platform)
}

// BuildInfo is the gauge pylon_build_info{component,version,revision,goversion}
// = 1: which build of a component a Prometheus target runs (join it with
// other series on the target's labels).
func (i Info) BuildInfo(component string) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "pylon_build_info",
		Help: "Always 1; its labels say which build of pylon the component runs.",
		ConstLabels: prometheus.Labels{
			"component": component, "version": i.Version, "revision": i.Revision, "goversion": i.GoVersion,
		},
	})
	g.Set(1)
	return g
}

// Label is the version as a Kubernetes label value, for the label
// pylonlb.io/version with which the controller and the speakers say which
// build they run: characters a label value cannot hold become '_', it is
// cut to 63 characters and loses non-alphanumeric ends ("(devel)" is
// "devel").
func (i Info) Label() string {
	b := []byte(i.Version)
	for j, c := range b {
		if !alnum(rune(c)) && c != '-' && c != '_' && c != '.' {
			b[j] = '_'
		}
	}
	return strings.TrimFunc(string(b[:min(len(b), 63)]), func(r rune) bool { return !alnum(r) })
}

func alnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}
