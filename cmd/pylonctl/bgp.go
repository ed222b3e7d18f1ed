package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

func (a *app) bgpCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bgp",
		Short: "The speakers' BGP sessions",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "peers",
		Short: "Every node's BGP sessions: state, BFD state, since when, prefixes sent, last error",
		Long: `peers lists each node's session with each BGPPeer as the node's speaker
reports it in its SpeakerStatus, with the state of the BFD session beside it
when the BGPPeer has a bfd profile ("-" when not). Exit status 1 when a
session is not Established or its BFD session is not Up.`,
		Example: `  pylonctl bgp peers
  kubectl pylon bgp peers -o json | jq '.sessions[] | select(.state != "Established")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var l v1alpha1.SpeakerStatusList
			if err := c.List(cmd.Context(), &l); err != nil {
				return fmt.Errorf("list SpeakerStatuses: %w", err)
			}
			r := peersReport(l.Items)
			if err := a.print(r, r.table(a.clock.Now())); err != nil {
				return err
			}
			if r.Established < r.Total || r.BFDNotUp > 0 {
				return exitCode(exitProblem)
			}
			return nil
		},
	})
	return cmd
}

// bgpPeersReport is what bgp peers prints.
type bgpPeersReport struct {
	Sessions    []sessionRow `json:"sessions"`
	Established int          `json:"established"`
	Total       int          `json:"total"`
	// BFDNotUp counts the sessions with a BFD session that is not Up.
	BFDNotUp int `json:"bfdNotUp"`
}

type sessionRow struct {
	Node         string    `json:"node"`
	Peer         string    `json:"peer"`
	Address      string    `json:"address,omitempty"`
	State        string    `json:"state"`
	Since        time.Time `json:"since,omitzero"`
	PrefixesSent int32     `json:"prefixesSent"`
	LastError    string    `json:"lastError,omitempty"`
	// Change says how a BGPPeer change that restarts the session is rolled
	// out on this node (Held, Trying, Reverted).
	Change string `json:"change,omitempty"`
	// BFD is the state of the BFD session beside it; empty without one.
	BFD string `json:"bfd,omitempty"`
}

// peersReport lists the sessions by node (SpeakerStatuses come sorted by
// name) and then in the order each speaker reports them.
func peersReport(speakers []v1alpha1.SpeakerStatus) *bgpPeersReport {
	r := &bgpPeersReport{Sessions: []sessionRow{}}
	for _, st := range speakers {
		for _, s := range st.Status.BGPSessions {
			row := sessionRow{Node: st.Name, Peer: s.Peer, Address: s.PeerAddress, State: s.State,
				PrefixesSent: s.PrefixesSent, LastError: s.LastError, Change: s.Change}
			if s.Since != nil {
				row.Since = s.Since.Time
			}
			if s.BFD != nil {
				row.BFD = s.BFD.State
				if s.BFD.State != "Up" {
					r.BFDNotUp++
				}
			}
			r.Sessions = append(r.Sessions, row)
			r.Total++
			if s.State == "Established" {
				r.Established++
			}
		}
	}
	return r
}

func (r *bgpPeersReport) table(now time.Time) func(io.Writer) {
	return func(w io.Writer) {
		if len(r.Sessions) == 0 {
			fmt.Fprintln(w, "No BGP sessions: no speaker reports one (no BGPPeer selects a node, or BGP is off).")
			return
		}
		fmt.Fprintln(w, "NODE\tPEER\tADDRESS\tSTATE\tBFD\tSINCE\tPREFIXES\tCHANGE\tLAST ERROR")
		for _, s := range r.Sessions {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Node, s.Peer, orDash(s.Address), s.State, orDash(s.BFD), ago(now, s.Since),
				s.PrefixesSent, orDash(s.Change), orDash(strings.ReplaceAll(s.LastError, "\t", " ")))
		}
		fmt.Fprintf(w, "\n%d/%d Established\n", r.Established, r.Total)
		if r.BFDNotUp > 0 {
			fmt.Fprintf(w, "%d BFD sessions not Up\n", r.BFDNotUp)
		}
	}
}
