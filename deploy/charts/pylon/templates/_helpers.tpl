{{/*
pylon.name: the name of a component's objects, pylon-<component>; the
argument is the component ("controller", "speaker").
*/}}
{{- define "pylon.name" -}}
pylon-{{ . }}
{{- end }}

{{/*
pylon.selectorLabels: the labels that select a component's pods; the
argument is the component ("controller", "speaker", "metrics").
*/}}
{{- define "pylon.selectorLabels" -}}
app.kubernetes.io/name: pylon
app.kubernetes.io/component: {{ . }}
{{- end }}

{{/*
pylon.labels: the labels of a component's objects and pods.
*/}}
{{- define "pylon.labels" -}}
{{ include "pylon.selectorLabels" . }}
{{- end }}

{{/*
pylon.image: a component's image, <repository>:<tag>, the tag being
image.tag or else the chart's appVersion. The argument is a dict with the
chart's root ("root") and the repository value ("repository").
*/}}
{{- define "pylon.image" -}}
{{ printf "%s:%s" .repository (.root.Values.image.tag | default .root.Chart.AppVersion) }}
{{- end }}

{{/*
pylon.args: the flags both commands take alike. The argument is a dict with
the chart's root ("root") and the component's metrics and health ports
("metricsPort", "healthPort"). With metrics off the metrics endpoint is
not served (--metrics-bind-address=0).
*/}}
{{- define "pylon.args" -}}
{{- $v := .root.Values -}}
- --health-probe-bind-address=:{{ .healthPort }}
- {{ printf "--metrics-bind-address=%s" (ternary (printf ":%v" .metricsPort) "0" $v.metrics.enabled) | quote }}
- {{ printf "--metrics-secure=%t" $v.metrics.secure | quote }}
- {{ printf "--memberlist-key-secret=%s" $v.memberlist.keySecretName | quote }}
- {{ printf "--zap-log-level=%v" $v.logLevel | quote }}
{{- if $v.loadBalancerClass }}
- {{ printf "--load-balancer-class=%s" $v.loadBalancerClass | quote }}
{{- end }}
{{- end }}

{{/*
pylon.probes: a container's liveness and readiness probes on its port
named healthz.
*/}}
{{- define "pylon.probes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: healthz
  initialDelaySeconds: 10
  periodSeconds: 10
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: healthz
  periodSeconds: 5
  failureThreshold: 3
{{- end }}

{{/*
pylon.generatedRules: the rules of the ClusterRole or the Role that
controller-gen wrote for a component from its +kubebuilder:rbac markers
(`make generate` copies deploy/rbac/<component>/role.yaml to
files/rbac/<component>/role.yaml). The argument is a dict with the chart's
Files ("Files"), the component ("component") and the kind ("kind").
Rendering fails when the file holds no such role, or a kind the chart does
not bind.
*/}}
{{- define "pylon.generatedRules" -}}
{{- $file := printf "files/rbac/%s/role.yaml" .component -}}
{{- $found := false -}}
{{- range regexSplit `(?m)^---[ \t]*$` (.Files.Get $file) -1 -}}
{{- $doc := fromYaml . -}}
{{- $kind := get $doc "kind" -}}
{{- if and $kind (not (has $kind (list "ClusterRole" "Role"))) -}}
{{- fail (printf "%s holds a %s; the chart binds a ClusterRole and a Role only" $file $kind) -}}
{{- end -}}
{{- if eq $kind $.kind -}}
{{- toYaml $doc.rules -}}
{{- $found = true -}}
{{- end -}}
{{- end -}}
{{- if not $found -}}
{{- fail (printf "%s holds no %s: run make generate" $file .kind) -}}
{{- end -}}
{{- end }}
