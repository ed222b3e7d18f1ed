package speaker_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/poll"
)

// TestStatusWrittenPastAStaleCache: after an API outage a speaker's cache
// can lag behind the API server for a minute (its watch backs off) and
// still show the SpeakerStatus as it was before. A member dies (written:
// 1 alive) and comes back while the cache still shows 2 alive from before:
// the pass must not take the stale cache's agreement for "nothing to
// write", since the cache has not seen this speaker's last write. (Found
// by the fault suite, test/e2e TestFaults: after an API outage with a node
// killed, the other speakers' SpeakerStatuses said the node was dead long
// after it had rejoined.)
func TestStatusWrittenPastAStaleCache(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ctx := t.Context()
	const node = "n1"
	createNode(t, c, node, "198.18.0.11")

	// While stale is set, listing SpeakerStatuses through the manager's
	// client returns the copy taken when it was set.
	var stale atomic.Pointer[v1alpha1.SpeakerStatusList]
	newClient := intercepted(interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if l, ok := list.(*v1alpha1.SpeakerStatusList); ok {
				if s := stale.Load(); s != nil {
					s.DeepCopyInto(l)
					return nil
				}
			}
			return c.List(ctx, list, opts...)
		},
	})
	m := members(node, "n2")
	startSpeaker(t, env, speaker.Options{
		Node: node, Namespace: "pylon-system", Announcer: &recordingAnnouncer{}, Members: m, Links: eth0("198.51.100.0/24"),
	}, newClient)
	alive := func(want int32) {
		t.Helper()
		var st v1alpha1.SpeakerStatus
		poll.Eventually(t, 20*time.Millisecond, 10*time.Second, fmt.Sprintf("SpeakerStatus %s to say %d members alive", node, want), func() (bool, string) {
			err := c.Get(ctx, client.ObjectKey{Name: node}, &st)
			return err == nil && st.Status.MembersAlive == want, fmt.Sprintf("%d alive: %+v (%v)", st.Status.MembersAlive, st.Status.Members, err)
		})
	}
	alive(2)

	// The cache freezes with 2 alive, as before an outage.
	var frozen v1alpha1.SpeakerStatusList
	must(t, c.List(ctx, &frozen))
	stale.Store(&frozen)
	m.setLive(node)
	alive(1)
	time.Sleep(1100 * time.Millisecond) // past the speaker's least time between two status writes
	m.setLive(node, "n2")
	// Still stale: the cache shows 2 alive, from before; the API server 1.
	alive(2)
	if stale.Load() == nil {
		t.Fatal("the cache caught up before the check: the test proves nothing")
	}
}
