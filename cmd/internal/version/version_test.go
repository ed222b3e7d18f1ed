package version

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestFrom(t *testing.T) {
	built := func(v string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Version: v}, Settings: settings}, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	for _, c := range []struct {
		name, linked, linkedRev string
		read                    func() (*debug.BuildInfo, bool)
		version, rev            string
	}{
		{"linker wins", "v0.1.0", "", built("v0.0.0-2026", debug.BuildSetting{Key: "vcs.revision", Value: "abc"}), "v0.1.0", "abc"},
		{"linked revision", "v0.1.0", "f00d", built("", debug.BuildSetting{Key: "vcs.revision", Value: "abc"}), "v0.1.0", "f00d"},
		{"module version", "", "", built("v0.2.0"), "v0.2.0", ""},
		{"dirty tree", "", "", built("(devel)", debug.BuildSetting{Key: "vcs.revision", Value: "abc"}, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), "(devel)", "abc-dirty"},
		{"no build info", "", "", none, "(devel)", ""},
		{"empty module version", "", "", built(""), "(devel)", ""},
	} {
		i := from(c.linked, c.linkedRev, c.read)
		if i.Version != c.version || i.Revision != c.rev || i.GoVersion == "" || !strings.Contains(i.Platform, "/") {
			t.Errorf("%s: got %+v, want version %q revision %q", c.name, i, c.version, c.rev)
		}
	}
}

func TestString(t *testing.T) {
	i := Info{Version: "v0.1.0", GoVersion: "go1.26.0", Platform: "linux/amd64"}
	if got, want := i.String("speaker"), "speaker v0.1.0 (unknown revision, go1.26.0, linux/amd64)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	i.Revision = "abc"
	if got := i.String("controller"); !strings.HasPrefix(got, "controller v0.1.0 (abc,") {
		t.Errorf("String = %q", got)
	}
}

func TestBuildInfo(t *testing.T) {
	reg := prometheus.NewRegistry()
	i := Info{Version: "v9.8.7", Revision: "abc123", GoVersion: "go1.26.8"}
	if err := reg.Register(i.BuildInfo("speaker")); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP pylon_build_info Always 1; its labels say which build of pylon the component runs.
# TYPE pylon_build_info gauge
pylon_build_info{component="speaker",goversion="go1.26.8",revision="abc123",version="v9.8.7"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("promlint: %v %v", problems, err)
	}
}

func TestLabel(t *testing.T) {
	for _, c := range []struct{ version, want string }{
		{"v0.1.0", "v0.1.0"},
		{"(devel)", "devel"},
		{"v0.0.0-20260101120000-abcdef123456+dirty", "v0.0.0-20260101120000-abcdef123456_dirty"},
		{"v1.2.3+" + strings.Repeat("x", 70), "v1.2.3_" + strings.Repeat("x", 56)},
		{"v1.2.3-" + strings.Repeat("y", 55) + "+z", "v1.2.3-" + strings.Repeat("y", 55)},
		{"", ""},
	} {
		if got := (Info{Version: c.version}).Label(); got != c.want {
			t.Errorf("Label(%q) = %q, want %q", c.version, got, c.want)
		}
	}
}
