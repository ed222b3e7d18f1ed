// Package gen builds the objects pylon's tests make by hand, in the style of
// cert-manager's test/unit/gen: a builder per kind takes the names and
// modifiers, each modifier setting one thing.
//
//	svc := gen.Service("shop", "web", gen.LoadBalancer(), gen.WithPort("http", 80), gen.Annotated(k, v))
//	pool := gen.IPPool("default", gen.Addresses("198.51.100.0/24"), gen.AutoAssign(false))
//
// Builders return objects only: creating them in an API server stays with
// the caller or its harness. A modifier type is an alias of a plain func of
// the object, so that a test's own edit passes where a modifier does.
//
// It may import api/v1alpha1, Kubernetes' core API types, apimachinery and
// k8s.io/utils/ptr; never package testing, so that the lab (test/lab, linked
// by cmd/pylonlab) may use it.
package gen
