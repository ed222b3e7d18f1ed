package demo

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/lab"
)

// pylon is pylon's processes in the lab.
type pylon struct {
	controller *lab.Process
	speakers   map[string]*lab.Process
}

// commonFlags are the controller's and speakers' flags in the lab: no
// metrics or probe ports (the controller shares the host's namespace with
// whatever else runs there).
func commonFlags() []string {
	return []string{"--namespace=" + pylonNamespace, "--metrics-bind-address=0", "--health-probe-bind-address=0"}
}

func (d *demo) startPylon(ctx context.Context) ([]string, error) {
	l := d.lab
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pylonNamespace}}
	if err := l.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create namespace %s: %w", pylonNamespace, err)
	}
	var err error
	d.pylon = pylon{speakers: map[string]*lab.Process{}}
	if d.pylon.controller, err = l.StartController(d.bins.controller, commonFlags()...); err != nil {
		return nil, err
	}
	lines := []string{fmt.Sprintf("controller: pid %d in the host's namespace, log %s", d.pylon.controller.PID(), d.pylon.controller.LogPath)}
	for _, n := range l.Nodes {
		sp, err := l.StartOnNode(n, "speaker", d.bins.speaker, append(commonFlags(), "--zap-log-level=info")...)
		if err != nil {
			return lines, err
		}
		d.pylon.speakers[n.Name] = sp
		lines = append(lines, fmt.Sprintf("speaker on %s: pid %d in %s, log %s", n.Name, sp.PID(), n.Netns, sp.LogPath))
	}
	if err := d.waitMembers(ctx, "every speaker to see all three members in memberlist"); err != nil {
		return lines, err
	}
	return append(lines, "memberlist: every speaker sees 3 members alive (SpeakerStatus)"), nil
}

// running fails when the controller or a speaker has exited.
func (d *demo) running() error {
	procs := []*lab.Process{d.pylon.controller}
	for _, n := range d.lab.Nodes {
		procs = append(procs, d.pylon.speakers[n.Name])
	}
	for _, p := range procs {
		if p != nil && !p.Running() {
			return fmt.Errorf("%s %w (%v); the end of %s:\n%s", p.Spec.Name, errExited, p.ExitErr(), p.LogPath, tail(p.Log(), 10))
		}
	}
	return nil
}

// membersAlive maps each SpeakerStatus to the members its speaker sees.
func (d *demo) membersAlive(ctx context.Context) (map[string]int, error) {
	var list v1alpha1.SpeakerStatusList
	if err := d.lab.Client.List(ctx, &list); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, s := range list.Items {
		out[s.Name] = int(s.Status.MembersAlive)
	}
	return out, nil
}

// allEqual reports whether m holds n entries, all equal to v.
func allEqual(m map[string]int, n, v int) bool {
	if len(m) != n {
		return false
	}
	for _, x := range m {
		if x != v {
			return false
		}
	}
	return true
}

func (d *demo) apply(ctx context.Context) ([]string, error) {
	l := d.lab
	for _, p := range d.ex.cfg.BGPPeers {
		if p.Address != l.Router.IPv4 && p.Address != l.Router.IPv6 {
			return nil, fmt.Errorf("BGPPeer %s in %s peers with %s, but the lab's router is %s and %s", p.Name, d.ex.dir, p.Address, l.Router.IPv4, l.Router.IPv6)
		}
	}
	var created []string
	for _, o := range d.ex.objects() {
		if err := l.Client.Create(ctx, o); err != nil {
			return nil, fmt.Errorf("create %T %s: %w", o, o.GetName(), err)
		}
		created = append(created, fmt.Sprintf("%s %s", kindOf(o), o.GetName()))
	}
	lines := []string{"created " + strings.Join(created, ", ")}
	peers := len(d.ex.cfg.BGPPeers)
	want := peers * len(l.Nodes)
	var up []lab.Session
	err := until(ctx, fmt.Sprintf("%d Established BGP sessions on the router (%d per node)", want, peers), func(ctx context.Context) (bool, string, error) {
		if err := d.running(); err != nil {
			return false, "", err
		}
		v, err := l.Router.View(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		up = nil
		var states []string
		for _, s := range v.Sessions {
			states = append(states, fmt.Sprintf("%s %s", s.Peer, s.State))
			if s.Established() {
				up = append(up, s)
			}
		}
		return len(up) == want, fmt.Sprintf("router sessions: %v", states), nil
	})
	if err != nil {
		return lines, err
	}
	sort.Slice(up, func(i, j int) bool { return up[i].Peer.Less(up[j].Peer) })
	d.sum.Sessions = nil
	for _, s := range up {
		d.sum.Sessions = append(d.sum.Sessions, fmt.Sprintf("%s %s AS %d", d.nodeAt(s.Peer), s.Peer, s.RemoteAS))
	}
	lines = append(lines, fmt.Sprintf("router r1 (AS %d) Established with %s", lab.RouterASN, strings.Join(d.sum.Sessions, "; ")))
	return lines, nil
}

// kindOf names an object's kind for people.
func kindOf(o any) string {
	switch o.(type) {
	case *v1alpha1.IPPool:
		return "IPPool"
	case *v1alpha1.L2Advertisement:
		return "L2Advertisement"
	case *v1alpha1.BGPPeer:
		return "BGPPeer"
	case *v1alpha1.BGPAdvertisement:
		return "BGPAdvertisement"
	case *corev1.Secret:
		return "Secret"
	}
	return fmt.Sprintf("%T", o)
}

// nodeAt names the node with address a, or returns a.
func (d *demo) nodeAt(a netip.Addr) string {
	for _, n := range d.lab.Nodes {
		if n.IPv4 == a || n.IPv6 == a {
			return n.Name
		}
	}
	return a.String()
}

// nodeNames names the nodes at addrs, sorted.
func (d *demo) nodeNames(addrs []netip.Addr) []string {
	var out []string
	for _, a := range addrs {
		out = append(out, d.nodeAt(a))
	}
	slices.Sort(out)
	return out
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitMembers waits until every speaker runs and its SpeakerStatus shows
// every node alive in memberlist.
func (d *demo) waitMembers(ctx context.Context, what string) error {
	n := len(d.lab.Nodes)
	return until(ctx, what, func(ctx context.Context) (bool, string, error) {
		if err := d.running(); err != nil {
			return false, "", err
		}
		alive, err := d.membersAlive(ctx)
		return err == nil && allEqual(alive, n, n), fmt.Sprintf("members alive per SpeakerStatus: %v", alive), nil
	})
}
