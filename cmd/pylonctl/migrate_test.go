package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/cmd/pylonctl/internal/manifests"
	"github.com/pylonlb/pylon/cmd/pylonctl/internal/metallb"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/gen"
)

const docs = "internal/metallb/testdata/docs"

// pylonctl runs the command tree the way the root will: kubeconfig flags on
// the root, migrate under it.
func pylonctl(args []string, stdin string) (string, string, error) {
	flags := genericclioptions.NewConfigFlags(false)
	var out, errOut bytes.Buffer
	root := &cobra.Command{Use: "pylonctl", SilenceErrors: true, SilenceUsage: true}
	flags.AddFlags(root.PersistentFlags())
	root.AddCommand(newMigrateCmd(flags, genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}))
	root.SetArgs(args)
	root.SetOut(&errOut)
	root.SetErr(&errOut)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

// TestMigrateMetalLBFiles: from files and stdin (the same bytes give the
// same output), -o json, and the exit status: nil when everything
// converted, errNotExact when something did not (the output still
// written).
func TestMigrateMetalLBFiles(t *testing.T) {
	file := filepath.Join(docs, "usage-example.yaml")
	out, report, err := pylonctl([]string{"migrate", "metallb", "-f", file}, "")
	if err != nil {
		t.Fatalf("%v\n%s", err, report)
	}
	if !strings.Contains(out, "kind: IPPool") || !strings.Contains(report, "IPAddressPool metallb-system/production -> IPPool production") {
		t.Errorf("output:\n%s\nreport:\n%s", out, report)
	}
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fromStdin, _, err := pylonctl([]string{"migrate", "metallb", "-f", "-"}, string(body))
	if err != nil || fromStdin != out {
		t.Errorf("from stdin: %v\n%s", err, fromStdin)
	}
	js, _, err := pylonctl([]string{"migrate", "metallb", "-f", file, "-o", "json"}, "")
	if err != nil || !strings.HasPrefix(js, "{") || !strings.Contains(js, `"kind": "List"`) {
		t.Errorf("-o json: %v\n%s", err, js)
	}

	// Echo mode has no pylon equivalent: reported, exit status 1.
	out, report, err = pylonctl([]string{"migrate", "metallb", "-f", filepath.Join(docs, "..", "made", "bfd.yaml")}, "")
	if !errors.Is(err, errNotExact) {
		t.Errorf("a BFD profile with echo mode converts without error: %v", err)
	}
	if !strings.Contains(out, "kind: BGPPeer") || !strings.Contains(report, "unmapped") {
		t.Errorf("output:\n%s\nreport:\n%s", out, report)
	}
	if _, _, err := pylonctl([]string{"migrate", "metallb", "-f", file, "-o", "table"}, ""); err == nil {
		t.Error("-o table is accepted")
	}
}

// TestMigrateMetalLBAgainstAPIServer runs the command against a real API
// server: --apply annotates exactly the Services that need it and nothing
// else of them, and reading MetalLB's configuration from the cluster gives
// what reading the same objects from files gives.
func TestMigrateMetalLBAgainstAPIServer(t *testing.T) {
	env := envtest.Start(t)
	ctx := context.Background()
	kube := kubernetes.NewForConfigOrDie(env.Config)
	for _, ns := range []string{"shop", "metallb-system"} {
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	// First: reading from the cluster lists every Service, and the apply
	// test's must not be there yet.
	t.Run("from the cluster", func(t *testing.T) { testFromCluster(t, env) })
	t.Run("apply", func(t *testing.T) { testApply(t, env, kube) })
}

func testApply(t *testing.T, env *envtest.Env, kube kubernetes.Interface) {
	ctx := context.Background()
	https := []gen.ServiceModifier{gen.LoadBalancer(), gen.WithPort("", 443)}
	svcs := []*corev1.Service{
		gen.Service("shop", "web", append(https, gen.Annotated("metallb.io/address-pool", "first-pool"), gen.Annotated("metallb.io/allow-shared-ip", "web"))...),
		gen.Service("shop", "dns", append(https, gen.Annotated("metallb.universe.tf/loadBalancerIPs", "192.168.10.7"))...),
		gen.Service("shop", "legacy-ip", append(https, gen.WithLoadBalancerIP("192.168.10.8"))...),
		gen.Service("shop", "conflict", append(https, gen.Annotated("metallb.io/address-pool", "first-pool"), gen.Annotated(controller.AnnotationPool, "another"))...),
		gen.Service("shop", "other-class", append(https, gen.Annotated("metallb.io/address-pool", "first-pool"), gen.WithClass("example.com/other"))...),
	}
	for _, s := range svcs {
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// MetalLB gave web its address.
	web := svcs[0]
	web.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.168.10.5"}}
	if err := env.Client.Status().Update(ctx, web); err != nil {
		t.Fatal(err)
	}
	before := map[string]*corev1.Service{}
	for _, s := range svcs {
		got := &corev1.Service{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(s), got); err != nil {
			t.Fatal(err)
		}
		before[s.Name] = got
	}

	args := []string{"--kubeconfig", env.KubeconfigPath, "migrate", "metallb", "-f", filepath.Join(docs, "config-pool.yaml"), "--apply"}
	_, report, err := pylonctl(args, "")
	if !errors.Is(err, errNotExact) { // the conflicting Service is left for a person
		t.Fatalf("%v\n%s", err, report)
	}
	if !strings.Contains(report, "annotated 2 Services") {
		t.Errorf("report:\n%s", report)
	}
	want := map[string]map[string]string{
		"web":         {controller.AnnotationPool: "first-pool", controller.AnnotationSharing: "web"},
		"dns":         {controller.AnnotationIPs: "192.168.10.7"},
		"legacy-ip":   {},
		"conflict":    {controller.AnnotationPool: "another"},
		"other-class": {},
	}
	for name, added := range want {
		got := &corev1.Service{}
		if err := env.Client.Get(ctx, types.NamespacedName{Namespace: "shop", Name: name}, got); err != nil {
			t.Fatal(err)
		}
		old := before[name]
		for k, v := range old.Annotations {
			if got.Annotations[k] != v {
				t.Errorf("%s: annotation %s changed from %q to %q", name, k, v, got.Annotations[k])
			}
		}
		for k, v := range added {
			if got.Annotations[k] != v {
				t.Errorf("%s: annotation %s is %q, want %q", name, k, got.Annotations[k], v)
			}
		}
		if len(got.Annotations) != len(old.Annotations)+len(added)-overlap(old.Annotations, added) {
			t.Errorf("%s: annotations %v, had %v, want %v added", name, got.Annotations, old.Annotations, added)
		}
		if !equalIngress(got, old) || got.Spec.LoadBalancerIP != old.Spec.LoadBalancerIP {
			t.Errorf("%s: address changed: %v %q", name, got.Status.LoadBalancer.Ingress, got.Spec.LoadBalancerIP)
		}
		if len(added) > 0 && name != "conflict" && !managedBy(got, metallb.FieldManager) {
			t.Errorf("%s: no managed fields of %s", name, metallb.FieldManager)
		}
	}

	// Again: nothing left to add.
	_, report, _ = pylonctl(args, "")
	if !strings.Contains(report, "annotated 0 Services") {
		t.Errorf("second run:\n%s", report)
	}

	// A Service that changes between reading and patching is not patched.
	pool, err := manifests.Read([]string{filepath.Join(docs, "config-pool.yaml")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	late := gen.Service("shop", "late", append(https, gen.Annotated("metallb.io/address-pool", "first-pool"))...)
	if err := env.Client.Create(ctx, late); err != nil {
		t.Fatal(err)
	}
	objs, err := metallb.ReadServices(ctx, kube)
	if err != nil {
		t.Fatal(err)
	}
	res := metallb.Convert(append(pool, objs...), metallb.Options{PylonNamespace: "pylon-system"})
	late.Labels = map[string]string{"edited": "meanwhile"}
	if err := env.Client.Update(ctx, late); err != nil {
		t.Fatal(err)
	}
	n, err := metallb.Apply(ctx, kube, res.Services)
	if n != 0 || err == nil || !strings.Contains(err.Error(), "shop/late") {
		t.Errorf("patched %d Services over a newer version: %v", n, err)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(late), late); err != nil {
		t.Fatal(err)
	}
	if _, ok := late.Annotations[controller.AnnotationPool]; ok {
		t.Error("a Service changed since it was read was annotated")
	}
}

func overlap(a, b map[string]string) int {
	n := 0
	for k := range b {
		if _, ok := a[k]; ok {
			n++
		}
	}
	return n
}

func equalIngress(a, b *corev1.Service) bool {
	x, y := a.Status.LoadBalancer.Ingress, b.Status.LoadBalancer.Ingress
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i].IP != y[i].IP {
			return false
		}
	}
	return true
}

func managedBy(s *corev1.Service, manager string) bool {
	for _, m := range s.ManagedFields {
		if m.Manager == manager {
			return true
		}
	}
	return false
}

// metallbCRDs serves MetalLB's kinds with no schema (the conversion reads
// them unstructured): v1beta1 of each, and for BGPPeer v1beta2 as well, the
// stored version, as MetalLB's own CRDs do.
func metallbCRDs() []*apiextensionsv1.CustomResourceDefinition {
	open := &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
		Type: "object", XPreserveUnknownFields: ptr.To(true),
	}}
	version := func(name string, storage bool) apiextensionsv1.CustomResourceDefinitionVersion {
		return apiextensionsv1.CustomResourceDefinitionVersion{Name: name, Served: true, Storage: storage, Schema: open}
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, kind := range []string{"IPAddressPool", "L2Advertisement", "BGPAdvertisement", "BGPPeer", "Community", "BFDProfile"} {
		plural := strings.ToLower(kind) + "s"
		if kind == "Community" {
			plural = "communities"
		}
		versions := []apiextensionsv1.CustomResourceDefinitionVersion{version("v1beta1", true)}
		if kind == "BGPPeer" {
			versions = []apiextensionsv1.CustomResourceDefinitionVersion{version("v1beta1", false), version("v1beta2", true)}
		}
		out = append(out, &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: plural + "." + metallb.Group},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: metallb.Group, Scope: apiextensionsv1.NamespaceScoped, Versions: versions,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List", Plural: plural, Singular: strings.ToLower(kind)},
			},
		})
	}
	return out
}

func testFromCluster(t *testing.T, env *envtest.Env) {
	ctx := context.Background()
	if _, report, err := pylonctl([]string{"--kubeconfig", env.KubeconfigPath, "migrate", "metallb"}, ""); !errors.Is(err, metallb.ErrNoMetalLB) {
		t.Errorf("without MetalLB's CRDs: %v\n%s", err, report)
	}
	if err := env.InstallCRDs(metallbCRDs()...); err != nil {
		t.Fatal(err)
	}
	// MetalLB's documented examples, and a password Secret for the one
	// that names it; the v1beta1 peers are created through v1beta1.
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.yaml")
	if err := os.WriteFile(secret, []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: secretname, namespace: metallb-system}\ntype: kubernetes.io/basic-auth\nstringData: {password: s3cret}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(docs, "usage-example.yaml"), filepath.Join(docs, "config-bfd.yaml"),
		filepath.Join(docs, "sample-bgppeer-withsecret.yaml"), filepath.Join(docs, "l2-interfaces-union.yaml"),
		filepath.Join(docs, "pool-service-allocation.yaml"), "internal/metallb/testdata/made/v1beta1-peers.yaml", secret}
	objs, err := manifests.Read(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(env.Config)
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		resource := strings.ToLower(gvk.Kind) + "s"
		if gvk.Kind == "Community" {
			resource = "communities"
		}
		gvr := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: resource}
		if _, err := dyn.Resource(gvr).Namespace(o.GetNamespace()).Create(ctx, &o.Unstructured, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s %s: %v", gvk.Kind, o.GetName(), err)
		}
	}

	fromCluster, clusterReport, errCluster := pylonctl([]string{"--kubeconfig", env.KubeconfigPath, "migrate", "metallb"}, "")
	args := []string{"migrate", "metallb"}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	fromFiles, filesReport, errFiles := pylonctl(args, "")
	if fromCluster != fromFiles {
		t.Errorf("from the cluster:\n%s\nfrom files:\n%s", fromCluster, fromFiles)
	}
	// The cluster's Services (the kubernetes Service, not MetalLB's) add
	// nothing; v1beta1 peers come back as v1beta2 (MetalLB's storage
	// version), which reads the same.
	if clusterReport != filesReport || errCluster == nil || errFiles == nil {
		t.Errorf("reports differ or no error for the unmapped fields (%v, %v):\n--- cluster\n%s\n--- files\n%s", errCluster, errFiles, clusterReport, filesReport)
	}
	if !strings.Contains(fromCluster, "name: secretname") {
		t.Errorf("the password Secret was not read from the cluster:\n%s", fromCluster)
	}

	// Another namespace: no MetalLB configuration there.
	out, _, err := pylonctl([]string{"--kubeconfig", env.KubeconfigPath, "-n", "shop", "migrate", "metallb"}, "")
	if err != nil || strings.Contains(out, "kind:") {
		t.Errorf("-n shop: %v\n%s", err, out)
	}
}
