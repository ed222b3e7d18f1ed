package knob

import (
	"fmt"
	"testing"
)

// fatalTB records Fatalf instead of ending the test.
type fatalTB struct {
	testing.TB
	fatal string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
}

func TestChoice(t *testing.T) {
	for _, tc := range []struct {
		env, want string
		fails     bool
	}{
		{"", "frr", false},
		{"bird", "bird", false},
		{"frr", "frr", false},
		{"BIRD", "", true},
		{"gobgp", "", true},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv("PYLON_TEST_KNOB_CHOICE", tc.env)
			f := &fatalTB{TB: t}
			got := Choice(f, "PYLON_TEST_KNOB_CHOICE", "frr", "bird")
			if tc.fails {
				if f.fatal == "" {
					t.Errorf("Choice(%q) = %q, want a failure", tc.env, got)
				}
				return
			}
			if f.fatal != "" || got != tc.want {
				t.Errorf("Choice(%q) = %q (fatal %q), want %q", tc.env, got, f.fatal, tc.want)
			}
		})
	}
}
