package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "apiVersion: pylonlb.io/v1alpha1\nkind: IPPool\nmetadata: {name: a}\nspec: {addresses: [198.51.100.0/25]}\n")
	overlap := write("overlap.yaml", "apiVersion: pylonlb.io/v1alpha1\nkind: IPPool\nmetadata: {name: b}\nspec: {addresses: [198.51.100.0/24]}\n")
	broken := write("broken.txt", "apiVersion: pylonlb.io/v1alpha1\nkind: IPPool\nmetadata: {name: c}\nspec: {adresses: []}\n")

	tests := []struct {
		name string
		args []string
		code int
		out  []string
	}{
		{"clean", []string{good}, 0, []string{"1 pools"}},
		{"overlap reported", []string{good, overlap}, 1, []string{"IPPool b: degraded (Overlapping)", "spec.addresses"}},
		{"a directory takes its yaml files only", []string{dir}, 1, []string{"IPPool b: degraded"}},
		{"unknown field", []string{broken}, 2, []string{"adresses"}},
		{"no files", nil, 2, []string{"no files given"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := parseValidateFlags(tt.args)
			var stdout, stderr bytes.Buffer
			code := 2
			if err != nil {
				stderr.WriteString(err.Error())
			} else {
				code = validate(opts, &stdout, &stderr)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d; stdout %q stderr %q", code, tt.code, stdout.String(), stderr.String())
			}
			all := stdout.String() + stderr.String()
			for _, o := range tt.out {
				if !strings.Contains(all, o) {
					t.Errorf("output lacks %q: %s", o, all)
				}
			}
		})
	}
}

// TestExamplesAreClean: the examples the docs point operators at must pass
// the same checks the controller makes.
func TestExamplesAreClean(t *testing.T) {
	opts, err := parseValidateFlags([]string{"../../docs/examples"})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := validate(opts, &stdout, &stderr); code != 0 {
		t.Fatalf("docs/examples has problems (exit %d):\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "4 BGP peers") {
		t.Errorf("expected every example peer in force: %s", stdout.String())
	}
}
