package metallb

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// tracker makes sure every field of an object read ends up somewhere: a rule
// either uses a field (it is carried over) or reports it, and fields no rule
// touched are reported as unknown when the object is done.
type tracker struct {
	obj  map[string]any
	out  *Outcome
	done []string
}

func newTracker(obj map[string]any, out *Outcome) *tracker {
	return &tracker{obj: obj, out: out}
}

// use marks path (and everything under it) as carried over.
func (t *tracker) use(path string) { t.done = append(t.done, path) }

// unmapped reports path, with its value, as not carried over, and why.
func (t *tracker) unmapped(path, why string, args ...any) {
	t.done = append(t.done, path)
	t.out.note(path, Unmapped, "%s: %s", t.value(path), fmt.Sprintf(why, args...))
}

// has reports whether path is present and not empty.
func (t *tracker) has(path string) bool {
	v, ok := t.get(path)
	return ok && !empty(v)
}

// value renders the value at path as compact JSON (map keys sorted), cut
// to 120 characters.
func (t *tracker) value(path string) string {
	v, _ := t.get(path)
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	s := string(b)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// get walks a path of the form a.b[2].c.
func (t *tracker) get(path string) (any, bool) {
	var cur any = t.obj
	for _, step := range splitPath(path) {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[step.key]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			if step.index < 0 || step.index >= len(c) {
				return nil, false
			}
			cur = c[step.index]
		default:
			return nil, false
		}
	}
	return cur, true
}

type pathStep struct {
	key   string
	index int
}

func splitPath(path string) []pathStep {
	var out []pathStep
	for _, part := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			out = append(out, pathStep{key: key, index: -1})
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			n, err := strconv.Atoi(idx)
			if err != nil {
				n = -1
			}
			out = append(out, pathStep{index: n})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return out
}

// finish reports every non-empty leaf under spec that no rule used or
// reported: a field this converter does not know.
func (t *tracker) finish() {
	spec, ok := t.obj["spec"]
	if !ok {
		return
	}
	for _, leaf := range leaves("spec", spec) {
		if !t.covered(leaf) {
			t.done = append(t.done, leaf)
			t.out.note(leaf, Unmapped, "%s: a field pylonctl does not know (a newer MetalLB?); not carried over", t.value(leaf))
		}
	}
}

func (t *tracker) covered(path string) bool {
	return slices.ContainsFunc(t.done, func(d string) bool {
		return path == d || strings.HasPrefix(path, d+".") || strings.HasPrefix(path, d+"[")
	})
}

// leaves lists the paths of the non-empty leaves of v, maps in key order.
func leaves(path string, v any) []string {
	switch c := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(c))
		for k := range c {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var out []string
		for _, k := range keys {
			out = append(out, leaves(path+"."+k, c[k])...)
		}
		return out
	case []any:
		var out []string
		for i, e := range c {
			out = append(out, leaves(fmt.Sprintf("%s[%d]", path, i), e)...)
		}
		return out
	}
	if empty(v) {
		return nil
	}
	return []string{path}
}

// empty reports whether v is a zero value as MetalLB's omitempty fields
// would leave it: nil, "", false, 0, or an empty list or map.
func empty(v any) bool {
	switch c := v.(type) {
	case nil:
		return true
	case string:
		return c == ""
	case bool:
		return !c
	case int64:
		return c == 0
	case float64:
		return c == 0
	case map[string]any:
		return len(c) == 0
	case []any:
		return len(c) == 0
	}
	return false
}
