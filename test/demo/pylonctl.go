package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// PylonctlResult is what `pylonctl status` and `pylonctl why` said about
// the running demo.
type PylonctlResult struct {
	// StatusExit is status's exit code (0: healthy).
	StatusExit int
	// WhyOwner is the node why names as the owner of web-l2's address;
	// WhyPool the pool it names.
	WhyOwner, WhyPool string
}

// pylonctl runs `pylonctl status` and `pylonctl why svc/web-l2` against
// the lab, as an operator would with the lab's kubeconfig, and prints
// their output.
func (d *demo) pylonctl(ctx context.Context) ([]string, error) {
	kube := []string{"--kubeconfig", d.lab.Kubeconfig, "--pylon-namespace", pylonNamespace}
	status, code, err := d.runPylonctl(ctx, append([]string{"status"}, kube...)...)
	if err != nil {
		return nil, err
	}
	d.sum.Pylonctl.StatusExit = code
	lines := append([]string{"$ kubectl pylon status"}, indent(status)...)
	if code != 0 {
		return lines, fmt.Errorf("pylonctl status exited %d: pylon is not healthy", code)
	}
	svc := strings.TrimPrefix(d.sum.L2.Service, demoNamespace+"/")
	why, code, err := d.runPylonctl(ctx, append([]string{"why", "svc/" + svc, "-n", demoNamespace}, kube...)...)
	if err != nil {
		return lines, err
	}
	lines = append(lines, "", "$ kubectl pylon why svc/"+svc+" -n "+demoNamespace)
	lines = append(lines, indent(why)...)
	if code != 0 {
		return lines, fmt.Errorf("pylonctl why exited %d", code)
	}
	// The same answer as data: which node and pool.
	js, _, err := d.runPylonctl(ctx, append([]string{"why", "svc/" + svc, "-n", demoNamespace, "-o", "json"}, kube...)...)
	if err != nil {
		return lines, err
	}
	var r struct {
		Addresses []struct {
			IP     string `json:"ip"`
			Pool   string `json:"pool"`
			Layer2 *struct {
				Owner string `json:"owner"`
			} `json:"layer2"`
		} `json:"addresses"`
	}
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		return lines, fmt.Errorf("pylonctl why -o json: %w", err)
	}
	for _, a := range r.Addresses {
		if a.IP == d.sum.L2.IP.String() && a.Layer2 != nil {
			d.sum.Pylonctl.WhyOwner, d.sum.Pylonctl.WhyPool = a.Layer2.Owner, a.Pool
		}
	}
	if d.sum.Pylonctl.WhyOwner != d.sum.L2.Owner {
		return lines, fmt.Errorf("pylonctl why names %q as the owner of %s; the node answering ARP is %s", d.sum.Pylonctl.WhyOwner, d.sum.L2.IP, d.sum.L2.Owner)
	}
	return lines, nil
}

// runPylonctl runs the pylonctl the build step made and returns its
// standard output and exit code; err is set only when it could not run
// or could not answer (exit 2).
func (d *demo) runPylonctl(ctx context.Context, args ...string) (string, int, error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, d.pylonctlBin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0, nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return out.String(), 1, nil
	}
	return out.String(), -1, fmt.Errorf("pylonctl %s: %v: %s", strings.Join(args, " "), err, errOut.String())
}
