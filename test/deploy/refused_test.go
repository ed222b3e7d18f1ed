package deploy

import (
	"context"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/envtest"
)

// The policy's messages, as the API server returns them.
const (
	rbacRefusal      = "cannot"
	ownStatusRefusal = "may write only the SpeakerStatus " + node1
	noNodeRefusal    = "names no node"
)

func speakerRefused(ctx context.Context, t *testing.T, env *envtest.Env) {
	c := newClient(t, env, as(env, speakerUser, node1))
	spec := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"ports":[{"name":"http","port":8080,"protocol":"TCP"}]}}`))
	web := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}}
	envtest.WantForbidden(t, "speaker patches a Service's spec", c.Patch(ctx, web, spec), rbacRefusal)
	var svc corev1.Service
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(web), &svc); err != nil {
		t.Fatal(err)
	}
	svc.Spec.Ports[0].Port = 8080
	envtest.WantForbidden(t, "speaker updates a Service's spec", c.Update(ctx, &svc), rbacRefusal)
	ingress := client.RawPatch(types.MergePatchType, []byte(`{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.1"}]}}}`))
	envtest.WantForbidden(t, "speaker patches a Service's status", c.Status().Patch(ctx, web, ingress), rbacRefusal)

	// Another node's SpeakerStatus: RBAC lets a speaker create and patch
	// SpeakerStatuses; the admission policy keeps it to its own.
	n2 := &v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}
	addr := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"memberlistAddress":"198.51.100.66:7946"}}`))
	envtest.WantForbidden(t, "speaker n1 patches SpeakerStatus n2", c.Patch(ctx, n2, addr), ownStatusRefusal)
	status := client.RawPatch(types.MergePatchType, []byte(`{"status":{"announced":7}}`))
	envtest.WantForbidden(t, "speaker n1 patches SpeakerStatus n2's status", c.Status().Patch(ctx, n2, status), ownStatusRefusal)
	n3 := &v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: "n3"}}
	envtest.WantForbidden(t, "speaker n1 creates SpeakerStatus n3", c.Create(ctx, n3), ownStatusRefusal)
	// Its own, but with verbs its code does not use.
	own := &v1alpha1.SpeakerStatus{}
	if err := env.Client.Get(ctx, types.NamespacedName{Name: node1}, own); err != nil {
		t.Fatal(err)
	}
	envtest.WantForbidden(t, "speaker updates (PUT) its SpeakerStatus", c.Update(ctx, own.DeepCopy()), rbacRefusal)
	envtest.WantForbidden(t, "speaker deletes its SpeakerStatus", c.Delete(ctx, own.DeepCopy()), rbacRefusal)
	// Without a node in its token it may write none.
	anon := newClient(t, env, as(env, speakerUser, ""))
	envtest.WantForbidden(t, "speaker without a node name patches SpeakerStatus n1", anon.Status().Patch(ctx, own.DeepCopy(), status), noNodeRefusal)

	// Secrets outside pylon-system.
	envtest.WantForbidden(t, "speaker reads a Secret in default", c.Get(ctx, types.NamespacedName{Namespace: "default", Name: "not-pylons"}, &corev1.Secret{}), rbacRefusal)
	envtest.WantForbidden(t, "speaker lists Secrets in kube-system", c.List(ctx, &corev1.SecretList{}, client.InNamespace("kube-system")), rbacRefusal)
	envtest.WantForbidden(t, "speaker lists Secrets cluster-wide", c.List(ctx, &corev1.SecretList{}), rbacRefusal)
	envtest.WantForbidden(t, "speaker writes a Secret in pylon-system", c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: pylonNS}}), rbacRefusal)

	// And the Service's address did not change on any of these.
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(web), &svc); err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Ports[0].Port != 80 || len(svc.Status.LoadBalancer.Ingress) != 1 || !netip.MustParseAddr(svc.Status.LoadBalancer.Ingress[0].IP).IsValid() {
		t.Errorf("Service changed: %+v %+v", svc.Spec.Ports, svc.Status.LoadBalancer)
	}
}

func controllerRefused(ctx context.Context, t *testing.T, env *envtest.Env) {
	c := newClient(t, env, as(env, controllerUser, ""))
	web := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}}
	spec := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"ports":[{"name":"http","port":8080,"protocol":"TCP"}]}}`))
	envtest.WantForbidden(t, "controller patches a Service's spec", c.Patch(ctx, web, spec), rbacRefusal)
	envtest.WantForbidden(t, "controller reads a Secret in default", c.Get(ctx, types.NamespacedName{Namespace: "default", Name: "not-pylons"}, &corev1.Secret{}), rbacRefusal)
	envtest.WantForbidden(t, "controller reads the key Secret by get", c.Get(ctx, types.NamespacedName{Namespace: pylonNS, Name: keySecret}, &corev1.Secret{}), rbacRefusal)
	envtest.WantForbidden(t, "controller deletes an IPPool", c.Delete(ctx, &v1alpha1.IPPool{ObjectMeta: metav1.ObjectMeta{Name: "rbac"}}), rbacRefusal)
	envtest.WantForbidden(t, "controller writes a SpeakerStatus", c.Create(ctx, &v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: "n9"}}), rbacRefusal)
	envtest.WantForbidden(t, "controller updates the key Secret", c.Update(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: keySecret, Namespace: pylonNS}}), rbacRefusal)
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
