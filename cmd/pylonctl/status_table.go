package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// table writes the report for people: the controller, a row per node, a
// row per pool and family, the BGP total, then problems and warnings and
// the verdict.
func (r *statusReport) table(now time.Time) func(io.Writer) {
	return func(w io.Writer) {
		l := r.Controller.Leader
		switch {
		case l.Pod != "":
			fmt.Fprintf(w, "Controller:\tleader %s (Lease %s, renewed %s ago)\n", l.Pod, l.Lease, ago(now, l.Renewed))
		case l.Found:
			fmt.Fprintf(w, "Controller:\tno leader (Lease %s held by nobody)\n", l.Lease)
		default:
			fmt.Fprintf(w, "Controller:\tno leader Lease %s\n", l.Lease)
		}
		running, ready := 0, 0
		for _, s := range r.Speakers {
			if s.Pod != "" {
				running++
			}
			if s.PodReady {
				ready++
			}
		}
		fmt.Fprintf(w, "Speakers:\t%d on %d nodes, %d Ready\n", running, r.Nodes, ready)
		fmt.Fprintf(w, "BGP sessions:\t%s Established\n", r.BGPSessions)

		fmt.Fprintln(w)
		fmt.Fprintln(w, "NODE\tSPEAKER\tREADY\tMEMBERS\tBGP\tANNOUNCED\tCONDITIONS")
		for _, s := range r.Speakers {
			members, bgp, announced := "-", "-", "-"
			if s.Reported {
				members = fmt.Sprintf("%d/%d", s.MembersAlive, s.Known)
				bgp = s.Sessions.String()
				announced = fmt.Sprint(s.Announced)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Node, orDash(s.Pod), yesNo(s.Pod != "", s.PodReady), members, bgp, announced, orDash(strings.Join(s.Conditions, ", ")))
		}

		if len(r.Pools) > 0 {
			fmt.Fprintln(w)
			fmt.Fprintln(w, "POOL\tFAMILY\tALLOCATED\tAVAILABLE\tTOTAL\tCONDITIONS")
			for _, p := range r.Pools {
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\n", p.Name, p.Family, p.Allocated, p.Available, p.Total, orDash(strings.Join(p.Conditions, ", ")))
			}
		}

		for _, sec := range []struct {
			title string
			list  []finding
		}{{"Problems", r.Problems}, {"Warnings", r.Warnings}} {
			if len(sec.list) == 0 {
				continue
			}
			fmt.Fprintf(w, "\n%s:\n", sec.title)
			for _, f := range sec.list {
				fmt.Fprintf(w, "  %s\n", f)
			}
		}
		fmt.Fprintln(w)
		if r.Healthy {
			fmt.Fprintln(w, "Healthy")
		} else {
			fmt.Fprintf(w, "Unhealthy: %d problems\n", len(r.Problems))
		}
	}
}

// yesNo writes a boolean cell: "-" when it does not apply.
func yesNo(applies, v bool) string {
	switch {
	case !applies:
		return "-"
	case v:
		return "yes"
	}
	return "no"
}
