package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestInstallDocsListEveryValue checks that docs/install.md's values table
// names every value of the chart's values.yaml: a value, or a map that
// holds it (controller.resources). In the table's first column a name
// starting with a dot (`.interval` after `metrics.serviceMonitor.enabled`)
// is relative to the parent of the full name before it.
func TestInstallDocsListEveryValue(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "install.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	name := regexp.MustCompile("`([A-Za-z0-9.]+)`")
	for _, line := range strings.Split(string(page), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(line, "| `") {
			continue
		}
		parent := ""
		for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
			n := m[1]
			if strings.HasPrefix(n, ".") {
				n = parent + n
			} else if i := strings.LastIndex(n, "."); i > 0 {
				parent = n[:i]
			}
			documented[n] = true
		}
	}
	b, err := os.ReadFile(filepath.Join(chartFiles, "..", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatal(err)
	}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			path := prefix + k
			if documented[path] {
				continue
			}
			if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
				walk(path+".", sub)
				continue
			}
			t.Errorf("value %s is not in docs/install.md's values table", path)
		}
	}
	walk("", values)
	if len(documented) < 40 {
		t.Errorf("found %d values in docs/install.md's table, want at least 40: %v", len(documented), documented)
	}
}
