package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// Output formats (-o).
const (
	outputTable = "table"
	outputYAML  = "yaml"
	outputJSON  = "json"
)

// outputFormats lists the formats -o takes.
func outputFormats() []string { return []string{outputTable, outputYAML, outputJSON} }

// checkOutput refuses an unknown -o before any API call.
func (a *app) checkOutput(*cobra.Command, []string) error {
	if !slices.Contains(outputFormats(), a.output) {
		return fmt.Errorf("unknown output format %q: use %s", a.output, strings.Join(outputFormats(), ", "))
	}
	return nil
}

// print writes report as YAML or JSON, or as the table table writes.
// The table goes through a tabwriter: cells are separated by tabs.
func (a *app) print(report any, table func(w io.Writer)) error {
	switch a.output {
	case outputJSON:
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	case outputYAML:
		b, err := yaml.Marshal(report)
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(b)
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// orDash writes "-" for an empty cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ago writes how long ago t was, as kubectl's AGE column does (3s, 5m,
// 2h, 4d); "-" for the zero time.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
