package metallb

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/pylonlb/pylon/cmd/pylonctl/internal/manifests"
)

// ErrNoMetalLB is returned by Read when the cluster serves none of
// MetalLB's configuration kinds.
var ErrNoMetalLB = errors.New("the cluster serves no metallb.io configuration kind: is MetalLB installed?")

// metallbResources are read in this order; for BGPPeer the first version
// served is used (v1beta2 is MetalLB's storage version).
func metallbResources() [][]schema.GroupVersionResource {
	gvr := func(v, r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: Group, Version: v, Resource: r}
	}
	return [][]schema.GroupVersionResource{
		{gvr("v1beta1", "ipaddresspools")},
		{gvr("v1beta1", "l2advertisements")},
		{gvr("v1beta1", "bgpadvertisements")},
		{gvr("v1beta2", "bgppeers"), gvr("v1beta1", "bgppeers")},
		{gvr("v1beta1", "communities")},
		{gvr("v1beta1", "bfdprofiles")},
	}
}

// Read reads from a cluster what Convert needs: MetalLB's configuration in
// namespace ns (MetalLB reads only its own namespace), the Secrets its
// BGPPeers name, and every Service and Namespace.
func Read(ctx context.Context, dyn dynamic.Interface, kube kubernetes.Interface, ns string) ([]manifests.Object, error) {
	var out []manifests.Object
	served := 0
	for _, versions := range metallbResources() {
		for _, gvr := range versions {
			list, err := dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
			if apierrors.IsNotFound(err) {
				continue // not served: an older MetalLB, or this version is not
			}
			if err != nil {
				return nil, fmt.Errorf("list %s in %s: %w", gvr.GroupResource(), ns, err)
			}
			served++
			for _, it := range list.Items {
				out = append(out, manifests.Object{Unstructured: it, Source: "cluster"})
			}
			break
		}
	}
	if served == 0 {
		return nil, ErrNoMetalLB
	}
	secrets, err := peerSecrets(ctx, kube, ns, out)
	if err != nil {
		return nil, err
	}
	out = append(out, secrets...)

	more, err := ReadServices(ctx, kube)
	if err != nil {
		return nil, err
	}
	return append(out, more...), nil
}

// ReadServices reads every Service and Namespace of a cluster: what Convert
// needs for the Service changes alone.
func ReadServices(ctx context.Context, kube kubernetes.Interface) ([]manifests.Object, error) {
	var out []manifests.Object
	svcs, err := kube.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	for i := range svcs.Items {
		o, err := typed(&svcs.Items[i], "Service")
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	nss, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	for i := range nss.Items {
		o, err := typed(&nss.Items[i], "Namespace")
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// peerSecrets gets the Secrets that BGPPeers name in passwordSecret; one
// that does not exist is left for Convert to report.
func peerSecrets(ctx context.Context, kube kubernetes.Interface, ns string, objs []manifests.Object) ([]manifests.Object, error) {
	var out []manifests.Object
	seen := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() != KindBGPPeer {
			continue
		}
		name, _, _ := unstructured.NestedString(o.Object, "spec", "passwordSecret", "name")
		from, _, _ := unstructured.NestedString(o.Object, "spec", "passwordSecret", "namespace")
		if from == "" {
			from = ns
		}
		if name == "" || seen[from+"/"+name] {
			continue
		}
		seen[from+"/"+name] = true
		sec, err := kube.CoreV1().Secrets(from).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get secret %s/%s: %w", from, name, err)
		}
		o, err := typed(sec, "Secret")
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// typed turns a core object read with the typed client into an Object.
func typed(obj runtime.Object, kind string) (manifests.Object, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return manifests.Object{}, err
	}
	u := unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
	return manifests.Object{Unstructured: u, Source: "cluster"}, nil
}
