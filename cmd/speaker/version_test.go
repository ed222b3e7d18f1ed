package main

import "testing"

// --version needs no other flag (the speaker's --node-name included), and
// metrics are served over HTTPS unless --metrics-secure=false.
func TestVersionAndMetricsSecureFlags(t *testing.T) {
	t.Setenv("NODE_NAME", "")
	o, err := parseFlags([]string{"--version"})
	if err != nil || !o.version {
		t.Fatalf("parseFlags(--version) = %+v, %v", o, err)
	}
	if !o.metricsSecure {
		t.Error("--metrics-secure defaults to false, want true")
	}
	t.Setenv("NODE_NAME", "n1")
	o, err = parseFlags([]string{"--metrics-secure=false"})
	if err != nil || o.metricsSecure || o.version {
		t.Errorf("parseFlags(--metrics-secure=false) = %+v, %v", o, err)
	}
}
