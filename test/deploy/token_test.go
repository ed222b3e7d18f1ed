package deploy

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/envtest"
)

// podBoundToken checks the admission policy with the token a kubelet
// would mount in a speaker pod on n1: no impersonation, the API server's
// own ServiceAccount authenticator puts the node name in the user's extra.
func podBoundToken(ctx context.Context, t *testing.T, env *envtest.Env) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pylon-speaker-n1", Namespace: pylonNS},
		Spec: corev1.PodSpec{
			NodeName: node1, ServiceAccountName: "pylon-speaker", HostNetwork: true,
			Containers: []corev1.Container{{Name: "speaker", Image: "registry.invalid/pylon-speaker"}},
		},
	}
	if err := env.Client.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	token := requestToken(ctx, t, env, pylonNS, "pylon-speaker", &authnv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID})
	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = token

	cs := kubernetes.NewForConfigOrDie(cfg)
	who, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := who.Status.UserInfo; u.Username != speakerUser || len(u.Extra[nodeNameExtra]) != 1 || u.Extra[nodeNameExtra][0] != node1 {
		t.Fatalf("the pod-bound token authenticates as %+v, want %s with %s=%s", u, speakerUser, nodeNameExtra, node1)
	}
	c := newClient(t, env, cfg)
	status := client.RawPatch(types.MergePatchType, []byte(`{"status":{"membersAlive":1}}`))
	if err := c.Status().Patch(ctx, &v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: node1}}, status); err != nil {
		t.Errorf("speaker on n1 patches its own SpeakerStatus with its pod token: %v", err)
	}
	envtest.WantForbidden(t, "speaker on n1 patches SpeakerStatus n2 with its pod token",
		c.Status().Patch(ctx, &v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}, status), ownStatusRefusal)
}

// metricsAuth scrapes the controller's HTTPS metrics: no token is
// unauthorized, a token without pylon-metrics-reader is forbidden, one
// bound to it is served. The controller checks each with a TokenReview and
// a SubjectAccessReview under its own ServiceAccount.
func metricsAuth(ctx context.Context, t *testing.T, env *envtest.Env, addr string) {
	const ns = "monitoring"
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "prometheus", Namespace: ns}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nobody", Namespace: ns}},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "prometheus-pylon"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "pylon-metrics-reader"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "prometheus", Namespace: ns}},
		},
	} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	prom := requestToken(ctx, t, env, ns, "prometheus", nil)
	nobody := requestToken(ctx, t, env, ns, "nobody", nil)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		// controller-runtime serves a self-signed certificate.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a test against a self-signed server
	}}
	get := func(token string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("scrape: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _ := get(nobody); code != http.StatusForbidden {
		t.Errorf("token without pylon-metrics-reader: %d, want 403", code)
	}
	if code, body := get(prom); code != http.StatusOK || !strings.Contains(body, "controller_runtime_reconcile_total") {
		t.Errorf("token bound to pylon-metrics-reader: %d, want 200 with controller-runtime's metrics:\n%.300s", code, body)
	}
}

// requestToken gets a token for a ServiceAccount, bound to ref when given.
func requestToken(ctx context.Context, t *testing.T, env *envtest.Env, ns, sa string, ref *authnv1.BoundObjectReference) string {
	t.Helper()
	if ref == nil {
		// The API server refuses tokens for a ServiceAccount that does
		// not exist, and the ServiceAccount admission plugin is off here.
		if err := env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: sa}, &corev1.ServiceAccount{}); err != nil {
			t.Fatal(err)
		}
	}
	cs := kubernetes.NewForConfigOrDie(env.Config)
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(int64(600)), BoundObjectRef: ref,
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s/%s: %v", ns, sa, err)
	}
	return tr.Status.Token
}
