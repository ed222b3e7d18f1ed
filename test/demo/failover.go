package demo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// settle is how long the samplers run before the failure and after the
// takeover, so the report has answers on both sides.
const settle = 500 * time.Millisecond

// failover makes the owner of web-l2 fail the way a crashed machine
// does, and measures what the clients and the router see.
//
// SIGKILL of the speaker alone would not show a failover: the node's
// kernel keeps answering the clients that already know its MAC, and the
// client sees nothing until the new owner's gratuitous ARP. So the demo
// also has the bridge drop the node's frames (lab.Cut): nothing from the
// node reaches anyone, as when it loses power.
func (d *demo) failover(ctx context.Context) ([]string, error) {
	l := d.lab
	ownerName, ip, bgpIP := d.sum.L2.Owner, d.sum.L2.IP, d.sum.BGP.IP
	owner := l.Node(ownerName)
	if owner == nil {
		return nil, fmt.Errorf("no owner of %s known (%q)", ip, ownerName)
	}
	speaker, err := d.speakerOn(ctx, ownerName)
	if err != nil {
		return nil, err
	}
	d.speakerBefore = speaker
	f := &d.sum.Failover
	f.Owner = ownerName
	f.How = fmt.Sprintf("cut it off the segment (the bridge drops its frames, as if it lost power) and SIGKILL its speaker's container (pod %s, ctr tasks kill)", speaker.Name)
	local := l.LocalClient.StartSampler(ctx, ip, servicePort)
	remote := l.RemoteClient.StartSampler(ctx, bgpIP, servicePort)
	stopSamplers := func() (lab.SampleReport, lab.SampleReport) {
		lr, _ := local.Stop()
		rr, _ := remote.Stop()
		return lr, rr
	}
	if err := sleep(ctx, settle); err != nil {
		stopSamplers()
		return nil, err
	}
	remoteBefore := remote.Snapshot()
	failed := time.Now()
	err = errors.Join(l.Cut(ctx, owner), l.KillContainer(ctx, owner, speaker.Status.ContainerStatuses[0].ContainerID))
	lines := []string{fmt.Sprintf("%s owns %s; now: %s", ownerName, ip, f.How)}
	if err != nil {
		stopSamplers()
		return lines, fmt.Errorf("fail %s: %w", ownerName, err)
	}
	next, err := d.waitTakeover(ctx, ip, ownerName)
	if err != nil {
		stopSamplers()
		return lines, err
	}
	f.TakenOverIn = time.Since(failed)
	survivors := slices.DeleteFunc(d.nodes(), func(n string) bool { return n == ownerName })
	hops, err := d.waitNextHops(ctx, bgpIP, survivors)
	if err != nil {
		stopSamplers()
		return lines, fmt.Errorf("the router kept %s as a next hop of %s: %w", ownerName, bgpIP, err)
	}
	f.BGPWithdrawn, f.BGPNextHops = time.Since(failed), hops
	if err := sleep(ctx, settle); err != nil {
		stopSamplers()
		return lines, err
	}
	lr, rr := stopSamplers()
	f.Next, f.Gap, f.Probes, f.Lost = next, lr.LongestGap, lr.Samples, lr.Failures
	f.RemoteGap, f.RemoteAnswers = rr.LongestGap, answerOrder(rr)
	nextPod := d.podOn(next)
	if lr.Answers[nextPod] == 0 {
		return lines, fmt.Errorf("the local client was never answered by %s: %v", d.who(nextPod), lr)
	}
	if last := lastAnswer(lr); last != nextPod {
		return lines, fmt.Errorf("the local client's last answer came from %s, not the new owner's pod %s: %v", d.who(last), d.who(nextPod), lr)
	}
	lines = append(lines,
		fmt.Sprintf("layer 2: %s took %s over %v after the failure (memberlist noticed, %s sent gratuitous ARP)", next, ip, round(f.TakenOverIn), next),
		fmt.Sprintf("failover time: the local client, probing every %v, went %v without an answer (%d of %d probes unanswered); then %s answered",
			lab.SampleEvery, round(f.Gap), f.Lost, f.Probes, d.who(nextPod)),
		fmt.Sprintf("BGP: the router dropped %s as a next hop of %s after %v (its hold timer: no keepalives from a dead node); now %s",
			ownerName, bgpIP, round(f.BGPWithdrawn), strings.Join(hops, ", ")),
		fmt.Sprintf("remote client: longest gap %v, answered by %s (%s)", round(f.RemoteGap), strings.Join(f.RemoteAnswers, " then "), d.remoteNote(remoteBefore, ownerName)))
	return lines, nil
}

// waitTakeover waits until a node other than old answers ARP for ip alone
// and serves it, and returns that node.
func (d *demo) waitTakeover(ctx context.Context, ip netip.Addr, old string) (string, error) {
	l := d.lab
	var next string
	_, err := poll.Until(ctx, pollEvery, 0, "another node to answer ARP for "+ip.String()+" and serve it", func(ctx context.Context) (bool, string, error) {
		macs, err := l.LocalClient.WhoHas(ctx, ip, 200*time.Millisecond)
		if err != nil {
			return false, err.Error(), nil
		}
		var who []string
		for _, m := range macs {
			if n := l.NodeByMAC(m); n != nil {
				who = append(who, n.Name)
			} else {
				who = append(who, m.String())
			}
		}
		if len(who) != 1 || who[0] == old {
			return false, fmt.Sprintf("ARP answered by %v", who), nil
		}
		got, err := l.LocalClient.Get(ctx, ip, servicePort, 500*time.Millisecond)
		if err != nil || d.backends[got] != who[0] {
			return false, fmt.Sprintf("ARP answered by %s; GET: %q %v", who[0], d.who(got), err), nil
		}
		next = who[0]
		return true, "", nil
	})
	return next, err
}

// remoteNote explains the remote client's figure: the router hashes the
// client's flows to one next hop, which may or may not be the failed node.
func (d *demo) remoteNote(before lab.SampleReport, failed string) string {
	if before.Answers[d.podOn(failed)] > 0 {
		return "the router had hashed its flow to " + failed + ": it waited for the hold timer"
	}
	return "the router had hashed its flow to another node: the failure did not touch it"
}

// answerOrder lists the pods that answered, in order, each once per run.
func answerOrder(r lab.SampleReport) []string {
	if len(r.Changes) == 0 {
		return slices.Sorted(maps.Keys(r.Answers))
	}
	out := []string{r.Changes[0].From}
	for _, c := range r.Changes {
		out = append(out, c.To)
	}
	return out
}

// lastAnswer is the pod that answered last: the last change's target, or
// the only pod that answered.
func lastAnswer(r lab.SampleReport) string {
	if len(r.Changes) > 0 {
		return r.Changes[len(r.Changes)-1].To
	}
	for n := range r.Answers {
		return n
	}
	return ""
}

// speakerOn is the speaker's pod on node, with its one container's status.
func (d *demo) speakerOn(ctx context.Context, node string) (*corev1.Pod, error) {
	var pods corev1.PodList
	if err := d.lab.Client.List(ctx, &pods, client.InNamespace(pylonNamespace), client.MatchingLabels{"app.kubernetes.io/component": "speaker"}); err != nil {
		return nil, err
	}
	for i, p := range pods.Items {
		if p.Spec.NodeName == node && len(p.Status.ContainerStatuses) == 1 {
			return &pods.Items[i], nil
		}
	}
	return nil, fmt.Errorf("no speaker pod with a container status on %s", node)
}

// comeBack heals the failed node's link; its kubelet restarts the
// speaker's container on its own (restartPolicy Always).
func (d *demo) comeBack(ctx context.Context) ([]string, error) {
	l, name := d.lab, d.sum.Failover.Owner
	n := l.Node(name)
	// First, the survivors must have noticed the failure in their
	// SpeakerStatus, or "all see three" below could be their old view.
	_, err := poll.Until(ctx, pollEvery, 0, "the other speakers to report two members alive", func(ctx context.Context) (bool, string, error) {
		alive, err := d.membersAlive(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		for _, other := range d.nodes() {
			if other != name && alive[other] != len(l.Nodes)-1 {
				return false, fmt.Sprintf("members alive per SpeakerStatus: %v", alive), nil
			}
		}
		return true, "", nil
	})
	if err != nil {
		return nil, err
	}
	began := time.Now()
	if err := l.Heal(ctx, n); err != nil {
		return nil, fmt.Errorf("heal %s: %w", name, err)
	}
	r := &d.sum.Return
	before := d.speakerBefore.Status.ContainerStatuses[0]
	var restarts int32
	_, err = poll.Until(ctx, pollEvery, 0, "the kubelet on "+name+" to run the speaker's container again", func(ctx context.Context) (bool, string, error) {
		p, err := d.speakerOn(ctx, name)
		if err != nil {
			return false, err.Error(), nil
		}
		c := p.Status.ContainerStatuses[0]
		restarts = c.RestartCount
		return p.UID == d.speakerBefore.UID && c.RestartCount > before.RestartCount && c.State.Running != nil && c.ContainerID != before.ContainerID,
			fmt.Sprintf("pod %s: restarts %d (were %d), running %t", p.Name, c.RestartCount, before.RestartCount, c.State.Running != nil), nil
	})
	if err != nil {
		return nil, err
	}
	r.Restarted = time.Since(began)
	lines := []string{fmt.Sprintf("%s back on the segment; its kubelet runs the speaker's container again (pod %s, restart %d) %v later", name, d.speakerBefore.Name, restarts, round(r.Restarted))}
	if err := d.waitMembers(ctx, "every speaker to see all three members again"); err != nil {
		return lines, err
	}
	r.Rejoined = time.Since(began)
	if _, err := d.waitNextHops(ctx, d.sum.BGP.IP, d.nodes()); err != nil {
		return lines, err
	}
	r.Routed = time.Since(began)
	// The address goes to whichever node the hash prefers now that all
	// three are back: usually the one that had it.
	if r.Owner, err = d.waitTakeover(ctx, d.sum.L2.IP, ""); err != nil {
		return lines, err
	}
	return append(lines,
		fmt.Sprintf("memberlist: all three speakers see each other again after %v", round(r.Rejoined)),
		fmt.Sprintf("BGP: the router forwards %s to %s again after %v", d.sum.BGP.IP, strings.Join(d.nodes(), ", "), round(r.Routed)),
		fmt.Sprintf("layer 2: %s answers for %s (the hash's choice among all three)", r.Owner, d.sum.L2.IP)), nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
