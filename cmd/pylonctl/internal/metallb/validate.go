package metallb

import (
	"strings"

	"github.com/pylonlb/pylon/config"
)

// validate runs pylon's own checks (config.Parse, as the controller, the
// speakers and `pylonctl validate` make them) over the output and reports
// each problem on the MetalLB object the pylon object came from.
func (c *converter) validate() {
	cfg := config.Parse(c.res.Resources)
	for _, p := range cfg.Problems {
		out, ok := c.made[string(p.Kind)+" "+p.Name]
		if !ok {
			continue // cannot happen: every object is made by one source
		}
		verdict := "degraded"
		if p.Rejected {
			verdict = "rejected"
		}
		var errs []string
		for _, e := range p.Errors {
			errs = append(errs, e.Error())
		}
		out.note("", Invalid, "pylon's validation: %s %s %s (%s): %s", p.Kind, p.Name, verdict, p.Reason, strings.Join(errs, "; "))
	}
}
