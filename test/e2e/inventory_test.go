package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/lab"
)

// inventory is every object of a cluster, by UID: what discovery lists,
// every resource type that can be listed, namespaced and cluster-scoped.
type inventory map[types.UID]invObject

// invObject is what an inventory keeps of one object.
type invObject struct {
	// resource is "<resource>.<group>" ("secrets" for the core group).
	resource, namespace, name string
	labels, annotations       map[string]string
	// managers are the field managers of the object itself (not of a
	// subresource such as status): who wrote its metadata or spec.
	managers []string
}

func (o invObject) String() string {
	if o.namespace == "" {
		return o.resource + "/" + o.name
	}
	return o.resource + "/" + o.namespace + "/" + o.name
}

// takeInventory lists every object of every listable resource type the API
// server serves (its preferred version of each group; the same object
// served by two groups, as Events are, is kept once).
func takeInventory(ctx context.Context, t testing.TB, l *lab.Lab) inventory {
	t.Helper()
	cfg := rest.CopyConfig(l.API.Config)
	cfg.WarningHandler = rest.NoWarnings{} // deprecated kinds are listed too
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lists, err := dc.ServerPreferredResources()
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	inv := inventory{}
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range list.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") {
				continue
			}
			objs, err := mc.Resource(gv.WithResource(r.Name)).List(ctx, metav1.ListOptions{})
			if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
				continue // a CRD deleted since discovery
			}
			if err != nil {
				t.Fatalf("list %s %s: %v", gv, r.Name, err)
			}
			res := r.Name
			if gv.Group != "" {
				res += "." + gv.Group
			}
			for _, o := range objs.Items {
				if _, seen := inv[o.UID]; seen {
					continue
				}
				var managers []string
				for _, m := range o.ManagedFields {
					if m.Subresource == "" && !slices.Contains(managers, m.Manager) {
						managers = append(managers, m.Manager)
					}
				}
				inv[o.UID] = invObject{
					resource: res, namespace: o.Namespace, name: o.Name,
					labels: o.Labels, annotations: o.Annotations, managers: managers,
				}
			}
		}
	}
	return inv
}

// notPylonManagers are the field managers that are not pylon and not
// Helm: the test itself and the cluster's own components. An object whose
// every writer is one of them was made by someone else (the test's
// backend, its Services and their EndpointSlices).
var notPylonManagers = []string{"e2e.test", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kube-apiserver"}

// pylonsSince lists the objects of now that before did not have (by UID)
// and that are pylon's, by any of: in pylon's namespace, of pylon's API
// group, labelled or annotated as pylon's or the Helm release's, or
// written by anyone but the test and the cluster's own components (so an
// object pylon made at run time counts whatever its labels). The others
// are returned apart, as strings.
func pylonsSince(before, now inventory) (pylons []invObject, others []string) {
	for uid, o := range now {
		if _, old := before[uid]; old {
			continue
		}
		if isPylons(o) {
			pylons = append(pylons, o)
		} else {
			others = append(others, o.String())
		}
	}
	slices.SortFunc(pylons, func(a, b invObject) int { return strings.Compare(a.String(), b.String()) })
	slices.Sort(others)
	return pylons, others
}

func isPylons(o invObject) bool {
	if o.resource == "configmaps" && o.name == "kube-root-ca.crt" {
		return false // kube-controller-manager's, in every namespace
	}
	if o.namespace == pylonNS || strings.HasSuffix(o.resource, "."+v1alpha1.GroupVersion().Group) {
		return true
	}
	for k, v := range o.labels {
		if v == "pylon" || k == "app.kubernetes.io/managed-by" {
			return true
		}
	}
	for k := range o.annotations {
		if strings.HasPrefix(k, "meta.helm.sh/") || strings.HasPrefix(k, "helm.sh/") {
			return true
		}
	}
	for _, m := range o.managers {
		if !slices.Contains(notPylonManagers, m) {
			return true
		}
	}
	return false
}

// leftovers splits pylon's objects into those keep accepts (with its
// reason) and the rest, each as a string.
func leftovers(pylons []invObject, keep func(invObject) string) (kept map[string][]string, left []string) {
	kept = map[string][]string{}
	for _, o := range pylons {
		if why := keep(o); why != "" {
			kept[why] = append(kept[why], o.String())
			continue
		}
		left = append(left, fmt.Sprintf("%s (labels %v, annotations %v, written by %v)", o, o.labels, slices.Sorted(maps.Keys(o.annotations)), o.managers))
	}
	return kept, left
}
