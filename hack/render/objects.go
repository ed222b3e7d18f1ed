package main

import (
	"fmt"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Names every manifest shares.
const (
	namespace      = "pylon-system"
	controllerName = "pylon-controller"
	speakerName    = "pylon-speaker"
	// metricsReader is the ClusterRole a Prometheus ServiceAccount is bound
	// to, to scrape the HTTPS metrics.
	metricsReader = "pylon-metrics-reader"
	// ownStatusPolicy is the ValidatingAdmissionPolicy (and its binding)
	// that keeps a speaker to its own node's SpeakerStatus.
	ownStatusPolicy = "pylon-speaker-own-speakerstatus"
	// nodeNameExtra is the user extra a pod-bound ServiceAccount token
	// carries with the pod's node (Kubernetes 1.30+, GA in 1.32).
	nodeNameExtra = "authentication.kubernetes.io/node-name"
)

// labels are the labels of a component's objects and pods.
func labels(component string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": "pylon", "app.kubernetes.io/component": component}
}

// ns is pylon's namespace: pylon-system, or the chart's release namespace.
func (t *tpl) ns() string { return t.str(namespace, "{{ .Release.Namespace | quote }}") }

// meta is the ObjectMeta of a namespaced object of component.
func (t *tpl) meta(name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: t.ns(), Labels: labels(component)}
}

// namespaceObject is pylon-system, for the plain manifests only (Helm
// installs into a namespace it is given). The speaker's host network and
// NET_RAW put its pods above Pod Security "baseline", so the namespace
// enforces "privileged"; the controller pods themselves meet "restricted"
// (test/deploy checks it).
func namespaceObject() *corev1.Namespace {
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "privileged",
	}}}
	n.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return n
}

func serviceAccount(t *tpl, name, component string) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: t.meta(name, component)}
	sa.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
	return sa
}

// roles turns controller-gen's roles for component into typed objects
// with pylon's labels, the Role in pylon's namespace, and binds each to
// the component's ServiceAccount under the same name.
func roles(t *tpl, generated []client.Object, name, component string) ([]client.Object, error) {
	var out []client.Object
	subject := func() []rbacv1.Subject {
		return []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: t.ns()}}
	}
	for _, o := range generated {
		switch r := o.(type) {
		case *rbacv1.ClusterRole:
			if r.Name != name {
				return nil, fmt.Errorf("controller-gen ClusterRole %q, want %q", r.Name, name)
			}
			cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels(component)}, Rules: r.Rules}
			cr.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("ClusterRole"))
			b := &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels(component)},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
				Subjects:   subject(),
			}
			b.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"))
			out = append(out, cr, b)
		case *rbacv1.Role:
			if r.Name != name || r.Namespace != namespace {
				return nil, fmt.Errorf("controller-gen Role %s/%s, want %s/%s", r.Namespace, r.Name, namespace, name)
			}
			role := &rbacv1.Role{ObjectMeta: t.meta(name, component), Rules: r.Rules}
			role.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("Role"))
			b := &rbacv1.RoleBinding{
				ObjectMeta: t.meta(name, component),
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
				Subjects:   subject(),
			}
			b.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("RoleBinding"))
			out = append(out, role, b)
		default:
			return nil, fmt.Errorf("controller-gen wrote a %T for %s", o, name)
		}
	}
	return out, nil
}

// metricsReaderRole may scrape both components' HTTPS metrics. Nothing is
// bound to it: bind the scraper's ServiceAccount (docs/install.md).
func metricsReaderRole() *rbacv1.ClusterRole {
	r := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: metricsReader, Labels: labels("metrics")},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}
	r.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("ClusterRole"))
	return r
}

// ownStatusPolicyObjects keep each speaker to its own SpeakerStatus, which
// RBAC cannot express: a create or update (patches included) of a
// SpeakerStatus or its status by the speaker's ServiceAccount is refused
// unless the object is named after the node in the token's node-name
// extra. Kubelet-issued tokens of a pod carry that extra; a token without
// it (a long-lived Secret token) is refused outright.
func ownStatusPolicyObjects(t *tpl) []client.Object {
	matchUser := t.str(fmt.Sprintf("request.userInfo.username == 'system:serviceaccount:%s:%s'", namespace, speakerName),
		`{{ printf "request.userInfo.username == 'system:serviceaccount:%s:`+speakerName+`'" .Release.Namespace | quote }}`)
	fail := admissionv1.Fail
	forbidden := metav1.StatusReasonForbidden
	p := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: ownStatusPolicy, Labels: labels("speaker")},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule: admissionv1.Rule{
						APIGroups: []string{"pylonlb.io"}, APIVersions: []string{"*"},
						Resources: []string{"speakerstatuses", "speakerstatuses/status"},
					},
				},
			}}},
			MatchConditions: []admissionv1.MatchCondition{{Name: "is-the-speaker", Expression: matchUser}},
			Variables: []admissionv1.Variable{{
				Name: "node",
				Expression: fmt.Sprintf("has(request.userInfo.extra) && '%[1]s' in request.userInfo.extra && size(request.userInfo.extra['%[1]s']) == 1 ? request.userInfo.extra['%[1]s'][0] : ''",
					nodeNameExtra),
			}},
			Validations: []admissionv1.Validation{{
				Expression: "variables.node != '' && object.metadata.name == variables.node",
				MessageExpression: "variables.node == '' ? 'the speaker token names no node (" + nodeNameExtra +
					"): use the pod-bound ServiceAccount token the kubelet mounts' : " +
					"'the speaker on node ' + variables.node + ' may write only the SpeakerStatus ' + variables.node + ', not ' + object.metadata.name",
				Reason: &forbidden,
			}},
		},
	}
	p.SetGroupVersionKind(admissionv1.SchemeGroupVersion.WithKind("ValidatingAdmissionPolicy"))
	b := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ownStatusPolicy, Labels: labels("speaker")},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        ownStatusPolicy,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
	b.SetGroupVersionKind(admissionv1.SchemeGroupVersion.WithKind("ValidatingAdmissionPolicyBinding"))
	return []client.Object{p, b}
}
