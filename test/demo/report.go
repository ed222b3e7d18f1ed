package demo

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// printSummary writes the summary table: every step with its timing, then
// the figures the demo measured.
func printSummary(w io.Writer, s Summary) {
	fmt.Fprintf(w, "\nsummary (lab %s)\n\n", s.Lab)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tstep\tresult\ttook\ttimeout")
	for i, st := range s.Steps {
		result := "ok"
		if !st.OK() {
			result = "FAILED"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%v\t%v\n", i+1, st.Name, result, round(st.Took), st.Timeout)
	}
	tw.Flush()
	fmt.Fprintln(w)
	f, r := s.Failover, s.Return
	rows := [][2]string{
		{"helm install", fmt.Sprintf("%v; pods Ready and every speaker seeing 3 members %v later", round(s.Helm), round(s.Ready))},
		{s.L2.Service + " (layer 2)", fmt.Sprintf("%s from IPPool %s; ARP answered by %s; %s answered by pod %s on %s", s.L2.IP, s.L2.Pool, s.L2.Owner, s.L2.Client, s.L2.Answered, s.L2.AnsweredOn)},
		{s.BGP.Service + " (BGP)", fmt.Sprintf("%s from IPPool %s; router's next hops %s; %s answered by pod %s on %s", s.BGP.IP, s.BGP.Pool, strings.Join(s.BGP.NextHops, ", "), s.BGP.Client, s.BGP.Answered, s.BGP.AnsweredOn)},
		{"BGP sessions", fmt.Sprintf("%d Established: %s", len(s.Sessions), strings.Join(s.Sessions, "; "))},
		{"failure of " + f.Owner, f.How},
		{"layer-2 failover", fmt.Sprintf("%s -> %s: longest gap %v for the local client (%d of %d probes unanswered); takeover seen after %v", f.Owner, f.Next, round(f.Gap), f.Lost, f.Probes, round(f.TakenOverIn))},
		{"BGP withdrawal", fmt.Sprintf("router dropped %s after %v; next hops %s", f.Owner, round(f.BGPWithdrawn), strings.Join(f.BGPNextHops, ", "))},
		{"remote client", fmt.Sprintf("longest gap %v; answered by %s", round(f.RemoteGap), strings.Join(f.RemoteAnswers, " then "))},
		{f.Owner + " back", fmt.Sprintf("speaker running again after %v; members all seen after %v; 3 next hops after %v; %s owns %s", round(r.Restarted), round(r.Rejoined), round(r.Routed), r.Owner, s.L2.IP)},
		{"total", total(s)},
	}
	tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
	}
	tw.Flush()
}

// printKeep says how to use the lab that Options.Keep leaves running and
// how to tear it down.
func printKeep(w io.Writer, d *demo) {
	l := d.lab
	fmt.Fprintf(w, `
The lab stays up (KEEP=1). In another shell, as root:

  export KUBECONFIG=%[1]s
  alias kubectl=%[2]s   # the test API server's own kubectl
  kubectl get nodes -o wide
  kubectl -n %[3]s get pods -o wide
  kubectl -n %[3]s logs daemonset/pylon-speaker --tail 20   # a speaker's log, from its kubelet
  kubectl get pylon   # pylon's pools, advertisements, peers and speakers (its category)
  kubectl -n %[4]s get pods,services -o wide
  ip netns exec %[5]s curl -s http://%[6]s/   # the local client: layer 2
  ip netns exec %[7]s curl -s http://%[8]s/   # the remote client: through the router
  ip netns exec %[9]s vtysh --vty_socket %[10]s -c 'show bgp ipv4 unicast'
  ip netns exec %[11]s bash                      # a shell on node n1
  %[12]s --address %[13]s -n k8s.io tasks list   # n1's containerd
  logs: %[14]s

Tear it down: Ctrl-C here (or kill -INT %[15]d). Should this process die
without tearing down, `+"`go run ./cmd/pylonlab down`"+` removes what it left.
`, l.Kubeconfig, l.API.KubectlPath, pylonNamespace, demoNamespace,
		l.LocalClient.Netns, d.sum.L2.IP, l.RemoteClient.Netns, d.sum.BGP.IP,
		l.Router.Netns, l.Router.Dir, l.Nodes[0].Netns, filepath.Join(d.nodeAssets, "ctr"), filepath.Join(l.Dir, "nodes", l.Nodes[0].Name, "containerd.sock"),
		l.Dir+"/logs", os.Getpid())
}

// total is the run's time with what did not depend on pylon split out.
func total(s Summary) string {
	out := fmt.Sprintf("%v (building %v", round(s.Total), round(s.Build))
	if s.LockWait > time.Second {
		out += fmt.Sprintf("; waiting for another lab %v", round(s.LockWait))
	}
	return out + ")"
}
