package main

import (
	"bytes"
	"strings"
	"testing"
)

// ctl runs pylonctl in-process as program with args and returns its exit
// status and output.
func ctl(program string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(append([]string{program}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestSkeleton(t *testing.T) {
	if code, out, _ := ctl("kubectl-pylon", "--help"); code != exitOK || !strings.Contains(out, "kubectl pylon [command]") {
		t.Errorf("plugin help: exit %d:\n%s", code, out)
	}
	if code, out, _ := ctl("pylonctl", "completion", "bash"); code != exitOK || !strings.Contains(out, "__start_pylonctl") {
		t.Errorf("completion: exit %d", code)
	}
	if code, _, errOut := ctl("pylonctl", "stauts"); code != exitError || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
}
