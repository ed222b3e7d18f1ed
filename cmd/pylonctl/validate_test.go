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
	// Refused by the schema: never reaches config.Parse.
	notCIDR := write("notcidr.yaml", "apiVersion: pylonlb.io/v1alpha1\nkind: IPPool\nmetadata: {name: d}\nspec: {addresses: [198.51.100.0/24, foo]}\n")
	negative := write("negative.yaml", "apiVersion: pylonlb.io/v1alpha1\nkind: IPPool\nmetadata: {name: e}\nspec: {addresses: [198.51.100.0/24], allocation: {priority: -1}}\n")
	keepalive := write("keepalive.yaml", "apiVersion: pylonlb.io/v1alpha1\nkind: BGPPeer\nmetadata: {name: r2}\nspec: {myASN: 64512, peerASN: 64513, peerAddress: 198.51.100.1, keepaliveTime: 2m}\n")
	badName := write("badname.yaml", "apiVersion: pylonlb.io/v1alpha1\nkind: L2Advertisement\nmetadata: {name: Not_A_Name}\n")
	namespaces := write("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: pylon}\n")

	tests := []struct {
		name string
		args []string
		code int
		out  []string
	}{
		{"clean", []string{good}, 0, []string{"1 pools"}},
		{"overlap reported", []string{good, overlap}, 1, []string{"IPPool b: degraded (Overlapping)", "spec.addresses"}},
		{"a directory takes its yaml files only", []string{dir}, 1, []string{"IPPool b: degraded"}},
		{"unknown field", []string{broken}, 1, []string{"IPPool c: invalid, the API server refuses it", "spec.adresses: Forbidden: unknown field"}},
		{"a CEL rule", []string{good, notCIDR}, 1, []string{"1 pools", "IPPool d: invalid", "spec.addresses[1]: Invalid value: \"foo\": must be a CIDR"}},
		{"the OpenAPI schema; the refused pool is not parsed", []string{good, negative}, 1, []string{"1 pools", "IPPool e: invalid",
			"spec.allocation.priority: Invalid value: -1: spec.allocation.priority in body should be greater than or equal to 0"}},
		{"a CEL rule across fields, with the schema's default", []string{"-f", keepalive}, 1, []string{"spec.keepaliveTime", "less than holdTime (default 90s)"}},
		{"the name (config.Parse does not check it)", []string{badName}, 1, []string{"0 L2 advertisements", "metadata.name: Invalid value: \"Not_A_Name\""}},
		{"no pylon object", []string{namespaces}, 2, []string{"skipped v1/Namespace pylon", "no pylon object"}},
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
			// Only what the API server would accept is parsed: config.Parse
			// would reject pool e again.
			if strings.Contains(all, "IPPool e: rejected") {
				t.Errorf("a pool the schema refuses was parsed: %s", all)
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
	if !strings.Contains(stdout, "5 BGP peers") {
		t.Errorf("expected every example peer in force: %s", stdout)
	}
}

// TestValidateStdin: `-f -` reads standard input, a List as `kubectl get -o
// yaml` writes it (status and server-set metadata included) is unpacked and
// its items checked.
func TestValidateStdin(t *testing.T) {
	list := `apiVersion: v1
kind: List
items:
- apiVersion: pylonlb.io/v1alpha1
  kind: IPPool
  metadata:
    name: a
    uid: 5a0c8c38-3b8e-4c4c-9c55-1f3c2bd5e1a7
    resourceVersion: "42"
    generation: 1
    creationTimestamp: "2026-01-01T00:00:00Z"
    managedFields:
    - manager: kubectl
      operation: Apply
      apiVersion: pylonlb.io/v1alpha1
      fieldsType: FieldsV1
      fieldsV1:
        f:spec:
          f:addresses: {}
  spec: {addresses: [198.51.100.0/25], autoAssign: true}
  status: {conditions: [], anything: the API server ignores status on create}
- apiVersion: pylonlb.io/v1alpha1
  kind: IPPool
  metadata: {name: b}
  spec: {addresses: [198.51.100.7/24]}
`
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		code  int
		out   []string
	}{
		{"a List on stdin", []string{"validate", "-f", "-"}, list, 1,
			[]string{"1 pools", "IPPool b: invalid, the API server refuses it (stdin document 1 item 2)", "spec.addresses[0]", "host bits set"}},
		{"- as an argument", []string{"validate", "-"}, "apiVersion: pylonlb.io/v1alpha1\nkind: IPPool\nmetadata: {name: c}\nspec: {addresses: [198.51.100.0/25]}\n", 0,
			[]string{"1 pools"}},
		{"an empty stdin", []string{"validate", "-f", "-"}, "", 2, []string{"no pylon object"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := runIO(append([]string{"pylonctl"}, tc.args...), strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stdout %q stderr %q", code, tc.code, stdout.String(), stderr.String())
			}
			for _, o := range tc.out {
				if !strings.Contains(stdout.String()+stderr.String(), o) {
					t.Errorf("output lacks %q: %s%s", o, stdout.String(), stderr.String())
				}
			}
		})
	}
}
