package knob

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Get reads a knob from the environment variable env: a positive integer
// or duration (time.ParseDuration); def when unset. Anything else fails t.
func Get[T int | time.Duration](t testing.TB, env string, def T) T {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		return def
	}
	var n T
	var err error
	switch p := any(&n).(type) {
	case *int:
		*p, err = strconv.Atoi(v)
	case *time.Duration:
		*p, err = time.ParseDuration(v)
	}
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive %T", env, v, n)
	}
	return n
}

// Choice reads a knob from the environment variable env that names one of
// choices; the first when unset. Anything else fails t.
func Choice(t testing.TB, env string, choices ...string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		return choices[0]
	}
	if !slices.Contains(choices, v) {
		t.Fatalf("%s=%q: want one of %q", env, v, choices)
	}
	return v
}
