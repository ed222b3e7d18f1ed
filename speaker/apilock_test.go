package speaker_test

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/layer2"
	"github.com/pylonlb/pylon/test/envtest"
)

// TestStatusWriteNeverHoldsThePass: with the API server hanging on the
// SpeakerStatus write (a slow or unreachable API server), the pass has
// already applied what it planned, and the layer-2 conflict callback does
// not wait for the write: no API call runs under the reconciler's lock.
// The SpeakerStatus written is owned by its Node.
func TestStatusWriteNeverHoldsThePass(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ctx := t.Context()
	const node = "n1"
	vip1, vip2 := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
	n := createNode(t, c, node, "198.18.0.11")
	must(t, c.Create(ctx, &v1alpha1.IPPool{ObjectMeta: metav1.ObjectMeta{Name: "v4"}, Spec: v1alpha1.IPPoolSpec{Addresses: []v1alpha1.AddressRange{"198.51.100.0/24"}}}))
	must(t, c.Create(ctx, &v1alpha1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "v4"}, Spec: v1alpha1.L2AdvertisementSpec{IPPools: []v1alpha1.ObjectName{"v4"}}}))
	service := func(name string, ip netip.Addr) {
		t.Helper()
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
		}
		must(t, c.Create(ctx, svc))
		ready, nodeName := true, node
		must(t, c.Create(ctx, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: name + "-1", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"198.18.0.11"}, NodeName: &nodeName, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		}))
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip.String()}}
		must(t, c.Status().Update(ctx, svc))
	}
	service("one", vip1)

	// Status writes hang while block is set, until the call's own deadline.
	var block atomic.Bool
	var hanging atomic.Int32
	mgr := interceptedManager(t, env, interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			if block.Load() {
				hanging.Add(1)
				defer hanging.Add(-1)
				<-ctx.Done()
				return ctx.Err()
			}
			return c.SubResource(sub).Patch(ctx, obj, p, opts...)
		},
	})
	ann := &recordingAnnouncer{}
	r, err := speaker.Setup(mgr, speaker.Options{
		Node: node, Namespace: "pylon-system", Announcer: ann, Members: alone{node},
		Links: oneLink,
	})
	must(t, err)
	startManager(t, mgr, func() { block.Store(false) })
	poll := func(what string, f func() bool) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) { return f(), nil }); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	poll("layer 2 to answer for "+vip1.String(), func() bool { return ann.has(vip1) })

	block.Store(true)
	service("two", vip2)
	poll("the pass to apply "+vip2.String()+" and hang in the status write", func() bool { return ann.has(vip2) && hanging.Load() > 0 })

	returned := make(chan struct{})
	go func() {
		r.OnConflict(layer2.Conflict{IP: vip1, MAC: net.HardwareAddr{2, 0, 0, 0, 0, 9}, Interface: "eth0"})
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(time.Second):
		t.Fatal("the conflict callback waited for the hanging status write: an API call runs under the reconciler's lock")
	}
	if hanging.Load() == 0 {
		t.Fatal("the status write stopped hanging before the check: the test proves nothing")
	}

	block.Store(false)
	var st v1alpha1.SpeakerStatus
	poll("the status written once the API server answers", func() bool {
		return c.Get(ctx, client.ObjectKey{Name: node}, &st) == nil && st.Status.Announced == 2
	})

	// The SpeakerStatus is owned by its Node: deleting the Node deletes it
	// (the garbage collector of kube-controller-manager, not run here).
	if refs := st.OwnerReferences; len(refs) != 1 || refs[0].Kind != "Node" || refs[0].APIVersion != "v1" || refs[0].Name != node || refs[0].UID != n.UID {
		t.Fatalf("SpeakerStatus owner references %+v, want the Node %s (uid %s)", refs, node, n.UID)
	}
}

// interceptedManager is a manager on env whose client goes through funcs.
func interceptedManager(t *testing.T, env *envtest.Env, funcs interceptor.Funcs) manager.Manager {
	t.Helper()
	skip := true
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: &skip},
		NewClient: func(cfg *rest.Config, o client.Options) (client.Client, error) {
			inner, err := client.NewWithWatch(cfg, o)
			if err != nil {
				return nil, err
			}
			return interceptor.NewClient(inner, funcs), nil
		},
	})
	must(t, err)
	return mgr
}

// oneLink is the node's one interface: eth0 on 198.51.100.0/24.
func oneLink() ([]layer2.Link, error) {
	return []layer2.Link{{Name: "eth0", HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Up: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}}, nil
}

// startManager runs mgr until the test ends; first (may be nil) runs
// before it is stopped.
func startManager(t *testing.T, mgr manager.Manager, first func()) {
	t.Helper()
	mctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		if first != nil {
			first()
		}
		stop()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}
