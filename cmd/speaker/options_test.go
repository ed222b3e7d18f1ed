package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/cmdtest"
)

func TestParseFlags(t *testing.T) {
	t.Setenv("NODE_NAME", "node-a")
	t.Setenv("POD_NAMESPACE", "")
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.nodeName != "node-a" || o.namespace != "pylon-system" || o.mlPort != 7946 || o.handoff != time.Second || o.profile.ProbeInterval != 200*time.Millisecond {
		t.Fatalf("defaults: %+v", o)
	}
	o, err = parseFlags([]string{"--node-name=b", "--memberlist-port=8000", "--memberlist-probe-interval=1s", "--memberlist-probe-timeout=300ms", "--handoff-delay=0s"})
	if err != nil {
		t.Fatal(err)
	}
	if o.nodeName != "b" || o.mlPort != 8000 || o.profile.ProbeInterval != time.Second || o.profile.ProbeTimeout != 300*time.Millisecond || o.handoff != 0 {
		t.Fatalf("flags not taken: %+v", o)
	}
	for args, want := range map[string]string{
		"--node-name=":            "--node-name",
		"--memberlist-port=70000": "--memberlist-port",
		"--memberlist-probe-timeout=300ms --memberlist-probe-interval=200ms": "probe timeout",
		"--handoff-delay=-1s":  "--handoff-delay",
		"--gratuitous-count=0": "--gratuitous-count",
		"extra":                "unexpected",
	} {
		if _, err := parseFlags(strings.Fields(args)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want one naming %q", args, err, want)
		}
	}
	t.Run("--version and --metrics-secure", func(t *testing.T) {
		cmdtest.VersionAndMetricsSecureFlags(t, func(args []string) (bool, bool, error) {
			o, err := parseFlags(args)
			return o.version, o.metricsSecure, err
		})
	})
}
