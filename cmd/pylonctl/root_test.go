package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pylonlb/pylon/cmd/internal/version"
)

// ctl runs pylonctl in-process as program with args and returns its exit
// status and output.
func ctl(program string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(append([]string{program}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		program string
		args    []string
		want    []string
		absent  []string
	}{
		{"root", "pylonctl", []string{"--help"},
			[]string{"pylonctl [command]", "status", "why", "bgp", "version", "validate", "completion"}, []string{"kubectl pylon"}},
		{"no command: help, exit 0", "pylonctl", nil, []string{"Available Commands:"}, nil},
		{"why takes kubectl's flags", "pylonctl", []string{"why", "--help"},
			[]string{"pylonctl why svc/NAME [flags]", "--kubeconfig", "--context", "-n, --namespace", "-o, --output", "--pylon-namespace", "--load-balancer-class"}, nil},
		{"bgp peers inherits -o", "pylonctl", []string{"bgp", "peers", "--help"}, []string{"pylonctl bgp peers [flags]", "-o, --output"}, nil},
		{"validate keeps its flag and needs no cluster", "pylonctl", []string{"validate", "--help"},
			[]string{"pylonctl validate [--namespace NS] [-f] FILE|DIR|-...", "-f, --filename", "-n, --namespace string", "(default \"pylon-system\")"}, []string{"--kubeconfig"}},
		{"as a kubectl plugin", "kubectl-pylon", []string{"--help"}, []string{"kubectl pylon [command]"}, []string{"pylonctl [command]"}},
		{"a plugin's subcommand", "/usr/local/bin/kubectl-pylon", []string{"status", "-h"}, []string{"kubectl pylon status [flags]"}, []string{"pylonctl status"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := ctl(tc.program, tc.args...)
			if code != exitOK {
				t.Errorf("exit %d, want 0; stderr %q", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(out, a) {
					t.Errorf("help has %q:\n%s", a, out)
				}
			}
		})
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "__start_pylonctl",
		"zsh":        "#compdef pylonctl",
		"fish":       "complete -c pylonctl",
		"powershell": "Register-ArgumentCompleter",
	} {
		code, out, errOut := ctl("pylonctl", "completion", shell)
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, stderr %q, output lacks %q", shell, code, errOut, want)
		}
	}
	// Static completion needs no cluster: the commands, and -o's values.
	code, out, _ := ctl("pylonctl", "__complete", "")
	for _, w := range []string{"status", "why", "bgp", "version", "validate"} {
		if code != exitOK || !strings.Contains(out, w+"\t") {
			t.Errorf("__complete '': exit %d, lacks %s:\n%s", code, w, out)
		}
	}
	code, out, _ = ctl("pylonctl", "__complete", "status", "-o", "")
	if code != exitOK || !strings.Contains(out, "table\nyaml\njson\n") {
		t.Errorf("__complete status -o '': exit %d:\n%s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"stauts"}, `unknown command "stauts"`},
		{"unknown flag", []string{"status", "--bogus"}, "unknown flag: --bogus"},
		{"extra argument", []string{"status", "extra"}, `unknown command "extra" for "pylonctl status"`},
		{"why needs a Service", []string{"why"}, "accepts 1 arg(s), received 0"},
		{"why takes Services only", []string{"why", "deploy/web"}, `"deploy/web" is not a Service`},
		// Refused before any API call: the kubeconfig does not exist.
		{"unknown output format", []string{"status", "-o", "xml", "--kubeconfig", "/nonexistent"}, `unknown output format "xml"`},
		{"bgp peers too", []string{"bgp", "peers", "-o", "wide", "--kubeconfig", "/nonexistent"}, `unknown output format "wide"`},
		{"no cluster", []string{"status", "--kubeconfig", "/nonexistent"}, "/nonexistent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := ctl("pylonctl", tc.args...)
			if code != exitError {
				t.Errorf("exit %d, want %d; stdout %q stderr %q", code, exitError, out, errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr lacks %q: %q", tc.want, errOut)
			}
		})
	}
}

func TestServiceName(t *testing.T) {
	for arg, want := range map[string]string{"svc/web": "web", "service/web": "web", "services/web": "web", "SVC/web": "web", "web": "web"} {
		if got, err := serviceName(arg); err != nil || got != want {
			t.Errorf("serviceName(%q) = %q, %v; want %q", arg, got, err, want)
		}
	}
}

func TestVersionClientOnly(t *testing.T) {
	code, out, errOut := ctl("pylonctl", "version", "--client")
	if want := version.Get().String("pylonctl"); code != exitOK || !strings.Contains(out, want) {
		t.Errorf("exit %d, stderr %q; output lacks %q:\n%s", code, errOut, want, out)
	}
	code, out, _ = ctl("pylonctl", "version", "--client", "-o", "json")
	if code != exitOK || !strings.Contains(out, `"version": "`+version.Get().Version+`"`) {
		t.Errorf("exit %d, json:\n%s", code, out)
	}
}
