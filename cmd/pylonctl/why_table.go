package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// table writes the report for people: the Service, the controller's word,
// then each address with its layer-2 election and BGP nodes, then the
// problems.
func (r *whyReport) table(now time.Time) func(io.Writer) {
	return func(w io.Writer) {
		desc := r.Type
		if r.ExternalTrafficPolicy != "" {
			desc += ", externalTrafficPolicy " + r.ExternalTrafficPolicy
		}
		if r.LoadBalancerClass != "" {
			desc += ", loadBalancerClass " + r.LoadBalancerClass
		}
		fmt.Fprintf(w, "Service:\t%s (%s)\n", r.Service, desc)
		if !r.Served {
			fmt.Fprintf(w, "Not served:\t%s\n", r.NotServed)
		}
		if c := r.Controller; c != nil {
			fmt.Fprintf(w, "Controller:\t%s: %s (%s, %s ago)\n", c.Reason, c.Message, c.Source, ago(now, c.Time))
		}
		if r.Pending != "" {
			fmt.Fprintf(w, "Pending:\t%s\n", r.Pending)
		}
		for _, a := range r.Addresses {
			fmt.Fprintln(w)
			pool := "no IPPool"
			if a.Pool != "" {
				pool = "IPPool " + a.Pool + " (from the " + a.PoolSource + ")"
			}
			fmt.Fprintf(w, "%s\t%s\n", a.IP, pool)
			if a.NotAnnounced != "" {
				fmt.Fprintf(w, "  Not announced:\t%s\n", a.NotAnnounced)
			}
			if l := a.Layer2; l != nil {
				l2Table(w, l)
			}
			if b := a.BGP; b != nil {
				bgpTable(w, b)
			}
		}
		if len(r.Problems) > 0 {
			fmt.Fprintln(w, "\nProblems:")
			for _, p := range r.Problems {
				fmt.Fprintf(w, "  %s\n", p)
			}
		}
	}
}

func l2Table(w io.Writer, l *l2Report) {
	mode := ""
	if l.Local {
		mode = ", externalTrafficPolicy Local: only nodes with a ready endpoint"
	}
	fmt.Fprintf(w, "  Layer 2:\tL2Advertisement %s%s\n", strings.Join(l.Advertisements, ", "), mode)
	if len(l.NotSelecting) > 0 {
		fmt.Fprintf(w, "  Not selecting:\tL2Advertisement %s (serviceSelectors)\n", strings.Join(l.NotSelecting, ", "))
	}
	fmt.Fprintf(w, "  Owner:\t%s\n", orDash(l.Owner))
	if len(l.Ranked) > 1 {
		fmt.Fprintf(w, "  Next:\t%s\n", strings.Join(l.Ranked[1:], ", "))
	}
	if c := l.Check; c != nil {
		fmt.Fprintf(w, "  Check:\t%s\n", c)
	}
	for _, v := range l.Views {
		fmt.Fprintf(w, "  View:\towner %s by %s\n", orDash(v.Owner), strings.Join(v.Speakers, ", "))
	}
	if len(l.AlsoAnnouncing) > 0 {
		fmt.Fprintf(w, "  Also:\t%s\n", strings.Join(l.AlsoAnnouncing, ", "))
	}
	// A line without a tab ends the column block above.
	fmt.Fprintln(w, "  Election:")
	fmt.Fprintln(w, "    NODE\tSTANDING")
	for _, s := range l.Nodes {
		fmt.Fprintf(w, "    %s\t%s\n", s.Node, s.Standing)
	}
}

func bgpTable(w io.Writer, b *bgpReport) {
	fmt.Fprintf(w, "  BGP:\tannounced by %s\n", orDash(strings.Join(b.Announcing, ", ")))
	fmt.Fprintln(w, "  Nodes:")
	fmt.Fprintln(w, "    NODE\tANNOUNCES\tSESSIONS\tWHY / CHECK")
	for _, n := range b.Nodes {
		var sessions []string
		for _, p := range n.Peers {
			sessions = append(sessions, fmt.Sprintf("%s %s", p.Peer, p.State))
		}
		note := n.Why
		if n.Check != nil {
			note = n.Check.String()
		}
		fmt.Fprintf(w, "    %s\t%s\t%s\t%s\n", n.Node, yesNo(true, n.Announces), orDash(strings.Join(sessions, ", ")), orDash(note))
	}
}

func (c check) String() string {
	if c.By == "" {
		return c.Result + ": " + c.Detail
	}
	return c.Result + " by " + c.By + ": " + c.Detail
}
