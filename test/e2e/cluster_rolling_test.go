package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/speaker/election"
	"github.com/pylonlb/pylon/test/images"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// clusterNextTag is the tag of the images a rolling update moves to.
const clusterNextTag = "e2e-next"

// clusterRollingSpeakerUpdate rolls the speaker DaemonSet onto images of
// another tag (built with that version and imported into every node's
// containerd), as an upgrade does, and then back to clusterTag, while the
// local client probes four layer-2 addresses (externalTrafficPolicy
// Cluster) every 20 ms, asks, in two staggered loops of one probe after
// the other, which nodes answer ARP for each, and reads its neighbour
// table every 20 ms (where ARP answers and gratuitous ARP put each
// address). The chart rolls one node at a time (maxUnavailable 1). Each
// address may lose at most one probe a roll, and only its owner, or the
// next in its ranking while the owner's speaker is replaced, may answer
// ARP for it: a new speaker must not claim addresses before it has heard
// from the others. The neighbour entries are logged, not checked (yet):
// see the note where they are. Each roll ends with
// every speaker pod on the target image (its image ID, not only the name)
// and the DaemonSet fully updated.
func clusterRollingSpeakerUpdate(t *testing.T, c *cluster) {
	l, ctx := c.lab, c.ctx
	build, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	began := time.Now()
	imgs, err := images.Pylon(build, buildDir(t, "images-"+clusterNextTag), clusterRepo, clusterNextTag)
	if err != nil {
		t.Fatal(err)
	}
	built := time.Now()
	if err := l.ImportImages(ctx, imgs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("images %s built in %v, imported into every node in %v", clusterNextTag, built.Sub(began).Round(time.Millisecond), time.Since(built).Round(time.Millisecond))

	nodes := nodeNames(l)
	var names []string
	var vips []netip.Addr
	defer func() { c.deleteServices(t, names...) }()
	for i := range 4 {
		names = append(names, fmt.Sprintf("roll%d", i))
		vips = append(vips, c.backendService(t, names[i], "lab", nil))
	}
	for _, vip := range vips {
		owner, _ := election.Owner(vip, nodes)
		poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "its owner "+owner+" to answer for "+vip.String(), func() (bool, string) {
			who := answering(t, l, vip)
			return slices.Equal(who, []string{owner}), fmt.Sprint(who)
		})
	}

	for _, tag := range []string{clusterNextTag, clusterTag} {
		image := clusterRepo + "/pylon-speaker:" + tag
		samplers := make([]*lab.Sampler, len(vips))
		watchers := make([]*arpWatcher, len(vips))
		for i, vip := range vips {
			samplers[i] = l.LocalClient.StartSampler(ctx, vip, 80)
			watchers[i] = watchARP(ctx, l, vip, 2, nil)
		}
		neigh := watchNeighbours(ctx, l, vips...)
		time.Sleep(500 * time.Millisecond)
		took := c.rollSpeakers(t, image)
		time.Sleep(time.Second)
		t.Logf("speakers rolled onto %s in %v", image, took.Round(time.Millisecond))
		macs, reads, errs := neigh.stop()
		t.Logf("the client's neighbour table read %d times (%d failed)", reads, errs)
		for i, vip := range vips {
			rep, _ := samplers[i].Stop()
			probes := watchers[i].stop()
			ranked := election.Ranked(vip, nodes)
			allowed := ranked[:2] // the owner, and its successor while the owner's speaker is replaced
			arpAnswers := map[string]int{}
			for _, p := range probes {
				for _, w := range p.who {
					arpAnswers[w]++
				}
			}
			t.Logf("%s (owner %s, then %s) rolling onto %s: %d probes, %d lost, longest gap %v; %d ARP probes, answers %v; the client's neighbour entry on %v",
				vip, ranked[0], ranked[1], tag, rep.Samples, rep.Failures, rep.LongestGap.Round(time.Millisecond), len(probes), arpAnswers, macs[vip])
			for node, n := range arpAnswers {
				if !slices.Contains(allowed, node) {
					t.Errorf("%s: ARP answered %d times by %s, which never owned it (allowed: %v)", vip, n, node, allowed)
				}
			}
			// Not an assertion yet: on pylon as it is, a third node took
			// the client for about a second in one roll of four (it did
			// not answer ARP requests then; see docs/reliability.md).
			for node, n := range macs[vip] {
				if !slices.Contains(allowed, node) {
					t.Logf("%s: NOTE the client's neighbour entry pointed %d times (every 20 ms) to %s, neither owner nor successor", vip, n, node)
				}
			}
			if arpAnswers[ranked[0]] == 0 {
				t.Errorf("%s: its owner %s never answered ARP: the watch saw nothing", vip, ranked[0])
			}
			// The address moves twice: to the successor while the owner's
			// speaker is replaced, and back. Each move may cost the one
			// probe whose connection began at the previous holder (the
			// next one has no conntrack entry for it).
			if rep.Samples == 0 || rep.Failures > 2 {
				t.Errorf("%s: %d probes, %d lost, want at most one a move (two)", vip, rep.Samples, rep.Failures)
			}
		}
	}
	waitMembersAlive(t, l)
}

// rollSpeakers sets the speaker DaemonSet's image and waits until the
// rolling update is done: the DaemonSet controller has seen the change,
// every node has one up-to-date speaker pod, Ready, and every speaker pod
// runs image (by its image ID: not the one the pods ran before). It
// returns how long the roll took from the change.
func (c *cluster) rollSpeakers(t *testing.T, image string) time.Duration {
	t.Helper()
	l, ctx := c.lab, c.ctx
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: pylonNS, Name: "pylon-speaker"}}
	if err := l.Client.Get(ctx, client.ObjectKeyFromObject(ds), ds); err != nil {
		t.Fatal(err)
	}
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType ||
		ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 1 {
		t.Fatalf("speaker DaemonSet update strategy %+v, want a rolling update with maxUnavailable 1", ds.Spec.UpdateStrategy)
	}
	oldIDs := map[string]bool{}
	for _, p := range c.speakerPods(t) {
		for _, s := range p.Status.ContainerStatuses {
			oldIDs[s.ImageID] = true
		}
	}
	patch := client.MergeFrom(ds.DeepCopy())
	ds.Spec.Template.Spec.Containers[0].Image = image
	began := time.Now()
	if err := l.Client.Patch(ctx, ds, patch); err != nil {
		t.Fatal(err)
	}
	n := int32(len(l.Nodes))
	poll.Eventually(t, 50*time.Millisecond, 3*time.Minute, "every speaker on "+image, func() (bool, string) {
		if err := l.Client.Get(ctx, client.ObjectKeyFromObject(ds), ds); err != nil {
			return false, err.Error()
		}
		st := ds.Status
		if st.ObservedGeneration < ds.Generation || st.UpdatedNumberScheduled != n || st.NumberReady != n || st.NumberAvailable != n || st.DesiredNumberScheduled != n {
			return false, fmt.Sprintf("DaemonSet generation %d observed %d; %d updated, %d ready, %d available of %d",
				ds.Generation, st.ObservedGeneration, st.UpdatedNumberScheduled, st.NumberReady, st.NumberAvailable, st.DesiredNumberScheduled)
		}
		pods := c.speakerPods(t)
		var on []string
		for _, p := range pods {
			if p.DeletionTimestamp != nil || len(p.Status.ContainerStatuses) != 1 {
				return false, "pod " + p.Name + " going or starting"
			}
			s := p.Status.ContainerStatuses[0]
			if p.Spec.Containers[0].Image != image || !s.Ready || s.ImageID == "" || oldIDs[s.ImageID] {
				return false, fmt.Sprintf("pod %s on %s: image %s (ID %s), ready %v", p.Name, p.Spec.NodeName, p.Spec.Containers[0].Image, s.ImageID, s.Ready)
			}
			on = append(on, p.Spec.NodeName)
		}
		slices.Sort(on)
		return slices.Equal(on, nodeNames(l)), fmt.Sprintf("speakers on %v", on)
	})
	return time.Since(began)
}

// speakerPods are the speaker DaemonSet's pods.
func (c *cluster) speakerPods(t *testing.T) []corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	if err := c.lab.Client.List(c.ctx, &pods, client.InNamespace(pylonNS), client.MatchingLabels{"app.kubernetes.io/component": "speaker"}); err != nil {
		t.Fatal(err)
	}
	return pods.Items
}
