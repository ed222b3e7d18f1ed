package deploy

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"

	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/test/envtest"
)

// promtoolEnv names promtool's path (hack/promtool.sh builds it; `make
// test` sets it).
const promtoolEnv = "PYLON_PROMTOOL"

// chartFiles is the chart's files/ directory, from this package's.
const chartFiles = "../../deploy/charts/pylon/files"

// chartFile is a file of the chart's files/ directory.
func chartFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartFiles, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAlertRules checks the chart's alerting rules with promtool: they
// load, and each fires on the synthetic series that should raise it and
// stays quiet on healthy ones (testdata/prometheus-rules_test.yaml).
func TestAlertRules(t *testing.T) {
	promtool := os.Getenv(promtoolEnv)
	if promtool == "" {
		if os.Getenv(envtest.RequireEnv) == "1" {
			t.Fatalf("%s is not set: run `make test`, or set it to $(hack/promtool.sh)", promtoolEnv)
		}
		t.Skipf("SKIPPED: %s is not set (hack/promtool.sh builds promtool)", promtoolEnv)
	}
	rules := filepath.Join(chartFiles, "prometheus-rules.yaml")
	for _, args := range [][]string{
		{"check", "rules", "--lint=all", "--lint-fatal", rules},
		{"test", "rules", filepath.Join("testdata", "prometheus-rules_test.yaml")},
	} {
		out, err := exec.CommandContext(t.Context(), promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Every alert is tested, firing and quiet.
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	b, err := os.ReadFile(filepath.Join("testdata", "prometheus-rules_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &tests); err != nil {
		t.Fatal(err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, name := range alertNames(t) {
		if !fires[name] || !quiet[name] {
			t.Errorf("alert %s: tested firing %v, quiet %v; want both", name, fires[name], quiet[name])
		}
	}
}

// rulesFile is files/prometheus-rules.yaml, decoded.
type rulesFile struct {
	Groups []struct {
		Rules []struct {
			Alert string `json:"alert"`
			Expr  string `json:"expr"`
		} `json:"rules"`
	} `json:"groups"`
}

func readRules(t *testing.T) rulesFile {
	t.Helper()
	var rf rulesFile
	if err := yaml.Unmarshal(chartFile(t, "prometheus-rules.yaml"), &rf); err != nil {
		t.Fatal(err)
	}
	return rf
}

func alertNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			names = append(names, r.Alert)
		}
	}
	if len(names) < 7 {
		t.Fatalf("%d alerts in the rules file, want at least 7", len(names))
	}
	return names
}

// TestMonitoringUsesExportedMetrics checks that every pylon_ metric the
// alerts and the dashboard query is one the controller or the speaker
// exports (a renamed metric would silence an alert for good), and that the
// dashboard is valid JSON with a query in every panel.
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	var exprs []string
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(chartFile(t, "grafana-dashboard.json"), &dash); err != nil {
		t.Fatalf("the dashboard: %v", err)
	}
	if len(dash.Panels) == 0 {
		t.Fatal("the dashboard has no panels")
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 || p.Targets[0].Expr == "" {
			t.Errorf("dashboard panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	name := regexp.MustCompile(`\bpylon_[a-z0-9_]+`)
	used := map[string]bool{}
	for _, e := range exprs {
		for _, m := range name.FindAllString(e, -1) {
			used[m] = true
			if !exported[m] {
				t.Errorf("%q queries %s, which pylon does not export (it exports %v)", e, m, slices.Sorted(maps.Keys(exported)))
			}
		}
	}
	if len(used) < 8 {
		t.Errorf("the alerts and dashboard query %d pylon metrics, want at least 8: %v", len(used), used)
	}
}

// exportedMetrics are the names of the metrics the controller and the
// speaker register, and pylon_build_info.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg := &collecting{}
	if err := controller.NewMetrics(nil).Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := speaker.NewMetrics().Register(reg); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{"pylon_build_info": true}
	descs := make(chan *prometheus.Desc, 100)
	go func() {
		for _, c := range reg.cs {
			c.Describe(descs)
		}
		close(descs)
	}()
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			names[m[1]] = true
		}
	}
	if len(names) < 10 {
		t.Fatalf("found %d exported metrics, want at least 10: %v", len(names), names)
	}
	return names
}

// collecting is a prometheus.Registerer that keeps what is registered.
type collecting struct{ cs []prometheus.Collector }

func (r *collecting) Register(c prometheus.Collector) error { r.cs = append(r.cs, c); return nil }
func (r *collecting) MustRegister(cs ...prometheus.Collector) {
	r.cs = append(r.cs, cs...)
}
func (r *collecting) Unregister(prometheus.Collector) bool { return false }

// checkMonitoring checks the PrometheusRule and the dashboard ConfigMap
// that nonDefaults turn on, named after fullname.
func checkMonitoring(t *testing.T, objs []object, fullname string) {
	t.Helper()
	pr := find(t, objs, "monitoring.coreos.com/v1/PrometheusRule", fullname)
	if l := pr.meta()["labels"].(map[string]any); l["role"] != "alert-rules" {
		t.Errorf("PrometheusRule labels %v lack additionalLabels", l)
	}
	var want map[string]any
	if err := yaml.Unmarshal(chartFile(t, "prometheus-rules.yaml"), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pr["spec"], want) {
		t.Errorf("the PrometheusRule's spec is not files/prometheus-rules.yaml:\n%v", pr["spec"])
	}
	var cm object
	for _, o := range objs {
		if o.key() == "v1/ConfigMap "+dashboardNS+"/"+fullname+"-grafana-dashboard" {
			cm = o
		}
	}
	if cm == nil {
		t.Fatalf("no dashboard ConfigMap in %s", dashboardNS)
	}
	if l := cm.meta()["labels"].(map[string]any); l["dashboards"] != "pylon" {
		t.Errorf("dashboard ConfigMap labels %v lack the configured label", l)
	}
	data, _ := cm["data"].(map[string]any)["pylon.json"].(string)
	if data != strings.TrimSuffix(string(chartFile(t, "grafana-dashboard.json")), "\n") {
		t.Errorf("the ConfigMap's pylon.json is not files/grafana-dashboard.json")
	}
}
