package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pylonlb/pylon/test/cmdtest"
)

func TestParseFlags(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "from-env")
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.namespace != "from-env" || o.leaderElectionNS != "from-env" || o.loadBalancerClass != "" || o.leaderElect || o.workers != 8 {
		t.Errorf("defaults: %+v", o)
	}
	o, err = parseFlags([]string{"--load-balancer-class=example.com/lb", "--leader-elect", "--namespace=pylon", "--leader-election-namespace=kube-system", "--workers=8", "--kubeconfig=/k", "--service-cluster-ip-range=10.96.0.0/12, fd00:10:96::/112"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.serviceCIDRs) != "[10.96.0.0/12 fd00:10:96::/112]" {
		t.Errorf("service CIDRs: %v", o.serviceCIDRs)
	}
	if o.loadBalancerClass != "example.com/lb" || !o.leaderElect || o.namespace != "pylon" || o.leaderElectionNS != "kube-system" || o.workers != 8 || o.kubeconfig != "/k" {
		t.Errorf("parsed: %+v", o)
	}
	for args, want := range map[string]string{
		"--workers=0": "--workers",
		"--service-cluster-ip-range=10.96.0.0/12,x": "not a CIDR",
		"--namespace=":  "--namespace",
		"stray":         "unexpected arguments",
		"--no-such-flg": "not defined",
	} {
		if _, err := parseFlags([]string{args}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseFlags(%q) = %v, want an error mentioning %q", args, err, want)
		}
	}
	t.Run("--version and --metrics-secure", func(t *testing.T) {
		cmdtest.VersionAndMetricsSecureFlags(t, func(args []string) (bool, bool, error) {
			o, err := parseFlags(args)
			return o.version, o.metricsSecure, err
		})
	})
}
