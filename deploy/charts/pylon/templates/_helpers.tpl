{{/*
pylon.fullname: the prefix of every object's name, fullnameOverride or
else "pylon". It does not follow the release name: the names are those of
deploy/pylon.yaml whatever the release is called, so that upgrades keep
every object. Two installations (in two namespaces) need two of them for
their cluster-scoped objects (ClusterRoles, bindings, admission policy).
*/}}
{{- define "pylon.fullname" -}}
{{- .Values.fullnameOverride | default "pylon" }}
{{- end }}

{{/*
pylon.name: the name of a component's objects, <fullname>-<component>;
the argument is a dict with the chart's root ("root") and the component
("component": "controller", "speaker", "metrics-reader", ...).
*/}}
{{- define "pylon.name" -}}
{{ include "pylon.fullname" .root }}-{{ .component }}
{{- end }}

{{/*
pylon.selectorLabels: the labels that select a component's pods; the
argument is the component ("controller", "speaker", "metrics"). They never
change: a Deployment's and a DaemonSet's selector cannot be changed on
upgrade, and pylonctl finds the pods by them.
*/}}
{{- define "pylon.selectorLabels" -}}
app.kubernetes.io/name: pylon
app.kubernetes.io/component: {{ . }}
{{- end }}

{{/*
pylon.commonLabels: Kubernetes' recommended labels and Helm's chart label,
on every object and pod. hack/manifests leaves the two that say Helm
(managed-by, helm.sh/chart) out of deploy/pylon.yaml, which kubectl
installs. The argument is the chart's root.
*/}}
{{- define "pylon.commonLabels" -}}
app.kubernetes.io/name: pylon
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
pylon.labels: the labels of a component's objects and pods: the common
labels and the component. The argument is a dict with the chart's root
("root") and the component ("component").
*/}}
{{- define "pylon.labels" -}}
{{ include "pylon.commonLabels" .root }}
app.kubernetes.io/component: {{ .component }}
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
- {{ printf "--memberlist-key-secret=%s" (include "pylon.keySecretName" .root) | quote }}
- {{ printf "--zap-log-level=%v" $v.logLevel | quote }}
{{- if $v.loadBalancerClass }}
- {{ printf "--load-balancer-class=%s" $v.loadBalancerClass | quote }}
{{- end }}
{{- end }}

{{/*
pylon.keySecretName: the memberlist key Secret's name, memberlist.keySecretName
or else <fullname>-memberlist. The argument is the chart's root.
*/}}
{{- define "pylon.keySecretName" -}}
{{ .Values.memberlist.keySecretName | default (printf "%s-memberlist" (include "pylon.fullname" .)) }}
{{- end }}

{{/*
pylon.podMetadata: a component's pod template metadata: its labels and
podAnnotations. The argument is a dict with the chart's root ("root") and
the component ("component", whose values are .Values.<component>).
*/}}
{{- define "pylon.podMetadata" -}}
{{- $c := get .root.Values .component -}}
labels:
  {{- include "pylon.labels" . | nindent 2 }}
{{- with $c.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
pylon.scheduling: a component's pod spec fields for where and how it is
scheduled and pulled: imagePullSecrets, priorityClassName, nodeSelector,
tolerations and affinity, each left out when empty. The argument is a dict
with the chart's root ("root") and the component ("component").
*/}}
{{- define "pylon.scheduling" -}}
{{- $c := get .root.Values .component -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
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
  periodSeconds: 1
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
