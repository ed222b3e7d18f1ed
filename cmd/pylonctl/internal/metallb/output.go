package metallb

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Objects returns the pylon objects in the order they should be applied:
// Secrets, IPPools, L2Advertisements, BGPPeers, BGPAdvertisements, each
// sorted by name; as maps without status and creationTimestamp.
func (r *Result) Objects() ([]map[string]any, error) {
	var objs []any
	for i := range r.Resources.Secrets {
		objs = append(objs, &r.Resources.Secrets[i])
	}
	for i := range r.Resources.Pools {
		objs = append(objs, &r.Resources.Pools[i])
	}
	for i := range r.Resources.L2Advertisements {
		objs = append(objs, &r.Resources.L2Advertisements[i])
	}
	for i := range r.Resources.BGPPeers {
		objs = append(objs, &r.Resources.BGPPeers[i])
	}
	for i := range r.Resources.BGPAdvertisements {
		objs = append(objs, &r.Resources.BGPAdvertisements[i])
	}
	var out []map[string]any
	for _, o := range objs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, err
		}
		delete(m, "status")
		if md, ok := m["metadata"].(map[string]any); ok {
			delete(md, "creationTimestamp")
		}
		out = append(out, m)
	}
	return out, nil
}

// WriteYAML writes the objects as YAML documents separated by ---.
func (r *Result) WriteYAML(w io.Writer) error {
	objs, err := r.Objects()
	if err != nil {
		return err
	}
	for i, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			return err
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes the objects as one v1 List.
func (r *Result) WriteJSON(w io.Writer) error {
	objs, err := r.Objects()
	if err != nil {
		return err
	}
	items := make([]any, len(objs))
	for i, o := range objs {
		items[i] = o
	}
	b, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": items}, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// WriteReport writes what became of every object and Service, for people:
// a summary line, then per object read its targets and notes, then the
// Service changes. It never prints a password.
func (r *Result) WriteReport(w io.Writer) error {
	var b strings.Builder
	count := map[Verdict]int{}
	for _, o := range r.Outcomes {
		for _, n := range o.Notes {
			count[n.Verdict]++
		}
	}
	adds := 0
	for _, s := range r.Services {
		adds += len(s.Add)
		for _, n := range s.Notes {
			if n.Verdict != Info {
				count[n.Verdict]++
			}
		}
	}
	res := r.Resources
	fmt.Fprintf(&b, "# %s read; made %s, %s, %s, %s, %s\n", plural(len(r.Outcomes), "object", "objects"),
		plural(len(res.Pools), "IPPool", "IPPools"), plural(len(res.L2Advertisements), "L2Advertisement", "L2Advertisements"),
		plural(len(res.BGPPeers), "BGPPeer", "BGPPeers"), plural(len(res.BGPAdvertisements), "BGPAdvertisement", "BGPAdvertisements"),
		plural(len(res.Secrets), "Secret", "Secrets"))
	fmt.Fprintf(&b, "# %d invalid, %d unmapped, %d changed; %s to annotate (%s)\n",
		count[Invalid], count[Unmapped], count[Changed], plural(countAdding(r.Services), "Service", "Services"), plural(adds, "annotation", "annotations"))
	for _, o := range r.Outcomes {
		target := "nothing"
		if len(o.Targets) > 0 {
			target = strings.Join(o.Targets, ", ")
		}
		fmt.Fprintf(&b, "\n%s -> %s\n", o.Source, target)
		for _, n := range o.Notes {
			fmt.Fprintf(&b, "  %s\n", n)
		}
	}
	for _, s := range r.Services {
		fmt.Fprintf(&b, "\n%s", Ref{Kind: "Service", Namespace: s.Namespace, Name: s.Name})
		if len(s.Add) > 0 {
			var kv []string
			for _, k := range slices.Sorted(maps.Keys(s.Add)) {
				kv = append(kv, k+"="+s.Add[k])
			}
			fmt.Fprintf(&b, " -> annotate %s", strings.Join(kv, " "))
		}
		b.WriteString("\n")
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "  %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func countAdding(svcs []ServiceChange) int {
	n := 0
	for _, s := range svcs {
		if len(s.Add) > 0 {
			n++
		}
	}
	return n
}
