package main

import (
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
	peer := write("peer.yaml", "apiVersion: pylonlb.io/v1alpha1\nkind: BGPPeer\nmetadata: {name: r1}\nspec: {myASN: 64512, peerASN: 64513, peerAddress: 198.51.100.1, passwordSecretRef: {name: pw}}\n---\n"+
		"apiVersion: v1\nkind: Secret\nmetadata: {name: pw, namespace: pylon}\nstringData: {password: s3cret}\n")
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
		{"a password Secret looked up in pylon-system by default", []string{peer}, 1, []string{"BGPPeer r1: rejected (SecretNotUsable)"}},
		{"--namespace says where", []string{"--namespace", "pylon", peer}, 0, []string{"1 BGP peers"}},
		{"-n after the files", []string{peer, "-n", "pylon"}, 0, []string{"1 BGP peers"}},
		{"unknown flag", []string{"--kubeconfig", "x", good}, 2, []string{"unknown flag: --kubeconfig"}},
		{"missing file", []string{filepath.Join(dir, "missing.yaml")}, 2, []string{"missing.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := ctl("pylonctl", append([]string{"validate"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stdout %q stderr %q", code, tt.code, stdout, stderr)
			}
			all := stdout + stderr
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
	code, stdout, stderr := ctl("pylonctl", "validate", "../../docs/examples")
	if code != 0 {
		t.Fatalf("docs/examples has problems (exit %d):\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "4 BGP peers") {
		t.Errorf("expected every example peer in force: %s", stdout)
	}
}
