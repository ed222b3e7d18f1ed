package restconfig

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadTurnsClientRateLimitingOff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	const kc = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://127.0.0.1:6443" || cfg.BearerToken != "t" {
		t.Fatalf("loaded host %q token %q", cfg.Host, cfg.BearerToken)
	}
	if cfg.QPS != -1 {
		t.Fatalf("QPS = %v, want -1 (client-side rate limiting off)", cfg.QPS)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing kubeconfig loaded")
	}
}
