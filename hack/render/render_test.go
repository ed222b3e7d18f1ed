package main

import (
	"bytes"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestFillReplacesEveryKindOfHole(t *testing.T) {
	tp := &tpl{}
	m := map[string]any{
		"name":  tp.str("plain", "{{ .Values.name | quote }}"),
		"port":  tp.num(7946, "{{ .Values.port }}"),
		"args":  toAnyList(tp.items(opt{value: "--always"}, opt{value: "--class=x", cond: ".Values.class", text: `{{ .Values.class | quote }}`})),
		"spec":  map[string]any{"nodeSelector": tp.block(".Values.nodeSelector")},
		"fixed": 8080,
	}
	y, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tp.fill(y)
	if err != nil {
		t.Fatal(err)
	}
	want := `args:
- --always
{{- if .Values.class }}
- {{ .Values.class | quote }}
{{- end }}
fixed: 8080
name: {{ .Values.name | quote }}
port: {{ .Values.port }}
spec:
  nodeSelector: {{- toYaml .Values.nodeSelector | nindent 4 }}
`
	if string(got) != want {
		t.Errorf("fill:\n%s\nwant:\n%s", got, want)
	}
}

func TestPlainValuesNeedNoTemplate(t *testing.T) {
	var tp *tpl
	if got := tp.str("a", "{{ x }}"); got != "a" {
		t.Errorf("str = %q", got)
	}
	if got := tp.num(3, "{{ x }}"); got != 3 {
		t.Errorf("num = %d", got)
	}
	got := tp.items(opt{value: "on", on: true, cond: "c"}, opt{value: "off", cond: "c"}, opt{value: "always"})
	if strings.Join(got, ",") != "on,always" {
		t.Errorf("items = %v", got)
	}
	y := []byte("a: b\n")
	if out, err := tp.fill(y); err != nil || !bytes.Equal(out, y) {
		t.Errorf("fill = %q, %v", out, err)
	}
}

func TestFillRefusesMisplacedMarkers(t *testing.T) {
	tp := &tpl{}
	item := tp.items(opt{value: "x", cond: "c"})[0]
	block := tp.block(".Values.b")
	for name, doc := range map[string]map[string]any{
		"item as a mapping value": {"k": item},
		"block as a list item":    {"k": []any{block}},
	} {
		y, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := tp.fill(y); err == nil {
			t.Errorf("%s: fill accepted it:\n%s", name, out)
		}
	}
}

// The real inputs render; the plain manifests hold no template and the
// chart no unreplaced marker.
func TestRenderRealInputs(t *testing.T) {
	in, err := readInputs("../../deploy/crds", "../../deploy/rbac")
	if err != nil {
		t.Fatal(err)
	}
	files, err := render(in)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		s := string(data)
		if strings.Contains(s, "@@pylon:") {
			t.Errorf("%s: a marker survived", name)
		}
		isChart := strings.HasPrefix(name, chartDir+"/templates/")
		if !isChart && strings.Contains(s, "{{") {
			t.Errorf("%s: a template in a plain manifest", name)
		}
	}
	for _, want := range []string{allInOne, kustomizeDir + "/kustomization.yaml", chartDir + "/Chart.yaml", chartDir + "/values.yaml", chartDir + "/templates/speaker.yaml"} {
		if _, ok := files[want]; !ok {
			t.Errorf("render wrote no %s", want)
		}
	}
	if _, ok := files[kustomizeDir+"/monitoring.yaml"]; ok {
		t.Error("the kustomize base holds a ServiceMonitor, which is off by default")
	}
}

func TestValueDocsNameRealValues(t *testing.T) {
	y, err := valuesYAML(Defaults())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(y), "# TCP and UDP on every node") {
		t.Errorf("values.yaml lacks its comments:\n%s", y)
	}
}

func toAnyList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
