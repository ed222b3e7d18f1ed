package speaker_test

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/layer2"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/poll"
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
	layer2Pool(t, c, "198.51.100.0/24")
	lbService(t, c, "one", node, vip1)

	// Status writes hang while block is set, until the call's own deadline.
	var block atomic.Bool
	var hanging atomic.Int32
	newClient := intercepted(interceptor.Funcs{
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
	r, stop := startSpeaker(t, env, speaker.Options{
		Node: node, Namespace: "pylon-system", Announcer: ann, Members: members(node), Links: eth0("198.51.100.0/24"),
	}, newClient)
	t.Cleanup(func() {
		block.Store(false)
		stop()
	})
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "layer 2 to answer for "+vip1.String(), func() bool { return ann.has(vip1) })

	block.Store(true)
	lbService(t, c, "two", node, vip2)
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "the pass to apply "+vip2.String()+" and hang in the status write", func() bool { return ann.has(vip2) && hanging.Load() > 0 })

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
	// The next pass does not wait for the write either: a third Service
	// is answered for while the write still hangs (it would only give up
	// after the speaker's 10 s API timeout).
	vip3 := netip.MustParseAddr("198.51.100.3")
	lbService(t, c, "three", node, vip3)
	applied := time.Now()
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "the next pass to apply "+vip3.String()+" while the status write hangs", func() bool { return ann.has(vip3) })
	if d := time.Since(applied); d > 3*time.Second {
		t.Fatalf("the next pass applied %s only after %v: it waited for the hanging status write", vip3, d)
	}
	if hanging.Load() == 0 {
		t.Fatal("the status write stopped hanging before the check: the test proves nothing")
	}

	block.Store(false)
	var st v1alpha1.SpeakerStatus
	poll.Eventually(t, 20*time.Millisecond, 20*time.Second, "the status written once the API server answers", func() bool {
		return c.Get(ctx, client.ObjectKey{Name: node}, &st) == nil && st.Status.Announced == 3
	})

	// The SpeakerStatus is owned by its Node: deleting the Node deletes it
	// (the garbage collector of kube-controller-manager, not run here).
	if refs := st.OwnerReferences; len(refs) != 1 || refs[0].Kind != "Node" || refs[0].APIVersion != "v1" || refs[0].Name != node || refs[0].UID != n.UID {
		t.Fatalf("SpeakerStatus owner references %+v, want the Node %s (uid %s)", refs, node, n.UID)
	}
}
