package speaker_test

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/layer2"
	"github.com/pylonlb/pylon/speaker/membership"
	"github.com/pylonlb/pylon/test/envtest"
)

// TestStatusWrittenPastAStaleCache: after an API outage a speaker's cache
// can lag behind the API server for a minute (its watch backs off) and
// still show the SpeakerStatus as it was before. A member dies (written:
// 1 alive) and comes back while the cache still shows 2 alive from before:
// the pass must not take the stale cache's agreement for "nothing to
// write", since the cache has not seen this speaker's last write. (Found by the fault
// suite, test/e2e TestFaults: after an API outage with a node killed, the
// other speakers' SpeakerStatuses said the node was dead long after it
// had rejoined.)
func TestStatusWrittenPastAStaleCache(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ctx := t.Context()
	const node = "n1"
	createNode(t, c, node, "198.18.0.11")

	// While stale is set, listing SpeakerStatuses through the manager's
	// client returns the copy taken when it was set.
	var stale atomic.Pointer[v1alpha1.SpeakerStatusList]
	skip := true
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: &skip},
		NewClient: func(cfg *rest.Config, o client.Options) (client.Client, error) {
			inner, err := client.NewWithWatch(cfg, o)
			if err != nil {
				return nil, err
			}
			return interceptor.NewClient(inner, interceptor.Funcs{
				List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
					if l, ok := list.(*v1alpha1.SpeakerStatusList); ok {
						if s := stale.Load(); s != nil {
							s.DeepCopyInto(l)
							return nil
						}
					}
					return c.List(ctx, list, opts...)
				},
			}), nil
		},
	})
	must(t, err)
	members := &flock{names: []string{node, "n2"}}
	changes := make(chan struct{}, 1)
	_, err = speaker.Setup(mgr, speaker.Options{
		Node: node, Namespace: "pylon-system", Announcer: &recordingAnnouncer{}, Members: members, Changes: changes,
		Links: func() ([]layer2.Link, error) {
			return []layer2.Link{{Name: "eth0", HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Up: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}}, nil
		},
	})
	must(t, err)
	mctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	alive := func(want int32) {
		t.Helper()
		var st v1alpha1.SpeakerStatus
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			return c.Get(ctx, client.ObjectKey{Name: node}, &st) == nil && st.Status.MembersAlive == want, nil
		})
		if err != nil {
			t.Fatalf("SpeakerStatus %s says %d members alive, want %d: %+v", node, st.Status.MembersAlive, want, st.Status.Members)
		}
	}
	alive(2)

	// The cache freezes with 2 alive, as before an outage.
	var frozen v1alpha1.SpeakerStatusList
	must(t, c.List(ctx, &frozen))
	stale.Store(&frozen)
	members.set(node)
	changes <- struct{}{}
	alive(1)
	time.Sleep(1100 * time.Millisecond) // past the speaker's least time between two status writes
	members.set(node, "n2")
	changes <- struct{}{}
	// Still stale: the cache shows 2 alive, from before; the API server 1.
	alive(2)
	if stale.Load() == nil {
		t.Fatal("the cache caught up before the check: the test proves nothing")
	}
}

// flock is a memberlist whose live members the test sets.
type flock struct {
	mu    sync.Mutex
	names []string
}

func (m *flock) set(names ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.names = names
}

func (m *flock) Address() string { return "" }
func (m *flock) Live() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.names...)
}
func (m *flock) Members() []membership.Member {
	var out []membership.Member
	for _, n := range m.Live() {
		out = append(out, membership.Member{Name: n, State: membership.Alive})
	}
	return out
}
func (m *flock) Join([]string) (int, error)    { return 0, nil }
func (m *flock) SetKeys(membership.Keys) error { return nil }
