package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/client-go/rest"
)

// writeVerbs are the apiserver_request_total verbs that write.
var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true, "APPLY": true}

// writes is a reading of the API server's write counters
// (apiserver_request_total over writeVerbs), by resource.
type writes struct {
	// byResource counts writes per "resource" or "resource/subresource",
	// whatever the response code.
	byResource map[string]float64
	// failed counts writes answered with a code that is not 2xx, by
	// "resource[/subresource] code".
	failed map[string]float64
}

// Total is the sum over all resources.
func (w writes) Total() float64 {
	var t float64
	for _, v := range w.byResource {
		t += v
	}
	return t
}

// Of is the count for "resource" or "resource/subresource".
func (w writes) Of(key string) float64 { return w.byResource[key] }

// Minus is w - before.
func (w writes) Minus(before writes) writes {
	return writes{byResource: minus(w.byResource, before.byResource), failed: minus(w.failed, before.failed)}
}

func minus(a, b map[string]float64) map[string]float64 {
	d := map[string]float64{}
	for k, v := range a {
		if v -= b[k]; v != 0 {
			d[k] = v
		}
	}
	return d
}

// Summary writes "2000 (services 1000, services/status 1000); not 2xx:
// ippools/status 1", largest first.
func (w writes) Summary() string {
	s := fmt.Sprintf("%.0f", w.Total())
	if len(w.byResource) > 0 {
		s += " (" + byCount(w.byResource) + ")"
	}
	if len(w.failed) > 0 {
		s += "; not 2xx: " + byCount(w.failed)
	}
	return s
}

// byCount writes "services 1000, events 12", largest first.
func byCount(m map[string]float64) string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		if m[a] != m[b] {
			if m[a] < m[b] {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// scrapeWrites reads the API server's own /metrics through rc (an admin
// client) and sums its write counters.
func scrapeWrites(ctx context.Context, rc rest.Interface) (writes, error) {
	body, err := rc.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return writes{}, fmt.Errorf("GET /metrics from the API server: %w", err)
	}
	return parseWrites(body)
}

// parseWrites sums apiserver_request_total samples of write verbs in the
// Prometheus text format.
func parseWrites(body []byte) (writes, error) {
	w := writes{byResource: map[string]float64{}, failed: map[string]float64{}}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	const name = "apiserver_request_total{"
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		labels, value, err := parseSample(line[len(name):])
		if err != nil {
			return w, fmt.Errorf("metrics line %q: %w", line, err)
		}
		if !writeVerbs[labels["verb"]] {
			continue
		}
		key := labels["resource"]
		if sub := labels["subresource"]; sub != "" {
			key += "/" + sub
		}
		w.byResource[key] += value
		if !strings.HasPrefix(labels["code"], "2") {
			w.failed[key+" "+labels["code"]] += value
		}
	}
	return w, sc.Err()
}

// parseSample reads `a="x",b="y"} 12` (the part after the metric name's
// brace): the labels and the value.
func parseSample(s string) (map[string]string, float64, error) {
	labels := map[string]string{}
	for {
		if strings.HasPrefix(s, "}") {
			s = s[1:]
			break
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 || len(s) < eq+2 || s[eq+1] != '"' {
			return nil, 0, fmt.Errorf("malformed label at %q", s)
		}
		key := s[:eq]
		s = s[eq+2:]
		var val strings.Builder
		for i := 0; ; i++ {
			if i >= len(s) {
				return nil, 0, fmt.Errorf("unterminated value of label %s", key)
			}
			if s[i] == '\\' && i+1 < len(s) {
				i++
				val.WriteByte(s[i])
				continue
			}
			if s[i] == '"' {
				s = s[i+1:]
				break
			}
			val.WriteByte(s[i])
		}
		labels[key] = val.String()
		s = strings.TrimPrefix(s, ",")
	}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, 0, fmt.Errorf("no value")
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	return labels, v, err
}
