package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// tpl collects the chart's template holes while objects are built. A nil
// *tpl builds the plain manifests: every method then returns its plain
// value. All methods are nil-safe.
type tpl struct {
	holes []hole
}

type holeKind int

const (
	// scalarHole: a whole YAML scalar is replaced by text.
	scalarHole holeKind = iota
	// itemHole: a list item kept only when cond holds.
	itemHole
	// blockHole: a mapping value replaced by a block of YAML (toYaml).
	blockHole
)

type hole struct {
	kind holeKind
	// text is the template that replaces the marker: the scalar's value,
	// the item's value, or the expression a block is made of.
	text string
	// cond guards an item.
	cond string
}

// markerRE finds the string markers in marshalled YAML, quoted as YAML
// quotes them (a leading @ must be quoted).
var markerRE = regexp.MustCompile(`'@@pylon:(\d+)@@'`)

// numberBase is where the numeric markers start: far above any port or
// replica count that appears in a manifest.
const numberBase = 1_700_000_000

// numberRE finds numeric markers.
var numberRE = regexp.MustCompile(`\b17000\d{5}\b`)

func (t *tpl) add(h hole) int {
	t.holes = append(t.holes, h)
	return len(t.holes) - 1
}

func marker(i int) string { return fmt.Sprintf("@@pylon:%d@@", i) }

// str returns plain, or in the chart a marker that becomes text, a
// complete template for the scalar (quote strings: {{ .Values.x | quote }}).
func (t *tpl) str(plain, text string) string {
	if t == nil {
		return plain
	}
	return marker(t.add(hole{kind: scalarHole, text: text}))
}

// num is str for an int32 field; text must render a number.
func (t *tpl) num(plain int32, text string) int32 {
	if t == nil {
		return plain
	}
	return int32(numberBase + t.add(hole{kind: scalarHole, text: text}))
}

// opt is a list item present only when a condition holds.
type opt struct {
	// value is the item in the plain manifests; on says whether the
	// defaults include it.
	value string
	on    bool
	// cond is the chart's condition; text the chart's template for the
	// value ("" means value, quoted).
	cond, text string
}

// items returns the plain values whose condition holds; in the chart every
// item, each guarded by its condition. Items without cond are always there.
func (t *tpl) items(opts ...opt) []string {
	var out []string
	for _, o := range opts {
		switch {
		case t == nil && (o.on || o.cond == ""):
			out = append(out, o.value)
		case t == nil:
		case o.cond == "" && o.text == "":
			out = append(out, o.value)
		case o.cond == "":
			out = append(out, t.str(o.value, o.text))
		default:
			text := o.text
			if text == "" {
				text = strconv.Quote(o.value)
			}
			out = append(out, marker(t.add(hole{kind: itemHole, text: text, cond: o.cond})))
		}
	}
	return out
}

// block returns plain, or in the chart a marker that becomes the block
// toYaml(expr) at the key it is stored under. The marker must be stored
// as the value of a mapping key, by setPath on the unstructured object.
func (t *tpl) block(expr string) string {
	return marker(t.add(hole{kind: blockHole, text: expr}))
}

// fill replaces the markers in marshalled YAML with their templates.
func (t *tpl) fill(y []byte) ([]byte, error) {
	if t == nil {
		return y, nil
	}
	var out []string
	for _, line := range strings.Split(string(y), "\n") {
		m := markerRE.FindStringSubmatchIndex(line)
		if m == nil {
			out = append(out, numberRE.ReplaceAllStringFunc(line, func(s string) string {
				n, _ := strconv.Atoi(s)
				if i := n - numberBase; i >= 0 && i < len(t.holes) {
					return t.holes[i].text
				}
				return s
			}))
			continue
		}
		i, _ := strconv.Atoi(line[m[2]:m[3]])
		if i >= len(t.holes) {
			return nil, fmt.Errorf("unknown marker %d in %q", i, line)
		}
		h := t.holes[i]
		indent := len(line) - len(strings.TrimLeft(line, " "))
		pad := strings.Repeat(" ", indent)
		switch h.kind {
		case scalarHole:
			out = append(out, line[:m[0]]+h.text+line[m[1]:])
		case itemHole:
			if !strings.HasPrefix(strings.TrimLeft(line, " "), "- '@@") {
				return nil, fmt.Errorf("marker %d of a list item stands in %q", i, line)
			}
			out = append(out, pad+"{{- if "+h.cond+" }}", line[:m[0]]+h.text+line[m[1]:], pad+"{{- end }}")
		case blockHole:
			key := strings.TrimSuffix(strings.TrimSpace(line[:m[0]]), ":")
			if key == "" || strings.HasPrefix(key, "-") {
				return nil, fmt.Errorf("marker %d of a block must be a mapping value, stands in %q", i, line)
			}
			out = append(out, fmt.Sprintf("%s%s: {{- toYaml %s | nindent %d }}", pad, key, h.text, indent+2))
		}
	}
	s := strings.Join(out, "\n")
	if strings.Contains(s, "@@pylon:") || numberRE.MatchString(s) {
		return nil, fmt.Errorf("a marker survived: %s", s)
	}
	return []byte(s), nil
}
