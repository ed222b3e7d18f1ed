package yamldocs

import (
	"reflect"
	"strings"
	"testing"
)

const stream = "# a comment that says what the file shows\n" +
	"---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n" +
	"---\n# only a comment\n" +
	"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {k: \"1\"}\nimmutable: true\n"

// TestDocuments: every document as read, comment-only ones included.
func TestDocuments(t *testing.T) {
	docs, err := Documents(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range docs {
		got = append(got, strings.TrimSpace(string(d)))
	}
	want := []string{
		"# a comment that says what the file shows",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}",
		"# only a comment",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {k: \"1\"}\nimmutable: true",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Documents:\n got %q\nwant %q", got, want)
	}
}

// TestObjects: the objects only, decoded; a document that is no YAML is
// an error naming its number.
func TestObjects(t *testing.T) {
	objs, err := Objects([]byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "a"}},
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "b"}, "data": map[string]any{"k": "1"}, "immutable": true},
	}
	if !reflect.DeepEqual(objs, want) {
		t.Errorf("Objects:\n got %v\nwant %v", objs, want)
	}
	if _, err := Objects([]byte("a: 1\n---\n[unclosed\n")); err == nil || !strings.HasPrefix(err.Error(), "document 2: ") {
		t.Errorf("Objects of a broken document: %v, want an error about document 2", err)
	}
}
