package main

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker/election"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/poll"
)

// TestWhy runs pylon's controller against a real API server with three
// nodes, their speaker pods and SpeakerStatuses, and asks pylonctl why
// about Services in every state: announced over layer 2 (owner confirmed,
// contradicted, doubled, moved by an exclusion label, split views),
// externalTrafficPolicy Local, BGP, pending, not announced, not served,
// missing.
func TestWhy(t *testing.T) {
	k := startCluster(t)
	nodes := []string{"node-a", "node-b", "node-c"}
	nodeObjs := map[string]*corev1.Node{}
	for i, n := range nodes {
		nodeObjs[n] = k.node(n, fmt.Sprintf("198.18.0.%d", i+1))
		k.pod("pylon-speaker-"+strings.TrimPrefix(n, "node-"), "speaker", n, true)
	}
	k.startController("v0.1.0")
	noAuto := gen.AutoAssign(false)
	k.pool("l2", []string{"198.51.100.0/25"})
	k.pool("bgp", []string{"203.0.113.0/25"}, noAuto)
	k.pool("quiet", []string{"203.0.113.128/26"}, noAuto)
	k.pool("tiny", []string{"198.51.100.200/32"}, noAuto)
	k.create(
		gen.L2Advertisement("lab", gen.L2Pools("l2", "tiny")),
		&v1alpha1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "router"}, Spec: v1alpha1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513, PeerAddress: "192.0.2.1",
			PasswordSecretRef: &v1alpha1.SecretKeyReference{Name: "router-password"}}},
		gen.BGPAdvertisement("routes", gen.BGPPools("bgp")),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
	)
	pool := func(name string) func(*corev1.Service) { return gen.Annotated("pylonlb.io/pool", name) }

	web := k.lbService("shop", "web", pool("l2"))
	webIP := netip.MustParseAddr(k.waitAddress(web))
	ranked := election.Ranked(webIP, nodes)
	owner := ranked[0]
	l2 := func(ip netip.Addr, svc string) v1alpha1.Announcement {
		return v1alpha1.Announcement{IP: ip.String(), Service: "shop/" + svc, Protocol: "Layer2", Interface: "eth0"}
	}
	for _, n := range nodes {
		k.speakerStatus(n, nodes, nil)
	}
	why := func(t *testing.T, svc string, extra ...string) (*whyReport, int) {
		t.Helper()
		var r whyReport
		code := k.ctlJSON(&r, append([]string{"why", "svc/" + svc, "-n", "shop"}, extra...)...)
		return &r, code
	}

	t.Run("layer 2, confirmed by the owner's SpeakerStatus", func(t *testing.T) {
		k.speakerStatus(owner, nodes, announce(l2(webIP, "web")))
		r, code := why(t, "web")
		if code != exitOK || len(r.Addresses) != 1 || len(r.Problems) != 0 {
			t.Fatalf("exit %d, report %+v", code, r)
		}
		a := r.Addresses[0]
		// The controller records the pool on the Service (its annotation).
		if a.IP != webIP.String() || a.Pool != "l2" || a.PoolSource != "annotation" || a.BGP != nil || a.Layer2 == nil {
			t.Fatalf("address %+v", a)
		}
		l := a.Layer2
		if l.Owner != owner || !slices.Equal(l.Ranked, ranked) || !slices.Equal(l.Advertisements, []string{"lab"}) ||
			l.Check == nil || *l.Check != (check{Result: confirmed, By: bySpeakerStatus, Detail: "SpeakerStatus " + owner + " lists it over Layer2"}) {
			t.Errorf("layer 2 %+v, check %+v; want owner %s, ranked %v", l, l.Check, owner, ranked)
		}
		if r.Controller == nil || r.Controller.Reason != "Allocated" || r.Controller.Source != "condition "+v1alpha1.ConditionAddressAssigned {
			t.Errorf("controller's word %+v", r.Controller)
		}
		code, out, _ := k.ctl("why", "svc/web", "-n", "shop")
		for _, w := range []string{
			"Service:     shop/web (LoadBalancer, externalTrafficPolicy Cluster)",
			"Controller:  Allocated: assigned " + webIP.String() + " (IPPool l2) (condition " + v1alpha1.ConditionAddressAssigned,
			webIP.String() + "  IPPool l2 (from the annotation)",
			"    " + owner + "  Eligible (owner)",
			"    " + ranked[2] + "  Eligible (rank 3)",
		} {
			if code != exitOK || !strings.Contains(out, w) {
				t.Errorf("exit %d; output lacks %q:\n%s", code, w, out)
			}
		}
		// The address's lines are aligned on the address.
		for _, re := range []string{
			`\n  Owner: +` + owner + `\n`,
			`\n  Next: +` + ranked[1] + ", " + ranked[2] + `\n`,
			`\n  Check: +Confirmed by SpeakerStatus: SpeakerStatus ` + owner + ` lists it over Layer2\n`,
		} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("output does not match %s:\n%s", re, out)
			}
		}
		if code, out, _ := k.ctl("why", "web", "-n", "shop", "-o", "yaml"); code != exitOK || !strings.Contains(out, "owner: "+owner+"\n") {
			t.Errorf("-o yaml: exit %d:\n%s", code, out)
		}
	})

	t.Run("contradicted: the owner's whole list lacks it", func(t *testing.T) {
		k.speakerStatus(owner, nodes, announce())
		r, code := why(t, "web")
		c := r.Addresses[0].Layer2.Check
		if code != exitProblem || c.Result != contradicted || c.By != bySpeakerStatus || len(r.Problems) != 1 ||
			!strings.Contains(r.Problems[0], "SpeakerStatus "+owner+" does not list it over Layer2") {
			t.Errorf("exit %d, check %+v, problems %q", code, c, r.Problems)
		}
		// What may explain it is said.
		k.speakerStatus(owner, nodes, func(st *v1alpha1.SpeakerStatus) {
			st.Status.Conditions[0] = metav1.Condition{Type: "Layer2Conflict", Status: metav1.ConditionTrue, Reason: "OtherMACAnswers",
				Message: "also answered: " + webIP.String() + " by 02:00:00:00:00:09 on eth0 (this node sees a minority of the speakers and yields)", LastTransitionTime: metav1.Now()}
		})
		r, _ = why(t, "web")
		if c := r.Addresses[0].Layer2.Check; c.Result != contradicted || !strings.Contains(c.Detail, "(Layer2Conflict=True: also answered: "+webIP.String()+" by 02:00:00:00:00:09 on eth0 (this node sees a minority of the speakers and yields))") {
			t.Errorf("check %+v", c)
		}
	})

	t.Run("an owner without an interface for it hands it on", func(t *testing.T) {
		k.speakerStatus(owner, nodes, func(st *v1alpha1.SpeakerStatus) { st.Status.NoInterface = []string{webIP.String()} })
		k.speakerStatus(ranked[1], nodes, announce(l2(webIP, "web")))
		defer k.speakerStatus(ranked[1], nodes, nil)
		r, code := why(t, "web")
		l := r.Addresses[0].Layer2
		if code != exitOK || l.Owner != ranked[1] || !slices.Contains(l.Nodes, standing{owner, "NoInterface"}) || l.Check.Result != confirmed {
			t.Errorf("exit %d, owner %s, standings %v, check %+v; want %s, %s NoInterface", code, l.Owner, l.Nodes, l.Check, ranked[1], owner)
		}
	})

	t.Run("two nodes answer", func(t *testing.T) {
		k.speakerStatus(owner, nodes, announce(l2(webIP, "web")))
		k.speakerStatus(ranked[1], nodes, announce(l2(webIP, "web")))
		r, code := why(t, "web")
		if l := r.Addresses[0].Layer2; code != exitProblem || !slices.Equal(l.AlsoAnnouncing, []string{ranked[1]}) || l.Check.Result != confirmed {
			t.Errorf("exit %d, layer 2 %+v", code, l)
		}
		k.speakerStatus(ranked[1], nodes, nil)
	})

	t.Run("the owner excluded by label: the next in rank owns it", func(t *testing.T) {
		n := nodeObjs[owner]
		k.update(n, false, func() { n.Labels = map[string]string{election.ExcludeLabel: ""} })
		defer k.update(n, false, func() { n.Labels = nil })
		r, code := why(t, "web")
		l := r.Addresses[0].Layer2
		if l.Owner != ranked[1] || !slices.Contains(l.Nodes, standing{owner, "ExcludedByLabel"}) {
			t.Errorf("owner %s, standings %v; want %s, %s ExcludedByLabel", l.Owner, l.Nodes, ranked[1], owner)
		}
		// ranked[1] does not list it: contradicted.
		if code != exitProblem || l.Check.Result != contradicted {
			t.Errorf("exit %d, check %+v", code, l.Check)
		}
	})

	t.Run("the speakers' memberlist views differ", func(t *testing.T) {
		loner := ranked[2]
		k.speakerStatus(loner, []string{loner}, nil)
		defer k.speakerStatus(loner, nodes, nil)
		r, code := why(t, "web")
		l := r.Addresses[0].Layer2
		want := []ownerView{{owner, []string{owner, ranked[1]}}, {loner, []string{loner}}}
		slices.Sort(want[0].Speakers)
		if code != exitProblem || l.Owner != owner || len(l.Views) != 2 || l.Views[0].Owner != want[0].Owner || !slices.Equal(sorted(l.Views[0].Speakers), want[0].Speakers) ||
			l.Views[1].Owner != loner || !slices.Equal(l.Views[1].Speakers, want[1].Speakers) {
			t.Errorf("exit %d, owner %s, views %+v; want %+v", code, l.Owner, l.Views, want)
		}
	})

	t.Run("externalTrafficPolicy Local: only the node with the endpoint", func(t *testing.T) {
		local := k.lbService("shop", "local", pool("l2"), func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		})
		k.endpoints(local, "node-c")
		r, _ := why(t, "local")
		l := r.Addresses[0].Layer2
		if !l.Local || l.Owner != "node-c" || !slices.Equal(l.Nodes, []standing{{"node-a", "NoReadyEndpoint"}, {"node-b", "NoReadyEndpoint"}, {"node-c", "Eligible (owner)"}}) {
			t.Errorf("layer 2 %+v", l)
		}
	})

	t.Run("BGP: the nodes announcing and their sessions", func(t *testing.T) {
		routed := k.lbService("shop", "routed", pool("bgp"))
		ip := k.waitAddress(routed)
		k.endpoints(routed, "node-b")
		session := func(state string) func(*v1alpha1.SpeakerStatus) {
			return func(st *v1alpha1.SpeakerStatus) {
				st.Status.BGPSessions = []v1alpha1.BGPSessionStatus{{Peer: "router", PeerAddress: "192.0.2.1", State: state, PrefixesSent: 1}}
				if state == "Established" {
					st.Status.Announcements = []v1alpha1.Announcement{{IP: ip, Service: "shop/routed", Protocol: "BGP"}}
					st.Status.Announced = 1
				}
			}
		}
		k.speakerStatus("node-a", nodes, session("Established"))
		k.speakerStatus("node-b", nodes, session("Active"))
		defer k.speakerStatus("node-a", nodes, nil)
		defer k.speakerStatus("node-b", nodes, nil)
		r, code := why(t, "routed")
		b := r.Addresses[0].BGP
		if code != exitOK || b == nil || r.Addresses[0].Layer2 != nil || !slices.Equal(b.Announcing, []string{"node-a"}) || len(b.Nodes) != 3 {
			t.Fatalf("exit %d, report %+v", code, r)
		}
		got := map[string]string{}
		for _, n := range b.Nodes {
			var s []string
			for _, p := range n.Peers {
				s = append(s, p.Peer+" "+p.State)
			}
			c := ""
			if n.Check != nil {
				c = n.Check.Result + " by " + n.Check.By
			}
			got[n.Node] = fmt.Sprintf("%v %v %s %s", n.Announces, s, n.Why, c)
		}
		want := map[string]string{
			"node-a": "true [router Established]  Confirmed by SpeakerStatus",
			"node-b": "false [router Active] no session carrying it is Established ",
			"node-c": "false [router NoSession] no session carrying it is Established ",
		}
		for n, w := range want {
			if got[n] != w {
				t.Errorf("%s: %q, want %q", n, got[n], w)
			}
		}
		// No ready endpoint anywhere: nobody offers it.
		if err := k.c.DeleteAllOf(t.Context(), &discoveryv1.EndpointSlice{}, client.InNamespace("shop"), client.MatchingLabels{"kubernetes.io/service-name": "routed"}); err != nil {
			t.Fatal(err)
		}
		r, code = why(t, "routed")
		if b := r.Addresses[0].BGP; code != exitProblem || len(b.Announcing) != 0 || b.Nodes[1].Why != "shop/routed: no ready endpoint" {
			t.Errorf("exit %d, BGP %+v", code, b)
		}
	})

	t.Run("pending: the pool is exhausted", func(t *testing.T) {
		k.waitAddress(k.lbService("shop", "first", pool("tiny")))
		k.lbService("shop", "second", pool("tiny"))
		var r *whyReport
		var code int
		poll.Eventually(t, 50*time.Millisecond, 15*time.Second, "the controller's reason", func() bool {
			r, code = why(t, "second")
			return r.Controller != nil
		})
		if code != exitProblem || len(r.Addresses) != 0 || !strings.HasPrefix(r.Pending, "no address: PoolExhausted: ") {
			t.Errorf("exit %d, pending %q, addresses %v", code, r.Pending, r.Addresses)
		}
	})

	t.Run("not announced", func(t *testing.T) {
		k.waitAddress(k.lbService("shop", "quiet", pool("quiet")))
		r, code := why(t, "quiet")
		if a := r.Addresses[0]; code != exitProblem || a.Layer2 != nil || a.BGP != nil ||
			a.NotAnnounced != "no L2Advertisement covers its IPPool; no BGPAdvertisement covers IPPool quiet either" {
			t.Errorf("exit %d, address %+v", code, a)
		}
	})

	t.Run("serviceSelectors that select none of its Services", func(t *testing.T) {
		k.pool("picky", []string{"203.0.113.192/28"}, noAuto)
		k.pool("picky-l2", []string{"198.51.100.208/28"}, noAuto)
		db := []v1alpha1.LabelSelector{{MatchLabels: map[string]v1alpha1.LabelValue{"app": "db"}}}
		k.create(
			&v1alpha1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "only-db"}, Spec: v1alpha1.BGPAdvertisementSpec{IPPools: []v1alpha1.ObjectName{"picky"}, ServiceSelectors: db}},
			&v1alpha1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "only-db-l2"}, Spec: v1alpha1.L2AdvertisementSpec{IPPools: []v1alpha1.ObjectName{"picky-l2"}, ServiceSelectors: db}},
		)
		webLabel := func(s *corev1.Service) { s.Labels = map[string]string{"app": "web"} }
		routed := k.lbService("shop", "picky-web", pool("picky"), webLabel)
		k.waitAddress(routed)
		k.endpoints(routed, "node-b")
		r, code := why(t, "picky-web")
		b := r.Addresses[0].BGP
		if code != exitProblem || b == nil || len(b.Announcing) != 0 || len(b.Nodes) != 3 {
			t.Fatalf("exit %d, report %+v", code, r)
		}
		for _, n := range b.Nodes {
			if !strings.Contains(n.Why, "the serviceSelectors of only-db select none of its Services") {
				t.Errorf("%s: why %q", n.Node, n.Why)
			}
		}
		k.waitAddress(k.lbService("shop", "picky-l2-web", pool("picky-l2"), webLabel))
		r, code = why(t, "picky-l2-web")
		if a := r.Addresses[0]; code != exitProblem || a.Layer2 != nil ||
			!strings.Contains(a.NotAnnounced, "no L2Advertisement covering its IPPool selects its Services: the serviceSelectors of only-db-l2 select none of them") {
			t.Errorf("exit %d, address %+v", code, a)
		}

		// Services the selectors select, by the labels on the Service.
		dbLabel := func(s *corev1.Service) { s.Labels = map[string]string{"app": "db"} }
		routedDB := k.lbService("shop", "picky-db", pool("picky"), dbLabel)
		k.waitAddress(routedDB)
		k.endpoints(routedDB, "node-b")
		r, _ = why(t, "picky-db")
		if b := r.Addresses[0].BGP; b == nil || len(b.Nodes) != 3 {
			t.Fatalf("report %+v", r)
		}
		for _, n := range r.Addresses[0].BGP.Nodes {
			if len(n.Peers) != 1 || n.Why != "no session carrying it is Established" {
				t.Errorf("%s: peers %v, why %q: want the router, not announced for want of a session", n.Node, n.Peers, n.Why)
			}
		}
		k.waitAddress(k.lbService("shop", "picky-l2-db", pool("picky-l2"), dbLabel))
		r, _ = why(t, "picky-l2-db")
		if l := r.Addresses[0].Layer2; l == nil || !slices.Equal(l.Advertisements, []string{"only-db-l2"}) || len(l.NotSelecting) != 0 {
			t.Errorf("layer 2 %+v, not announced %q", l, r.Addresses[0].NotAnnounced)
		}
	})

	t.Run("not served", func(t *testing.T) {
		k.create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "internal"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}})
		other := "example.com/other"
		k.lbService("shop", "elsewhere", func(s *corev1.Service) { s.Spec.LoadBalancerClass = &other })
		for svc, want := range map[string]string{
			"internal":  "not a LoadBalancer Service (type ClusterIP)",
			"elsewhere": `its loadBalancerClass is "example.com/other"; pylon serves "" here (--load-balancer-class)`,
		} {
			if r, code := why(t, svc); code != exitProblem || r.Served || r.NotServed != want {
				t.Errorf("%s: exit %d, served %v %q", svc, code, r.Served, r.NotServed)
			}
		}
		// Served by a pylon of that class, which is not running here.
		r, code := why(t, "elsewhere", "--load-balancer-class", other)
		if code != exitProblem || !r.Served || !strings.Contains(r.Pending, "the controller has said nothing about it") {
			t.Errorf("exit %d, %+v", code, r)
		}
	})

	t.Run("not found", func(t *testing.T) {
		code, _, errOut := k.ctl("why", "svc/nope", "-n", "shop")
		if code != exitError || !strings.Contains(errOut, `services "nope" not found`) {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})

	t.Run("what the controller writes on the Service", func(t *testing.T) {
		r, _ := why(t, "web")
		if c := r.Controller; c == nil || c.Source != "condition "+v1alpha1.ConditionAddressAssigned || c.Reason != v1alpha1.ReasonAllocated ||
			!strings.Contains(c.Message, webIP.String()) {
			t.Errorf("controller's word %+v", c)
		}
		if a := r.Addresses[0]; a.Pool != "l2" || a.PoolSource != "annotation" {
			t.Errorf("pool %q from %q", a.Pool, a.PoolSource)
		}
	})

	t.Run("completion lists the namespace's LoadBalancer Services", func(t *testing.T) {
		code, out, _ := ctl("pylonctl", "__complete", "why", "--kubeconfig", k.env.KubeconfigPath, "-n", "shop", "")
		if code != exitOK || !strings.Contains(out, "svc/web\n") || !strings.Contains(out, "svc/routed\n") || strings.Contains(out, "svc/internal") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
