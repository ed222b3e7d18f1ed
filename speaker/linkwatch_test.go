package speaker_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/election"
	"github.com/pylonlb/pylon/speaker/layer2"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/poll"
)

// TestInterfaceChangesReplan: the speaker reads its links again when the
// link watch signals (an interface renamed is answered on under its new
// name at once), and, with no event at all, retries with backoff a pass
// that had no interface for an address it owns or failed to apply.
func TestInterfaceChangesReplan(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ctx := t.Context()
	const node = "n1"
	vip := netip.MustParseAddr("198.51.100.1")
	createNode(t, c, node, "198.18.0.11")
	l2Service(t, c, vip)

	// The node's links as the test sets them: one interface holding the
	// node's address, which answers for the VIP.
	var links atomic.Pointer[[]layer2.Link]
	setLinks := func(names ...string) {
		var ls []layer2.Link
		for i, n := range names {
			ls = append(ls, layer2.Link{Name: n, HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, byte(i + 1)}, Up: true,
				Prefixes: []netip.Prefix{netip.MustParsePrefix("198.18.0.11/24")}})
		}
		links.Store(&ls)
	}
	setLinks("eth0")
	changes := make(chan struct{}, 1)
	ann := &recordingAnnouncer{}
	startSpeaker(t, env, speaker.Options{
		Node: node, Namespace: "pylon-system", Announcer: ann, Members: members(node), LinkChanges: changes,
		Links: func() ([]layer2.Link, error) { return *links.Load(), nil },
	}, nil)

	await := func(what string, within time.Duration, f func() bool) {
		t.Helper()
		_, err := poll.Until(ctx, 20*time.Millisecond, within, what, func(context.Context) (bool, string, error) { return f(), "", nil })
		if err != nil {
			var s v1alpha1.SpeakerStatus
			_ = c.Get(ctx, client.ObjectKey{Name: node}, &s)
			t.Fatalf("%s within %v: %v; announced on %v; SpeakerStatus conditions %+v", what, within, err, ann.on(vip), s.Status.Conditions)
		}
	}
	on := func(ifaces ...string) func() bool {
		return func() bool { return slices.Equal(ann.on(vip), ifaces) }
	}
	announcing := func(status metav1.ConditionStatus, reason, part string) func() bool {
		return func() bool {
			var s v1alpha1.SpeakerStatus
			if err := c.Get(ctx, client.ObjectKey{Name: node}, &s); err != nil {
				return false
			}
			got := meta.FindStatusCondition(s.Status.Conditions, speaker.ConditionAnnouncing)
			return got != nil && got.Status == status && got.Reason == reason && strings.Contains(got.Message, part)
		}
	}
	// quiet waits until the passes caused by the last status write are
	// over (status is written at most once a second), so that only what
	// the test does next can cause the next pass.
	quiet := func() { time.Sleep(1500 * time.Millisecond) }

	await("answering on eth0", 20*time.Second, on("eth0"))
	await("Announcing=True", 20*time.Second, announcing(metav1.ConditionTrue, "Applied", "1 addresses over Layer2"))
	quiet()

	// The watch: the interface renamed, and a signal.
	setLinks("eth1")
	changes <- struct{}{}
	await("answering on eth1 after a link change was signalled", time.Second, on("eth1"))

	// The interface gone: NoInterface, and retried without any event.
	setLinks()
	changes <- struct{}{}
	await("Announcing=False NoInterface", 5*time.Second, announcing(metav1.ConditionFalse, speaker.ReasonNoInterface, vip.String()))
	quiet()
	setLinks("eth0")
	await("answering on eth0 again, with no event, by the retry", 6*time.Second, on("eth0"))

	// The announcer fails (the interface was gone when it opened it):
	// InterfaceError, and retried without any event.
	await("Announcing=True", 5*time.Second, announcing(metav1.ConditionTrue, "Applied", "1 addresses over Layer2"))
	quiet()
	ann.broken.Store(true)
	setLinks("eth1")
	changes <- struct{}{}
	await("Announcing=False InterfaceError", 5*time.Second, announcing(metav1.ConditionFalse, "InterfaceError", "eth0"))
	quiet()
	ann.broken.Store(false)
	await("answering on eth1, with no event, by the retry", 6*time.Second, on("eth1"))
}

// handOverWithin bounds the time from a speaker's link change to the next
// speaker answering for what it can no longer answer for: publishAfter,
// then the write (not held back by the status rate limit) and the other's
// pass (measured: 60 ms).
const handOverWithin = time.Second + 500*time.Millisecond

// TestNoInterfaceHandsOverThroughStatus: two speakers; the owner of an
// address loses its interface while memberlist still sees it (memberlist
// on another interface). For 300 ms, nothing moves. For good: after
// publishAfter it publishes the address in its SpeakerStatus
// status.noInterface, and the other speaker answers for it; when the
// interface is back, the owner takes it back and the other stops.
func TestNoInterfaceHandsOverThroughStatus(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ctx := t.Context()
	names := []string{"n1", "n2"}
	vip := netip.MustParseAddr("198.51.100.1")
	for i, n := range names {
		createNode(t, c, n, fmt.Sprintf("198.18.0.%d", 11+i))
	}
	l2Service(t, c, vip)

	ranked := election.Ranked(vip, names)
	owner, next := ranked[0], ranked[1]
	type node struct {
		ann     *recordingAnnouncer
		links   atomic.Pointer[[]layer2.Link]
		changes chan struct{}
	}
	ns := map[string]*node{}
	for i, n := range names {
		nd := &node{ann: &recordingAnnouncer{}, changes: make(chan struct{}, 1)}
		ls := []layer2.Link{{Name: "eth0", HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, byte(i + 1)}, Up: true,
			Prefixes: []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("198.18.0.%d/24", 11+i))}}}
		nd.links.Store(&ls)
		ns[n] = nd
		startSpeaker(t, env, speaker.Options{
			Node: n, Namespace: "pylon-system", Announcer: nd.ann, Members: members(names...), LinkChanges: nd.changes,
			Links: func() ([]layer2.Link, error) { return *nd.links.Load(), nil },
		}, nil)
	}
	answering := func() []string {
		var out []string
		for _, n := range names {
			if len(ns[n].ann.on(vip)) > 0 {
				out = append(out, n)
			}
		}
		return out
	}
	published := func(n string) []string {
		var s v1alpha1.SpeakerStatus
		if err := c.Get(ctx, client.ObjectKey{Name: n}, &s); err != nil {
			return nil
		}
		return s.Status.NoInterface
	}
	await := func(what string, within time.Duration, f func() bool) time.Duration {
		t.Helper()
		took, err := poll.Until(ctx, 10*time.Millisecond, within, what, func(context.Context) (bool, string, error) { return f(), "", nil })
		if err != nil {
			t.Fatalf("%s within %v: %v; answering %v; %s publishes %v", what, within, err, answering(), owner, published(owner))
		}
		return took
	}
	only := func(n string) func() bool { return func() bool { return slices.Equal(answering(), []string{n}) } }

	await(owner+" alone answering", 20*time.Second, only(owner))
	back, empty := *ns[owner].links.Load(), []layer2.Link{}
	// Gone for 300 ms: nothing moves, then or after.
	stays := func(d time.Duration) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if len(ns[next].ann.on(vip)) > 0 || len(published(owner)) > 0 {
				t.Fatalf("%s's interface gone for 300 ms: %s answers %v, %s publishes %v; want nothing moved",
					owner, next, ns[next].ann.on(vip), owner, published(owner))
			}
		}
	}
	ns[owner].links.Store(&empty)
	ns[owner].changes <- struct{}{}
	stays(300 * time.Millisecond)
	ns[owner].links.Store(&back)
	ns[owner].changes <- struct{}{}
	stays(2 * time.Second)
	await(owner+" answering again after a 300 ms outage", 5*time.Second, only(owner))

	// Gone for good: the next one answers after publishAfter.
	ns[owner].links.Store(&empty)
	ns[owner].changes <- struct{}{}
	took := await(next+" alone answering after "+owner+" lost its interface", 5*time.Second, only(next))
	t.Logf("%s answered %v after %s lost its interface", next, took.Round(time.Millisecond), owner)
	if took > handOverWithin {
		t.Errorf("%s answered %v after %s lost its interface, want within %v", next, took, owner, handOverWithin)
	}
	if got := published(owner); !slices.Equal(got, []string{vip.String()}) {
		t.Errorf("%s publishes noInterface %v, want [%s]", owner, got, vip)
	}

	ns[owner].links.Store(&back)
	ns[owner].changes <- struct{}{}
	took = await(owner+" alone answering again after its interface came back", 5*time.Second, only(owner))
	t.Logf("%s answered again %v after its interface came back", owner, took.Round(time.Millisecond))
	await(owner+" to publish nothing", 5*time.Second, func() bool { return len(published(owner)) == 0 })
}

// l2Service creates a pool of 198.51.100.0/24 advertised over layer 2 and
// a Service web with the address vip.
func l2Service(t *testing.T, c client.Client, vip netip.Addr) {
	t.Helper()
	ctx := t.Context()
	must(t, c.Create(ctx, gen.IPPool("v4", gen.Addresses("198.51.100.0/24"))))
	must(t, c.Create(ctx, gen.L2Advertisement("v4", gen.L2Pools("v4"))))
	svc := gen.Service("default", "web", gen.LoadBalancer(), gen.WithPort("http", 80))
	must(t, c.Create(ctx, svc))
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: vip.String()}}
	must(t, c.Status().Update(ctx, svc))
}
