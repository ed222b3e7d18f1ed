package cmdtest

import "testing"

// ParseFunc is a binary's flag parsing, reduced to what the shared checks
// look at: --version and --metrics-secure.
type ParseFunc func(args []string) (version, metricsSecure bool, err error)

// VersionAndMetricsSecureFlags checks that --version needs no other flag
// (the speaker's --node-name included, which comes from $NODE_NAME), and
// that metrics are served over HTTPS unless --metrics-secure=false.
func VersionAndMetricsSecureFlags(t *testing.T, parse ParseFunc) {
	t.Helper()
	t.Setenv("NODE_NAME", "")
	version, secure, err := parse([]string{"--version"})
	if err != nil || !version {
		t.Fatalf("parse(--version) = version %v, %v", version, err)
	}
	if !secure {
		t.Error("--metrics-secure defaults to false, want true")
	}
	t.Setenv("NODE_NAME", "n1")
	version, secure, err = parse([]string{"--metrics-secure=false"})
	if err != nil || secure || version {
		t.Errorf("parse(--metrics-secure=false) = version %v, metrics secure %v, %v", version, secure, err)
	}
}
