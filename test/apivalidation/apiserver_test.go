package apivalidation

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/yamldocs"
)

// strict makes the API server refuse fields its schema does not declare,
// as kubectl does by default, instead of dropping them.
const strict = client.FieldValidation("Strict")

// TestAPIServer runs every check against one API server: starting one takes
// seconds, the checks take milliseconds.
func TestAPIServer(t *testing.T) {
	env := envtest.Start(t)
	t.Run("CRDsInstall", func(t *testing.T) { testCRDsInstall(t, env) })
	t.Run("ExamplesAccepted", func(t *testing.T) { testExamplesAccepted(t, env) })
	t.Run("BadObjectsRejected", func(t *testing.T) { testBadObjectsRejected(t, env) })
	t.Run("GoodEdgeCasesAccepted", func(t *testing.T) { testGoodEdgeCasesAccepted(t, env) })
	t.Run("RangeOrderEveryBit", func(t *testing.T) { testRangeOrderEveryBit(t, env) })
	t.Run("KubectlServerSideDryRun", func(t *testing.T) { testKubectlServerSideDryRun(t, env) })
}

// testCRDsInstall checks that deploy/crds holds one CRD for every kind of
// api/v1alpha1, and that each is established, cluster-scoped and served.
func testCRDsInstall(t *testing.T, env *envtest.Env) {
	ctx := t.Context()
	gv := v1alpha1.GroupVersion()

	// The kinds of api/v1alpha1 are those with a List kind beside them
	// (AddToGroupVersion also registers option and event kinds).
	known := env.Scheme.KnownTypes(gv)
	var want []string
	for kind := range known {
		if _, ok := known[kind+"List"]; ok {
			want = append(want, kind)
		}
	}
	slices.Sort(want)

	files, err := filepath.Glob(filepath.Join(env.CRDDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &crd); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		got = append(got, crd.Spec.Names.Kind)
		// In parallel: the first request for a new resource waits about a
		// second for the API server's watch cache.
		t.Run(crd.Spec.Names.Kind, func(t *testing.T) {
			t.Parallel()
			checkCRDServed(ctx, t, env, crd.Name, crd.Spec.Names.Kind)
		})
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("CRDs in %s are for kinds %v; api/v1alpha1 registers %v", env.CRDDir, got, want)
	}
	if len(env.CRDs) != len(files) {
		t.Errorf("envtest installed %d CRDs from %d files", len(env.CRDs), len(files))
	}
}

// checkCRDServed checks one installed CRD and lists its kind.
func checkCRDServed(ctx context.Context, t *testing.T, env *envtest.Env, name, kind string) {
	var crd apiextensionsv1.CustomResourceDefinition
	if err := env.Client.Get(ctx, types.NamespacedName{Name: name}, &crd); err != nil {
		t.Fatalf("get CRD %s: %v", name, err)
	}
	for _, cond := range []apiextensionsv1.CustomResourceDefinitionConditionType{apiextensionsv1.Established, apiextensionsv1.NamesAccepted} {
		if !crdCondition(&crd, cond) {
			t.Errorf("CRD %s is not %s: %+v", name, cond, crd.Status.Conditions)
		}
	}
	if crd.Spec.Scope != apiextensionsv1.ClusterScoped {
		t.Errorf("CRD %s has scope %s, want Cluster", name, crd.Spec.Scope)
	}
	served := false
	for _, v := range crd.Spec.Versions {
		if v.Name == v1alpha1.Version && v.Served && v.Storage {
			served = true
		}
	}
	if !served {
		t.Errorf("CRD %s does not serve and store %s", name, v1alpha1.Version)
	}

	gvk := v1alpha1.GroupVersion().WithKind(kind)
	mapping, err := env.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		t.Fatalf("discovery does not know %s: %v", gvk, err)
	}
	if mapping.Scope.Name() != meta.RESTScopeNameRoot {
		t.Errorf("%s is served with scope %s, want cluster (root)", gvk, mapping.Scope.Name())
	}
	obj, err := env.Scheme.New(gvk.GroupVersion().WithKind(kind + "List"))
	if err != nil {
		t.Fatal(err)
	}
	list, ok := obj.(client.ObjectList)
	if !ok {
		t.Fatalf("%sList is not a list", kind)
	}
	if err := env.Client.List(ctx, list); err != nil {
		t.Errorf("list %s: %v", mapping.Resource.Resource, err)
	}
}

func crdCondition(crd *apiextensionsv1.CustomResourceDefinition, cond apiextensionsv1.CustomResourceDefinitionConditionType) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == cond {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

// testExamplesAccepted creates every object of docs/examples (the set
// `make demo` applies) and docs/examples/more (the variations), then checks
// that the API server filled in the defaults the examples leave out.
func testExamplesAccepted(t *testing.T, env *envtest.Env) {
	ctx := t.Context()
	dir := filepath.Join(env.RepoRoot, "docs", "examples")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	more, err := filepath.Glob(filepath.Join(dir, "more", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 || len(more) < 4 {
		t.Fatalf("docs/examples holds %d files and more/ %d; want the four the demo applies and their variations", len(files), len(more))
	}
	files = append(files, more...)
	kinds := map[string]int{}
	for _, file := range files {
		docs, err := readYAMLDocuments(file)
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) == 0 || !bytes.HasPrefix(docs[0], []byte("#")) {
			t.Errorf("%s does not start with a comment that says what it shows", file)
		}
		for i, doc := range docs {
			obj, err := decode(doc)
			if err != nil {
				t.Errorf("%s, document %d: %v", file, i+1, err)
				continue
			}
			if obj == nil {
				continue // only comments
			}
			if err := env.Client.Create(ctx, obj, strict); err != nil {
				t.Errorf("%s, document %d (%s %s): %v", filepath.Base(file), i+1, obj.GetKind(), obj.GetName(), err)
				continue
			}
			kinds[obj.GetKind()]++
		}
	}
	for _, kind := range []string{"IPPool", "L2Advertisement", "BGPPeer", "BGPAdvertisement"} {
		if kinds[kind] == 0 {
			t.Errorf("docs/examples holds no %s that the API server accepted", kind)
		}
	}
	if t.Failed() {
		return
	}

	// Defaults the examples rely on. Each read goes into a fresh object, so
	// nothing is left over from an earlier one.
	pool := get(ctx, t, env, "default", &v1alpha1.IPPool{})
	if pool.Spec.AutoAssign == nil || !*pool.Spec.AutoAssign {
		t.Errorf("IPPool default: autoAssign = %v, want the default true", ptrString(pool.Spec.AutoAssign))
	}
	pool = get(ctx, t, env, "reserved", &v1alpha1.IPPool{})
	if pool.Spec.AutoAssign == nil || *pool.Spec.AutoAssign {
		t.Errorf("IPPool reserved: autoAssign = %v, want false as written", ptrString(pool.Spec.AutoAssign))
	}
	peer := get(ctx, t, env, "lab-router", &v1alpha1.BGPPeer{})
	if peer.Spec.PeerPort == nil || *peer.Spec.PeerPort != 179 {
		t.Errorf("BGPPeer lab-router: peerPort = %v, want the default 179", ptrString(peer.Spec.PeerPort))
	}
	peer = get(ctx, t, env, "lab-router-v6", &v1alpha1.BGPPeer{})
	if gr := peer.Spec.GracefulRestart; gr == nil || gr.RestartTime == nil || gr.RestartTime.Duration != 120*time.Second {
		t.Errorf("BGPPeer lab-router-v6: gracefulRestart = %+v, want the default restartTime 120s", gr)
	}
	peer = get(ctx, t, env, "tor-bfd", &v1alpha1.BGPPeer{})
	if b := peer.Spec.BFD; b == nil || b.DetectMultiplier == nil || *b.DetectMultiplier != 3 || b.TransmitInterval == nil || b.TransmitInterval.Duration != 300*time.Millisecond {
		t.Errorf("BGPPeer tor-bfd: bfd = %+v, want the defaults detectMultiplier 3 and transmitInterval 300ms", b)
	}
	adv := get(ctx, t, env, "bgp", &v1alpha1.BGPAdvertisement{})
	if l := adv.Spec.AggregationLength; l == nil || *l != 32 {
		t.Errorf("BGPAdvertisement bgp: aggregationLength = %v, want the default 32", ptrString(l))
	}
	if l := adv.Spec.AggregationLengthV6; l == nil || *l != 128 {
		t.Errorf("BGPAdvertisement bgp: aggregationLengthV6 = %v, want the default 128", ptrString(l))
	}
}

// testBadObjectsRejected creates every object of the catalogue of bad ones
// and checks that the API server refuses it, naming the field and what the
// field allows.
func testBadObjectsRejected(t *testing.T, env *envtest.Env) {
	cases := badObjects()
	if len(cases) < 24 {
		t.Fatalf("the catalogue holds %d bad objects; keep at least 24", len(cases))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj, err := decode([]byte(document(c.kind, fmt.Sprintf("bad-%02d", i), c.spec)))
			if err != nil {
				t.Fatal(err)
			}
			err = env.Client.Create(t.Context(), obj, strict)
			if err == nil {
				t.Cleanup(func() { _ = env.Client.Delete(context.Background(), obj) })
				t.Fatalf("the API server accepted %s %s", c.kind, c.spec)
			}
			t.Logf("%s: %v", apierrors.ReasonForError(err), err)
			checkRefusal(t, err, c)
		})
	}
}

// rulesNotChecked is the note the API server adds when an object fails its
// OpenAPI schema: it then skips the CEL rules.
const rulesNotChecked = "some validation rules were not checked because the object was invalid"

// checkRefusal checks that err refuses c for the reason c gives, and only
// for that reason.
func checkRefusal(t *testing.T, err error, c badObject) {
	t.Helper()
	text := err.Error()
	if !strings.Contains(text, c.field) || !strings.Contains(text, c.msg) {
		t.Errorf("error does not name %q with %q:\n%s", c.field, c.msg, text)
	}
	if c.unknownField {
		if !apierrors.IsBadRequest(err) && !apierrors.IsInvalid(err) {
			t.Errorf("error is %s (%v), want BadRequest or Invalid", apierrors.ReasonForError(err), err)
		}
		return
	}
	if !apierrors.IsInvalid(err) {
		t.Fatalf("error is %s, want Invalid: %v", apierrors.ReasonForError(err), err)
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		t.Fatalf("error carries no causes: %v", err)
	}
	found := false
	for _, cause := range status.Status().Details.Causes {
		if (cause.Field == "" || cause.Field == "<nil>") && strings.Contains(cause.Message, rulesNotChecked) {
			continue // schema errors stop CEL rules from running
		}
		if cause.Field != c.field {
			t.Errorf("error also names %s: %s", cause.Field, cause.Message)
		}
		if cause.Field == c.field && strings.Contains(cause.Message, c.msg) {
			found = true
		}
	}
	if !found {
		t.Errorf("no cause on %s says %q: %+v", c.field, c.msg, status.Status().Details.Causes)
	}
}

// testGoodEdgeCasesAccepted creates the edge cases that must pass.
func testGoodEdgeCasesAccepted(t *testing.T, env *envtest.Env) {
	for i, c := range goodObjects() {
		t.Run(c.name, func(t *testing.T) {
			obj, err := decode([]byte(document(c.kind, fmt.Sprintf("edge-%02d", i), c.spec)))
			if err != nil {
				t.Fatal(err)
			}
			if err := env.Client.Create(t.Context(), obj, strict); err != nil {
				t.Fatalf("the API server refused %s %s: %v", c.kind, c.spec, err)
			}
		})
	}
}

// testRangeOrderEveryBit checks the range-order rule at every bit of both
// families: for each bit k, the range from an address with bit k clear to the
// same address with it set is accepted, and the reverse is refused. The rule
// looks for the first bit at which the ends part, so each k takes a different
// path through it. (Flipping the high bits leaves the documentation ranges;
// these are strings for the rule to compare, never addresses in use.)
func testRangeOrderEveryBit(t *testing.T, env *envtest.Env) {
	ctx := t.Context()
	up, down := rangesEveryBit()
	// A pool holds at most 64 addresses.
	for i, chunk := range slices.Collect(slices.Chunk(up, 64)) {
		pool := &v1alpha1.IPPool{Spec: v1alpha1.IPPoolSpec{Addresses: chunk}}
		pool.Name = fmt.Sprintf("order-up-%d", i)
		if err := env.Client.Create(ctx, pool, strict); err != nil {
			t.Errorf("ranges in order refused: %v", err)
		}
	}
	for i, chunk := range slices.Collect(slices.Chunk(down, 64)) {
		pool := &v1alpha1.IPPool{Spec: v1alpha1.IPPoolSpec{Addresses: chunk}}
		pool.Name = fmt.Sprintf("order-down-%d", i)
		err := env.Client.Create(ctx, pool, strict)
		if err == nil {
			t.Errorf("backward ranges accepted: %v", chunk)
			continue
		}
		var status apierrors.APIStatus
		if !apierrors.IsInvalid(err) || !errors.As(err, &status) || status.Status().Details == nil {
			t.Fatalf("error is not Invalid with causes: %v", err)
		}
		refused := map[string]bool{}
		for _, cause := range status.Status().Details.Causes {
			if !strings.Contains(cause.Message, msgRangeOrder) {
				t.Errorf("unexpected cause %s: %s", cause.Field, cause.Message)
			}
			refused[cause.Field] = true
		}
		for j, r := range chunk {
			if field := fmt.Sprintf("spec.addresses[%d]", j); !refused[field] {
				t.Errorf("backward range %s (%s) not refused", r, field)
			}
		}
	}
}

// testKubectlServerSideDryRun applies the CRDs and the examples the way an
// operator would, and checks what kubectl prints for some bad objects.
func testKubectlServerSideDryRun(t *testing.T, env *envtest.Env) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	apply := func(args ...string) (string, error) {
		out, err := env.Kubectl(ctx, append([]string{"apply", "--server-side", "--dry-run=server"}, args...)...)
		return string(out), err
	}

	out, err := apply("-f", env.CRDDir)
	if err != nil {
		t.Fatalf("kubectl apply --server-side --dry-run=server -f %s: %v\n%s", env.CRDDir, err, out)
	}
	for _, crd := range env.CRDs {
		if !strings.Contains(out, "customresourcedefinition.apiextensions.k8s.io/"+crd.Name+" serverside-applied (server dry run)") {
			t.Errorf("kubectl did not report %s applied:\n%s", crd.Name, out)
		}
	}
	// A server dry run creates nothing, so the namespace that
	// bgp-password-secret.yaml declares must exist for its Secret to apply.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pylon-system"}}
	if err := env.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// -R: the variations in more/ too, as docs/examples/more says.
	examples := filepath.Join(env.RepoRoot, "docs", "examples")
	if out, err := apply("-R", "-f", examples); err != nil {
		t.Errorf("kubectl apply --server-side --dry-run=server -R -f %s: %v\n%s", examples, err, out)
	} else if !strings.Contains(out, "bgppeer.pylonlb.io/route-reflector serverside-applied") {
		t.Errorf("kubectl apply -R -f %s did not apply more/bgppeer.yaml:\n%s", examples, out)
	}

	// The whole catalogue in one kubectl call: kubectl goes on past each
	// refused object and reports every one, naming the object.
	dir := t.TempDir()
	catalogue := badObjects()
	for i, c := range catalogue {
		file := filepath.Join(dir, fmt.Sprintf("bad-%03d.yaml", i))
		if err := os.WriteFile(file, []byte(document(c.kind, fmt.Sprintf("kubectl-bad-%03d", i), c.spec)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err = apply("-f", dir)
	if err == nil {
		t.Fatalf("kubectl accepted the bad-object catalogue:\n%s", out)
	}
	reports := kubectlErrorsByObject(out)
	for i, c := range catalogue {
		report, ok := reports[fmt.Sprintf("kubectl-bad-%03d", i)]
		if !ok {
			t.Errorf("%s: kubectl reported no error for it", c.name)
			continue
		}
		// kubectl's server-side apply names an unknown field
		// ".spec.adresses", the create call "spec.adresses".
		field, msg := cmp.Or(c.applyField, c.field), cmp.Or(c.applyMsg, c.msg)
		if !strings.Contains(report, field) {
			t.Errorf("%s: kubectl's error does not name %s:\n%s", c.name, field, report)
		}
		if !c.unknownField && !strings.Contains(report, msg) {
			t.Errorf("%s: kubectl's error does not say %q:\n%s", c.name, msg, report)
		}
	}
}

// kubectlErrorsByObject splits kubectl apply's output into its error
// reports, keyed by the kubectl-bad-NNN object each one names.
func kubectlErrorsByObject(out string) map[string]string {
	reports := map[string]string{}
	for _, chunk := range strings.Split(out, "Error from server")[1:] {
		i := strings.Index(chunk, "kubectl-bad-")
		if i < 0 || len(chunk) < i+len("kubectl-bad-000") {
			continue
		}
		reports[chunk[i:i+len("kubectl-bad-000")]] = chunk
	}
	return reports
}

// document is a YAML manifest of one pylon object with the given spec.
func document(kind, name, spec string) string {
	return fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\nspec: %s\n",
		v1alpha1.GroupVersion(), kind, name, spec)
}

// decode turns one YAML document into an object; nil when the document holds
// only comments.
func decode(doc []byte) (*unstructured.Unstructured, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	if string(bytes.TrimSpace(js)) == "null" {
		return nil, nil
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(js); err != nil {
		return nil, err
	}
	return obj, nil
}

// readYAMLDocuments splits a file at its "---" lines.
func readYAMLDocuments(file string) ([][]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	docs, err := yamldocs.Documents(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return docs, nil
}

// get reads the cluster-scoped object name into obj and returns obj.
func get[T client.Object](ctx context.Context, t *testing.T, env *envtest.Env, name string, obj T) T {
	t.Helper()
	if err := env.Client.Get(ctx, types.NamespacedName{Name: name}, obj); err != nil {
		t.Fatalf("get %T %s: %v", obj, name, err)
	}
	return obj
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

// rangesEveryBit is, for each bit k of an IPv4 and an IPv6 address, the
// range from the address with bit k clear to it with bit k set (up) and the
// reverse (down).
func rangesEveryBit() (up, down []v1alpha1.AddressRange) {
	for _, base := range []netip.Addr{netip.MustParseAddr("198.51.100.77"), netip.MustParseAddr("2001:db8::abcd:1234")} {
		b := base.AsSlice()
		for k := range len(b) * 8 {
			lo, hi := slices.Clone(b), slices.Clone(b)
			lo[k/8] &^= 0x80 >> (k % 8)
			hi[k/8] |= 0x80 >> (k % 8)
			l, _ := netip.AddrFromSlice(lo)
			h, _ := netip.AddrFromSlice(hi)
			up = append(up, v1alpha1.AddressRange(l.String()+"-"+h.String()))
			down = append(down, v1alpha1.AddressRange(h.String()+"-"+l.String()))
		}
	}
	return up, down
}
