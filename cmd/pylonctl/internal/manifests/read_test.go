package manifests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRead: files, directories (their YAML and JSON files only, in lexical
// order), stdin, documents separated by ---, comment-only documents, and
// lists unpacked into their items, each object saying where it came from.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b.yaml", "# only a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b2}\n")
	write("a.json", `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a1"}}, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a2"}}]}`)
	write("notes.txt", "not yaml: [")
	stdin := strings.NewReader("apiVersion: v1\nkind: NamespaceList\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: s}\n")

	objs, err := Read([]string{dir, Stdin}, stdin)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetName()+"@"+strings.TrimPrefix(o.Source, dir+"/"))
	}
	want := "a1@a.json document 1 item 1 a2@a.json document 1 item 2 b@b.yaml document 2 b2@b.yaml document 3 s@stdin document 1 item 1"
	if strings.Join(got, " ") != want {
		t.Errorf("read %v\nwant %s", got, want)
	}

	if _, err := Read([]string{Stdin, Stdin}, strings.NewReader("")); err == nil {
		t.Error("stdin named twice is accepted")
	}
	if _, err := Decode(strings.NewReader("apiVersion: v1\nmetadata: {name: x}\n"), "f"); err == nil || !strings.Contains(err.Error(), "f document 1") {
		t.Errorf("a document without kind: %v", err)
	}
	if _, err := Read([]string{filepath.Join(dir, "notes.txt")}, nil); err == nil {
		t.Error("a file named directly is not read whatever its extension")
	}
}
