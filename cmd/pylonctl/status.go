package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker"
)

func (a *app) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Is pylon healthy: controller leader, speakers, memberlist, pools, objects, BGP sessions",
		Long: `status reads the controller's leader Lease, pylon's pods, the Nodes, every
SpeakerStatus and pylon's resources, and says whether pylon is healthy.

Unhealthy (exit status 1): no controller leader; no speaker, or a speaker pod
not Ready; a speaker whose memberlist sees fewer speakers alive than there
are; a layer-2 conflict; a speaker that could not apply its plan or has no
BGP router ID; a BGP session not Established; a pylon object that is
Invalid, Overlapping or not Ready. Warnings (exit status 0): nodes without a
speaker, pools holding unsafe addresses, exhausted pools, objects the
controller has not looked at yet.`,
		Example: `  pylonctl status
  pylonctl status -o json | jq .problems
  kubectl pylon status --context prod || alert "pylon unhealthy"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			in, err := readStatus(cmd.Context(), c, a.pylonNamespace, a.clock.Now())
			if err != nil {
				return err
			}
			r := evaluate(in, a.clock.Now())
			if err := a.print(r, r.table(a.clock.Now())); err != nil {
				return err
			}
			if !r.Healthy {
				return exitCode(exitProblem)
			}
			return nil
		},
	}
}

// statusInputs is everything status reads.
type statusInputs struct {
	leader leader
	// controllerPods and speakerPods are nil when pods could not be
	// listed (forbidden): podsNote says so.
	controllerPods, speakerPods []corev1.Pod
	podsNote                    string
	nodes                       []corev1.Node
	speakers                    []v1alpha1.SpeakerStatus
	pools                       []v1alpha1.IPPool
	l2                          []v1alpha1.L2Advertisement
	bgpAds                      []v1alpha1.BGPAdvertisement
	peers                       []v1alpha1.BGPPeer
}

func readStatus(ctx context.Context, c client.Client, ns string, now time.Time) (*statusInputs, error) {
	in := &statusInputs{}
	var err error
	if in.leader, err = readLeader(ctx, c, ns, now); err != nil {
		return nil, err
	}
	in.controllerPods, err = pods(ctx, c, ns, "controller")
	if err == nil {
		in.speakerPods, err = pods(ctx, c, ns, "speaker")
	}
	switch {
	case apierrors.IsForbidden(err):
		// An operator may read pylon's objects without reading pods.
		in.controllerPods, in.speakerPods = nil, nil
		in.podsNote = "pods not checked: " + err.Error()
	case err != nil:
		return nil, err
	}
	var nodes corev1.NodeList
	var spk v1alpha1.SpeakerStatusList
	var pools v1alpha1.IPPoolList
	var l2 v1alpha1.L2AdvertisementList
	var bgpAds v1alpha1.BGPAdvertisementList
	var peers v1alpha1.BGPPeerList
	for _, l := range []client.ObjectList{&nodes, &spk, &pools, &l2, &bgpAds, &peers} {
		if err := c.List(ctx, l); err != nil {
			return nil, fmt.Errorf("list %T: %w", l, err)
		}
	}
	in.nodes, in.speakers, in.pools, in.l2, in.bgpAds, in.peers = nodes.Items, spk.Items, pools.Items, l2.Items, bgpAds.Items, peers.Items
	return in, nil
}

// statusReport is what status prints.
type statusReport struct {
	Healthy    bool          `json:"healthy"`
	Controller controllerRow `json:"controller"`
	// Nodes counts the cluster's Nodes; Speakers has a row per node
	// with a speaker pod or a SpeakerStatus, and per node without.
	Nodes       int          `json:"nodes"`
	Speakers    []speakerRow `json:"speakers"`
	Pools       []poolRow    `json:"pools"`
	BGPSessions sessionCount `json:"bgpSessions"`
	Problems    []finding    `json:"problems,omitempty"`
	Warnings    []finding    `json:"warnings,omitempty"`
}

type controllerRow struct {
	Leader leader   `json:"leader"`
	Pods   []podRow `json:"pods,omitempty"`
}

type podRow struct {
	Name  string `json:"name"`
	Node  string `json:"node,omitempty"`
	Ready bool   `json:"ready"`
	Image string `json:"image,omitempty"`
}

type speakerRow struct {
	Node string `json:"node"`
	// Pod is the speaker pod on the node; "" when none.
	Pod      string `json:"pod,omitempty"`
	PodReady bool   `json:"podReady"`
	// Reported: the node has a SpeakerStatus.
	Reported bool `json:"reported"`
	// MembersAlive counts the known speakers this one's memberlist sees
	// alive, of Known (SpeakerStatuses on existing nodes, as the
	// speakers count them).
	MembersAlive int          `json:"membersAlive"`
	Known        int          `json:"known"`
	Sessions     sessionCount `json:"bgpSessions"`
	Announced    int32        `json:"announced"`
	Version      string       `json:"version,omitempty"`
	// Conditions lists the SpeakerStatus conditions that are not as they
	// should be, as Type=Status (Reason).
	Conditions []string `json:"conditions,omitempty"`
}

type sessionCount struct {
	Established int `json:"established"`
	Total       int `json:"total"`
}

func (s sessionCount) String() string { return fmt.Sprintf("%d/%d", s.Established, s.Total) }

type poolRow struct {
	Name       string   `json:"name"`
	Family     string   `json:"family"`
	Allocated  int64    `json:"allocated"`
	Available  string   `json:"available"`
	Total      string   `json:"total"`
	Conditions []string `json:"conditions,omitempty"`
}

// finding is one problem or warning about one object.
type finding struct {
	Object  string `json:"object"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func (f finding) String() string { return fmt.Sprintf("%s: %s: %s", f.Object, f.Reason, f.Message) }

// evaluate turns what status read into its report.
func evaluate(in *statusInputs, now time.Time) *statusReport {
	r := &statusReport{Nodes: len(in.nodes)}
	problem := func(obj, reason, msg string) { r.Problems = append(r.Problems, finding{obj, reason, msg}) }
	warn := func(obj, reason, msg string) { r.Warnings = append(r.Warnings, finding{obj, reason, msg}) }
	if in.podsNote != "" {
		warn("Pods", "NotChecked", in.podsNote)
	}

	r.Controller = controllerRow{Leader: in.leader}
	if in.leader.Pod == "" {
		r.Controller.Leader.Version = ""
	}
	readyControllers := 0
	for i := range in.controllerPods {
		p := &in.controllerPods[i]
		row := podRow{Name: p.Name, Node: p.Spec.NodeName, Ready: podReady(p), Image: image(p)}
		r.Controller.Pods = append(r.Controller.Pods, row)
		if row.Ready {
			readyControllers++
		} else {
			warn("Pod "+p.Namespace+"/"+p.Name, "NotReady", "controller pod not Ready")
		}
	}
	lease := "Lease " + in.leader.Lease
	switch {
	case !in.leader.Found && readyControllers > 0:
		warn(lease, "NoLease", "no leader Lease: the controller runs without --leader-elect (one replica only, then)")
	case !in.leader.Found:
		problem(lease, "NoLeader", "no leader Lease and no Ready controller pod: nobody assigns addresses")
	case in.leader.Pod == "":
		problem(lease, "NoLeader", "nobody holds the leader Lease: nobody assigns addresses")
	case in.leader.Expired:
		problem(lease, "LeaseExpired", fmt.Sprintf("leader %s last renewed the Lease %s ago: nobody assigns addresses", in.leader.Pod, ago(now, in.leader.Renewed)))
	}

	r.evaluateSpeakers(in, problem, warn)
	r.evaluatePools(in, problem, warn)
	for _, o := range objectConditions(in) {
		for _, c := range o.conds {
			switch {
			case c.Type == v1alpha1.ConditionInvalid && c.Status == metav1.ConditionTrue,
				c.Type == v1alpha1.ConditionOverlapping && c.Status == metav1.ConditionTrue:
				problem(o.name, c.Type, c.Message)
			case c.Type == v1alpha1.ConditionUnsafeAddresses && c.Status == metav1.ConditionTrue:
				warn(o.name, c.Type, c.Message)
			case c.Type == v1alpha1.ConditionReady && c.Status == metav1.ConditionFalse &&
				!meta.IsStatusConditionTrue(o.conds, v1alpha1.ConditionInvalid) && !meta.IsStatusConditionTrue(o.conds, v1alpha1.ConditionOverlapping):
				problem(o.name, "NotReady", c.Reason+": "+c.Message)
			}
		}
		if o.observed < o.generation {
			warn(o.name, "NotObserved", fmt.Sprintf("the controller has not looked at generation %d yet (status describes %d)", o.generation, o.observed))
		}
	}
	r.Healthy = len(r.Problems) == 0
	return r
}

func image(p *corev1.Pod) string {
	if len(p.Spec.Containers) == 0 {
		return ""
	}
	return p.Spec.Containers[0].Image
}

// evaluateSpeakers fills the speaker rows: one per node (with a speaker
// or not) and per SpeakerStatus of a node that is gone.
func (r *statusReport) evaluateSpeakers(in *statusInputs, problem, warn func(obj, reason, msg string)) {
	nodes := map[string]bool{}
	for _, n := range in.nodes {
		nodes[n.Name] = true
	}
	podOn := map[string]*corev1.Pod{}
	for i := range in.speakerPods {
		podOn[in.speakerPods[i].Spec.NodeName] = &in.speakerPods[i]
	}
	statusOf := map[string]*v1alpha1.SpeakerStatus{}
	var known []string
	for i := range in.speakers {
		s := &in.speakers[i]
		statusOf[s.Name] = s
		if nodes[s.Name] {
			known = append(known, s.Name)
		}
	}
	names := slices.Sorted(maps.Keys(nodes))
	if len(in.speakers) == 0 && len(in.speakerPods) == 0 {
		problem("Speakers", "NoSpeaker", "no speaker runs and none has reported: nothing announces any address")
	}
	for _, node := range names {
		row := speakerRow{Node: node, Known: len(known)}
		obj := "Node " + node
		if p := podOn[node]; p != nil {
			row.Pod, row.PodReady = p.Name, podReady(p)
			if !row.PodReady {
				problem("Pod "+p.Namespace+"/"+p.Name, "NotReady", "speaker pod on node "+node+" not Ready")
			}
		} else if in.podsNote == "" {
			if statusOf[node] != nil {
				problem(obj, "NoSpeaker", "the node has a SpeakerStatus but no speaker pod: the other speakers count it as a speaker and miss it")
			} else {
				warn(obj, "NoSpeaker", "no speaker pod on this node (the DaemonSet may leave it out on purpose)")
			}
		}
		if st := statusOf[node]; st != nil {
			// A SpeakerStatus without a speaker is stale: its memberlist
			// view is not checked (NoSpeaker says what is wrong).
			running := row.Pod != "" || in.podsNote != ""
			r.speakerStatusRow(&row, st, known, running, problem)
		}
		r.Speakers = append(r.Speakers, row)
		r.BGPSessions.Established += row.Sessions.Established
		r.BGPSessions.Total += row.Sessions.Total
	}
	for _, s := range in.speakers {
		if !nodes[s.Name] {
			warn("SpeakerStatus "+s.Name, "NodeGone", "no Node of this name: the speakers do not count it")
		}
	}
}

// speakerStatusRow fills row from the node's SpeakerStatus.
func (r *statusReport) speakerStatusRow(row *speakerRow, st *v1alpha1.SpeakerStatus, known []string, running bool, problem func(obj, reason, msg string)) {
	obj := "SpeakerStatus " + st.Name
	row.Reported, row.Announced, row.Version = true, st.Status.Announced, st.Labels[v1alpha1.LabelVersion]
	alive := map[string]bool{}
	for _, m := range st.Status.Members {
		alive[m.Name] = m.State == "Alive"
	}
	var missing []string
	for _, k := range known {
		if alive[k] {
			row.MembersAlive++
		} else {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 && running {
		problem(obj, "MembersMissing", fmt.Sprintf("memberlist sees %d of %d speakers alive; not alive: %s", row.MembersAlive, len(known), strings.Join(missing, ", ")))
	}
	for _, s := range st.Status.BGPSessions {
		row.Sessions.Total++
		if s.State == "Established" {
			row.Sessions.Established++
			continue
		}
		msg := fmt.Sprintf("session with %s (%s) is %s", s.Peer, s.PeerAddress, s.State)
		if s.Since != nil {
			msg += " since " + s.Since.UTC().Format(time.RFC3339)
		}
		if s.LastError != "" {
			msg += "; last error: " + s.LastError
		}
		problem(obj, "BGPSessionDown", msg)
	}
	for _, c := range st.Status.Conditions {
		bad := c.Type == speaker.ConditionLayer2Conflict && c.Status == metav1.ConditionTrue ||
			(c.Type == speaker.ConditionAnnouncing || c.Type == speaker.ConditionBGP) && c.Status == metav1.ConditionFalse
		if bad {
			row.Conditions = append(row.Conditions, fmt.Sprintf("%s=%s (%s)", c.Type, c.Status, c.Reason))
			problem(obj, c.Type, c.Message)
		}
	}
}

// evaluatePools fills a row per pool and family from the pools' status.
func (r *statusReport) evaluatePools(in *statusInputs, _, warn func(obj, reason, msg string)) {
	for _, p := range in.pools {
		var conds []string
		for _, c := range p.Status.Conditions {
			if c.Status == metav1.ConditionTrue {
				conds = append(conds, c.Type)
			} else if c.Type == v1alpha1.ConditionReady {
				conds = append(conds, "NotReady")
			}
		}
		for _, fam := range []struct {
			name   string
			counts *v1alpha1.AddressCounts
		}{{"IPv4", p.Status.IPv4}, {"IPv6", p.Status.IPv6}} {
			if fam.counts == nil {
				continue
			}
			r.Pools = append(r.Pools, poolRow{Name: p.Name, Family: fam.name, Allocated: fam.counts.Allocated,
				Available: fam.counts.Available, Total: fam.counts.Total, Conditions: conds})
			// An Overlapping pool gives out nothing: not for want of addresses.
			if fam.counts.Available == "0" && fam.counts.Total != "0" && !meta.IsStatusConditionTrue(p.Status.Conditions, v1alpha1.ConditionOverlapping) {
				warn("IPPool "+p.Name, "Exhausted", "no "+fam.name+" address left")
			}
		}
		if p.Status.IPv4 == nil && p.Status.IPv6 == nil {
			r.Pools = append(r.Pools, poolRow{Name: p.Name, Family: "-", Available: "-", Total: "-", Conditions: conds})
		}
	}
}

// objectStatus is one pylon object's conditions and generations.
type objectStatus struct {
	name                 string
	conds                []metav1.Condition
	generation, observed int64
}

func objectConditions(in *statusInputs) []objectStatus {
	var out []objectStatus
	for _, p := range in.pools {
		out = append(out, objectStatus{"IPPool " + p.Name, p.Status.Conditions, p.Generation, p.Status.ObservedGeneration})
	}
	for _, a := range in.l2 {
		out = append(out, objectStatus{"L2Advertisement " + a.Name, a.Status.Conditions, a.Generation, a.Status.ObservedGeneration})
	}
	for _, a := range in.bgpAds {
		out = append(out, objectStatus{"BGPAdvertisement " + a.Name, a.Status.Conditions, a.Generation, a.Status.ObservedGeneration})
	}
	for _, p := range in.peers {
		out = append(out, objectStatus{"BGPPeer " + p.Name, p.Status.Conditions, p.Generation, p.Status.ObservedGeneration})
	}
	return out
}
