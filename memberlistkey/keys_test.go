package memberlistkey

import (
	"bytes"
	"strings"
	"testing"
)

func TestFromSecret(t *testing.T) {
	a, b, c := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 16), bytes.Repeat([]byte{3}, 24)
	for _, tc := range []struct {
		name string
		data map[string][]byte
		want Keys
		err  string
	}{
		{"primary only", map[string][]byte{"key": a}, Keys{Primary: a}, ""},
		{"others sorted, primary not repeated, unrelated ignored",
			map[string][]byte{"key": a, "key-z": b, "key-a": c, "key-same": a, "key-": b, "note": []byte("x")},
			Keys{Primary: a, Others: [][]byte{c, b}}, ""},
		{"missing primary", map[string][]byte{"key-next": a}, Keys{}, "data[key]: missing"},
		{"short primary", map[string][]byte{"key": []byte("0123456789")}, Keys{}, "data[key]: a key is 16, 24 or 32 bytes, not 10"},
		{"bad other", map[string][]byte{"key": a, "key-next": []byte("x")}, Keys{}, "data[key-next]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromSecret(tc.data)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	if len(New()) != 32 || bytes.Equal(New(), New()) {
		t.Fatal("New is not 32 random bytes")
	}
}
