package config

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// served sets an object's UID and generation, as the API server would.
func served[T interface {
	SetUID(types.UID)
	SetGeneration(int64)
}](o T, uid string, g int64) T {
	o.SetUID(types.UID(uid))
	o.SetGeneration(g)
	return o
}

func poolAt(name, uid string, g int64, addrs ...string) *v1alpha1.IPPool {
	p := pool(name, 0, addrs...)
	return served(&p, uid, g)
}

// inForce is status.inForce as the controller writes it.
func inForce(t *testing.T, g int64, spec any) *v1alpha1.InForce {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return &v1alpha1.InForce{Generation: g, Spec: runtime.RawExtension{Raw: raw}}
}

func wantRanges(t *testing.T, c *Config, pool string, want ...string) {
	t.Helper()
	p := c.Pool(pool)
	if p == nil {
		t.Fatalf("pool %s is not in the model; problems: %+v", pool, c.Problems)
	}
	var got []string
	for _, r := range p.Ranges {
		got = append(got, r.String())
	}
	if len(got) != len(want) {
		t.Fatalf("pool %s ranges = %v, want %v", pool, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("pool %s ranges = %v, want %v", pool, got, want)
		}
	}
}

func wantKept(t *testing.T, c *Config, kind Kind, name, reason string, keptGen int64) {
	t.Helper()
	for _, p := range c.ProblemsFor(kind, name) {
		if p.Reason == reason && p.Rejected && p.KeptGeneration == keptGen {
			if got, want := p.KeptNote(), "stays in force"; !strings.Contains(got, want) {
				t.Errorf("KeptNote %q lacks %q", got, want)
			}
			return
		}
	}
	t.Fatalf("no rejecting %s problem with generation %d kept on %s %s: %+v", reason, keptGen, kind, name, c.Problems)
}

func TestRejectedPoolEditKeepsTheLastAcceptedGeneration(t *testing.T) {
	good := poolAt("edge", "u1", 1, "198.51.100.0/24")
	bad := poolAt("edge", "u1", 2, "198.51.100.0/24", "198.51.100.128/25") // overlapping blocks
	last := Parse(Resources{Pools: []v1alpha1.IPPool{*good}})
	wantNoProblems(t, last)

	t.Run("from the configuration in force", func(t *testing.T) {
		c := Parse(Resources{Pools: []v1alpha1.IPPool{*bad}, Last: last})
		wantRanges(t, c, "edge", "198.51.100.0/24")
		wantKept(t, c, KindIPPool, "edge", ReasonInvalidSpec, 1)
		wantProblem(t, c, KindIPPool, "edge", ReasonInvalidSpec, true, "spec.addresses[1]", "overlaps")
		if p := c.ProblemsFor(KindIPPool, "edge"); len(p) != 1 {
			t.Errorf("problems = %+v, want only the rejection", p)
		}
		if in, ok := c.InForce(KindIPPool, "edge"); !ok || in.Generation != 1 {
			t.Errorf("InForce = %+v, %v; want generation 1", in, ok)
		}
	})
	t.Run("from status.inForce after a restart", func(t *testing.T) {
		b := bad.DeepCopy()
		b.Status.InForce = inForce(t, 1, good.Spec)
		c := Parse(Resources{Pools: []v1alpha1.IPPool{*b}})
		wantRanges(t, c, "edge", "198.51.100.0/24")
		wantKept(t, c, KindIPPool, "edge", ReasonInvalidSpec, 1)
	})
	t.Run("the newer of the two", func(t *testing.T) {
		g3 := poolAt("edge", "u1", 3, "198.51.100.0/25")
		last3 := Parse(Resources{Pools: []v1alpha1.IPPool{*g3}, Last: last})
		b := bad.DeepCopy()
		b.Generation = 4
		b.Status.InForce = inForce(t, 1, good.Spec) // the controller has not caught up
		c := Parse(Resources{Pools: []v1alpha1.IPPool{*b}, Last: last3})
		wantRanges(t, c, "edge", "198.51.100.0/25")
		wantKept(t, c, KindIPPool, "edge", ReasonInvalidSpec, 3)
	})
	t.Run("a recreated object does not inherit", func(t *testing.T) {
		b := bad.DeepCopy()
		b.UID = "u2"
		c := Parse(Resources{Pools: []v1alpha1.IPPool{*b}, Last: last})
		if c.Pool("edge") != nil {
			t.Fatalf("a new object with the old one's name must not get its spec")
		}
		wantProblem(t, c, KindIPPool, "edge", ReasonInvalidSpec, true)
	})
	t.Run("a deleted object is gone", func(t *testing.T) {
		c := Parse(Resources{Last: last})
		if c.Pool("edge") != nil || len(c.Problems) != 0 {
			t.Fatalf("deleted pool still in the model: %+v", c)
		}
	})
	t.Run("an accepted edit replaces the old one", func(t *testing.T) {
		g2 := poolAt("edge", "u1", 2, "198.51.100.0/25")
		c := Parse(Resources{Pools: []v1alpha1.IPPool{*g2}, Last: last})
		wantNoProblems(t, c)
		wantRanges(t, c, "edge", "198.51.100.0/25")
	})
}

func TestRejectedEditsOfEveryKindAreKept(t *testing.T) {
	p := poolAt("edge", "up", 1, "198.51.100.0/24")
	l2 := served(&v1alpha1.L2Advertisement{ObjectMeta: meta("l2", 0)}, "ul", 1)
	l2.Spec.Interfaces = []v1alpha1.InterfaceName{"eth0"}
	bgp := served(&v1alpha1.BGPAdvertisement{ObjectMeta: meta("bgp", 0)}, "ub", 1)
	peer1 := peer("r1", 0, 64512, 64513, "198.18.0.1")
	pr := served(&peer1, "ur", 1)
	res := Resources{Pools: []v1alpha1.IPPool{*p}, L2Advertisements: []v1alpha1.L2Advertisement{*l2},
		BGPAdvertisements: []v1alpha1.BGPAdvertisement{*bgp}, BGPPeers: []v1alpha1.BGPPeer{*pr}}
	last := Parse(res)
	wantNoProblems(t, last)

	bad := res
	badL2 := l2.DeepCopy()
	badL2.Generation, badL2.Spec.Interfaces = 2, []v1alpha1.InterfaceName{"bad/name"}
	badBGP := bgp.DeepCopy()
	length := int32(40)
	badBGP.Generation, badBGP.Spec.AggregationLength = 2, &length
	badPeer := pr.DeepCopy()
	badPeer.Generation, badPeer.Spec.PeerAddress = 2, "0.0.0.0" // unspecified
	bad.L2Advertisements = []v1alpha1.L2Advertisement{*badL2}
	bad.BGPAdvertisements = []v1alpha1.BGPAdvertisement{*badBGP}
	bad.BGPPeers = []v1alpha1.BGPPeer{*badPeer}
	bad.Last = last

	c := Parse(bad)
	wantKept(t, c, KindL2Advertisement, "l2", ReasonInvalidSpec, 1)
	wantKept(t, c, KindBGPAdvertisement, "bgp", ReasonInvalidSpec, 1)
	wantKept(t, c, KindBGPPeer, "r1", ReasonInvalidSpec, 1)
	if len(c.L2Advertisements) != 1 || c.L2Advertisements[0].Interfaces[0] != "eth0" {
		t.Errorf("L2Advertisement not kept as it was: %+v", c.L2Advertisements)
	}
	if len(c.BGPAdvertisements) != 1 || c.BGPAdvertisements[0].AggregationLength != 32 {
		t.Errorf("BGPAdvertisement not kept as it was: %+v", c.BGPAdvertisements)
	}
	if peer := c.Peer("r1"); peer == nil || peer.Address != netip.MustParseAddr("198.18.0.1") {
		t.Errorf("BGPPeer not kept as it was: %+v", c.BGPPeers)
	}
}

func TestPeerAddressMustBeUnicast(t *testing.T) {
	for _, a := range []string{"0.0.0.0", "::", "127.0.0.1", "::1", "224.0.0.5", "ff02::5"} {
		p := peer("p", 0, 64512, 64513, a)
		c := Parse(Resources{BGPPeers: []v1alpha1.BGPPeer{p, peer("good", 1, 64512, 64513, "198.18.0.1")}})
		wantProblem(t, c, KindBGPPeer, "p", ReasonInvalidSpec, true, "spec.peerAddress", "unicast")
		if c.Peer("good") == nil {
			t.Errorf("%s: the other peer must stay", a)
		}
	}
}

func TestPasswordSecretGoneKeepsTheLastGoodPassword(t *testing.T) {
	pr := peer("r1", 0, 64512, 64513, "198.18.0.1")
	pr.Spec.PasswordSecretRef = &v1alpha1.SecretKeyReference{Name: "bgp"}
	served(&pr, "ur", 1)
	withSecret := Resources{BGPPeers: []v1alpha1.BGPPeer{pr}, Namespace: "pylon-system",
		Secrets: []corev1.Secret{secret("pylon-system", "bgp", map[string]string{"password": "s3cret"})}}
	last := Parse(withSecret)
	wantNoProblems(t, last)

	for name, secrets := range map[string][]corev1.Secret{
		"deleted":     nil,
		"key removed": {secret("pylon-system", "bgp", map[string]string{"other": "x"})},
		"emptied":     {secret("pylon-system", "bgp", map[string]string{"password": ""})},
	} {
		t.Run(name, func(t *testing.T) {
			res := withSecret
			res.Secrets, res.Last = secrets, last
			c := Parse(res)
			wantProblem(t, c, KindBGPPeer, "r1", ReasonSecretNotUsable, false, "spec.passwordSecretRef")
			if got := c.Peer("r1"); got == nil || got.Password != "s3cret" {
				t.Fatalf("peer must keep its last good password: %+v", got)
			}
			if note := c.ProblemsFor(KindBGPPeer, "r1")[0].KeptNote(); !strings.Contains(note, "last good password") {
				t.Errorf("KeptNote = %q", note)
			}
			// And again from that configuration: still kept.
			res.Last = c
			if got := Parse(res).Peer("r1"); got == nil || got.Password != "s3cret" {
				t.Errorf("a second pass lost the password")
			}
		})
	}
	t.Run("a new password is used", func(t *testing.T) {
		res := withSecret
		res.Secrets, res.Last = []corev1.Secret{secret("pylon-system", "bgp", map[string]string{"password": "n3w"})}, last
		if got := Parse(res).Peer("r1"); got == nil || got.Password != "n3w" {
			t.Errorf("peer = %+v, want the new password", got)
		}
	})
	t.Run("without a session before, nothing to keep", func(t *testing.T) {
		res := withSecret
		res.Secrets = nil
		c := Parse(res)
		wantProblem(t, c, KindBGPPeer, "r1", ReasonSecretNotUsable, true)
		if c.Peer("r1") != nil {
			t.Errorf("a peer without a usable password must be left out")
		}
	})
	t.Run("renamed in an edit to a Secret that does not exist", func(t *testing.T) {
		edited := pr.DeepCopy()
		edited.Generation, edited.Spec.PasswordSecretRef = 2, &v1alpha1.SecretKeyReference{Name: "bgp-new"}
		res := withSecret
		res.BGPPeers, res.Last = []v1alpha1.BGPPeer{*edited}, last
		res.Secrets = nil // the old one deleted too
		c := Parse(res)
		wantKept(t, c, KindBGPPeer, "r1", ReasonSecretNotUsable, 1)
		if got := c.Peer("r1"); got == nil || got.Password != "s3cret" {
			t.Fatalf("peer = %+v, want generation 1 with its password", got)
		}
	})
}

func TestPoolEditThatBreaksAggregationIsRejected(t *testing.T) {
	p := poolAt("edge", "up", 1, "198.51.100.0/24")
	length := int32(24)
	adv := served(&v1alpha1.BGPAdvertisement{ObjectMeta: meta("agg", 0), Spec: v1alpha1.BGPAdvertisementSpec{
		IPPools: objectNames("edge"), AggregationLength: &length}}, "ua", 1)
	res := Resources{Pools: []v1alpha1.IPPool{*p}, BGPAdvertisements: []v1alpha1.BGPAdvertisement{*adv}}
	last := Parse(res)
	wantNoProblems(t, last)

	edited := poolAt("edge", "up", 2, "198.51.100.0/25") // a /24 around it spills
	res.Pools, res.Last = []v1alpha1.IPPool{*edited}, last
	c := Parse(res)
	wantKept(t, c, KindIPPool, "edge", ReasonAggregation, 1)
	wantProblem(t, c, KindIPPool, "edge", ReasonAggregation, true, "spec.addresses", "BGPAdvertisement agg")
	wantRanges(t, c, "edge", "198.51.100.0/24")
	if len(c.BGPAdvertisements) != 1 || len(c.ProblemsFor(KindBGPAdvertisement, "agg")) != 0 {
		t.Fatalf("the unchanged advertisement must stay in force without problems: %+v %+v", c.BGPAdvertisements, c.Problems)
	}

	t.Run("a new advertisement that spills is what is rejected", func(t *testing.T) {
		res := Resources{Pools: []v1alpha1.IPPool{*edited}, BGPAdvertisements: []v1alpha1.BGPAdvertisement{*adv}}
		res.Last = Parse(Resources{Pools: []v1alpha1.IPPool{*edited}})
		c := Parse(res)
		wantProblem(t, c, KindBGPAdvertisement, "agg", ReasonAggregation, true)
		wantRanges(t, c, "edge", "198.51.100.0/25")
	})
}

func TestEditMakingAnOlderPeerADuplicateIsRejected(t *testing.T) {
	older := peer("a", 0, 64512, 64513, "198.18.0.1")
	newer := peer("b", 1, 64512, 64513, "198.18.0.2")
	served(&older, "ua", 1)
	served(&newer, "ub", 1)
	last := Parse(Resources{BGPPeers: []v1alpha1.BGPPeer{older, newer}})
	wantNoProblems(t, last)

	edited := older.DeepCopy()
	edited.Generation, edited.Spec.PeerAddress = 2, "198.18.0.2"
	c := Parse(Resources{BGPPeers: []v1alpha1.BGPPeer{*edited, newer}, Last: last})
	wantKept(t, c, KindBGPPeer, "a", ReasonDuplicatePeer, 1)
	if c.Peer("b") == nil || c.Peer("a") == nil || c.Peer("a").Address != netip.MustParseAddr("198.18.0.1") {
		t.Fatalf("both peers must stay as they were: %+v (problems %+v)", c.BGPPeers, c.Problems)
	}
}

func TestKeptVersionThatNoLongerFitsIsLeftOut(t *testing.T) {
	// Generation 1 used a Secret that is gone, and the component has just
	// started (no password in memory): generation 1 cannot be kept either.
	pr := peer("r1", 0, 64512, 64513, "198.18.0.1")
	pr.Spec.PasswordSecretRef = &v1alpha1.SecretKeyReference{Name: "bgp"}
	served(&pr, "ur", 2)
	old := pr.Spec.DeepCopy()
	pr.Spec.PeerAddress = "127.0.0.1"
	pr.Status.InForce = inForce(t, 1, old)
	c := Parse(Resources{BGPPeers: []v1alpha1.BGPPeer{pr}, Namespace: "pylon-system"})
	if c.Peer("r1") != nil {
		t.Fatalf("peer must be left out: %+v", c.BGPPeers)
	}
	wantProblem(t, c, KindBGPPeer, "r1", ReasonInvalidSpec, true, "spec.peerAddress")
	if p := c.ProblemsFor(KindBGPPeer, "r1"); len(p) != 1 || p[0].KeptGeneration != 0 {
		t.Errorf("problems = %+v, want only the rejection, nothing kept", p)
	}
}
