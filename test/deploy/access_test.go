package deploy

import (
	"context"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/rest"

	"github.com/pylonlb/pylon/test/envtest"
)

// Identities of pylon's ServiceAccounts as the API server sees them.
const (
	controllerUser = "system:serviceaccount:" + pylonNS + ":pylon-controller"
	speakerUser    = "system:serviceaccount:" + pylonNS + ":pylon-speaker"
	// nodeNameExtra is the user extra of a pod-bound token naming its node.
	nodeNameExtra = "authentication.kubernetes.io/node-name"
)

// saGroups are the groups of a ServiceAccount in pylon-system.
func saGroups() []string {
	return []string{"system:serviceaccounts", "system:serviceaccounts:" + pylonNS, "system:authenticated"}
}

// as is env's admin configuration impersonating user with the groups of a
// ServiceAccount in pylon-system and, when node is set, the node-name extra
// a kubelet-mounted token carries.
func as(env *envtest.Env, user, node string) *rest.Config {
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: saGroups()}
	if node != "" {
		cfg.Impersonate.Extra = map[string][]string{nodeNameExtra: {node}}
	}
	return cfg
}

// access is one request a component makes, or must not be able to make.
type access struct{ verb, group, resource, sub, ns string }

// controllerMay is what the controller's code does (controller/rbac.go).
func controllerMay() []access {
	return []access{
		{"list", "", "services", "", ""}, {"watch", "", "services", "", ""},
		{"patch", "", "services", "status", "default"},
		{"list", "", "namespaces", "", ""}, {"watch", "", "namespaces", "", ""},
		{"list", "", "nodes", "", ""}, {"watch", "", "nodes", "", ""},
		{"list", "networking.k8s.io", "servicecidrs", "", ""}, {"watch", "networking.k8s.io", "servicecidrs", "", ""},
		{"list", "pylonlb.io", "ippools", "", ""}, {"watch", "pylonlb.io", "bgppeers", "", ""},
		{"patch", "pylonlb.io", "ippools", "status", ""}, {"patch", "pylonlb.io", "l2advertisements", "status", ""},
		{"patch", "pylonlb.io", "bgppeers", "status", ""}, {"patch", "pylonlb.io", "bgpadvertisements", "status", ""},
		{"list", "pylonlb.io", "speakerstatuses", "", ""}, {"watch", "pylonlb.io", "speakerstatuses", "", ""},
		{"create", "events.k8s.io", "events", "", "default"}, {"patch", "events.k8s.io", "events", "", "team-a"},
		{"list", "", "secrets", "", pylonNS}, {"watch", "", "secrets", "", pylonNS}, {"create", "", "secrets", "", pylonNS},
		{"get", "coordination.k8s.io", "leases", "", pylonNS}, {"create", "coordination.k8s.io", "leases", "", pylonNS},
		{"update", "coordination.k8s.io", "leases", "", pylonNS}, {"create", "", "events", "", pylonNS},
		{"create", "authentication.k8s.io", "tokenreviews", "", ""}, {"create", "authorization.k8s.io", "subjectaccessreviews", "", ""},
	}
}

// controllerMayNot are near misses of what it does.
func controllerMayNot() []access {
	return []access{
		{"patch", "", "services", "", "default"}, {"update", "", "services", "", "default"}, {"delete", "", "services", "", "default"},
		{"update", "", "services", "status", "default"}, {"get", "", "services", "", "default"},
		{"list", "", "secrets", "", "default"}, {"get", "", "secrets", "", "kube-system"}, {"list", "", "secrets", "", ""},
		{"update", "", "secrets", "", pylonNS}, {"delete", "", "secrets", "", pylonNS}, {"get", "", "secrets", "", pylonNS},
		{"patch", "pylonlb.io", "ippools", "", ""}, {"delete", "pylonlb.io", "ippools", "", ""}, {"create", "pylonlb.io", "ippools", "", ""},
		{"create", "pylonlb.io", "speakerstatuses", "", ""}, {"patch", "pylonlb.io", "speakerstatuses", "status", ""},
		{"list", "", "pods", "", ""}, {"get", "", "nodes", "", ""}, {"patch", "", "nodes", "", ""}, {"list", "discovery.k8s.io", "endpointslices", "", ""},
		{"create", "networking.k8s.io", "servicecidrs", "", ""}, {"get", "networking.k8s.io", "servicecidrs", "", ""},
		{"create", "coordination.k8s.io", "leases", "", "default"}, {"delete", "coordination.k8s.io", "leases", "", pylonNS},
		{"create", "", "events", "", "default"},
	}
}

// speakerMay is what the speaker's code does (speaker/rbac.go).
func speakerMay() []access {
	return []access{
		{"list", "", "services", "", ""}, {"watch", "", "services", "", ""},
		{"list", "discovery.k8s.io", "endpointslices", "", ""}, {"watch", "discovery.k8s.io", "endpointslices", "", ""},
		{"get", "", "nodes", "", ""}, {"list", "", "nodes", "", ""}, {"watch", "", "nodes", "", ""},
		{"list", "pylonlb.io", "ippools", "", ""}, {"watch", "pylonlb.io", "l2advertisements", "", ""},
		{"list", "pylonlb.io", "bgppeers", "", ""}, {"list", "pylonlb.io", "bgpadvertisements", "", ""},
		{"list", "pylonlb.io", "speakerstatuses", "", ""}, {"watch", "pylonlb.io", "speakerstatuses", "", ""},
		{"create", "pylonlb.io", "speakerstatuses", "", ""}, {"patch", "pylonlb.io", "speakerstatuses", "", ""},
		{"patch", "pylonlb.io", "speakerstatuses", "status", ""},
		{"create", "events.k8s.io", "events", "", "default"}, {"patch", "events.k8s.io", "events", "", "team-a"},
		{"get", "", "secrets", "", pylonNS}, {"list", "", "secrets", "", pylonNS}, {"watch", "", "secrets", "", pylonNS},
		{"create", "authentication.k8s.io", "tokenreviews", "", ""}, {"create", "authorization.k8s.io", "subjectaccessreviews", "", ""},
	}
}

// speakerMayNot: above all it never writes a Service, and never reads
// Secrets outside pylon-system.
func speakerMayNot() []access {
	return []access{
		{"patch", "", "services", "", "default"}, {"update", "", "services", "", "default"}, {"patch", "", "services", "status", "default"},
		{"update", "", "services", "status", "default"}, {"get", "", "services", "", "default"}, {"delete", "", "services", "", "default"},
		{"get", "", "secrets", "", "default"}, {"list", "", "secrets", "", "kube-system"}, {"list", "", "secrets", "", ""},
		{"create", "", "secrets", "", pylonNS}, {"update", "", "secrets", "", pylonNS},
		{"update", "pylonlb.io", "speakerstatuses", "", ""}, {"delete", "pylonlb.io", "speakerstatuses", "", ""},
		{"update", "pylonlb.io", "speakerstatuses", "status", ""}, {"patch", "pylonlb.io", "ippools", "status", ""},
		{"patch", "pylonlb.io", "ippools", "", ""}, {"patch", "", "nodes", "", ""}, {"list", "", "pods", "", ""},
		{"get", "coordination.k8s.io", "leases", "", pylonNS}, {"list", "", "namespaces", "", ""},
	}
}

// checkAccess asks the API server's authorizer (SubjectAccessReview, as
// admin) whether user may do each of may and none of mayNot.
func checkAccess(ctx context.Context, t *testing.T, env *envtest.Env, user string, may, mayNot []access) {
	t.Helper()
	for _, c := range []struct {
		list []access
		want bool
	}{{may, true}, {mayNot, false}} {
		for _, a := range c.list {
			r := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
				User: user, Groups: saGroups(),
				ResourceAttributes: &authzv1.ResourceAttributes{Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.sub, Namespace: a.ns},
			}}
			if err := env.Client.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
			if r.Status.Allowed != c.want {
				t.Errorf("%s %+v: allowed=%v, want %v (%s)", user, a, r.Status.Allowed, c.want, r.Status.Reason)
			}
		}
	}
}
