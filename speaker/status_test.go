package speaker

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker/bgp"
	"github.com/pylonlb/pylon/speaker/layer2"
	"github.com/pylonlb/pylon/speaker/membership"
)

// TestBuildStatus: the SpeakerStatus status from what a pass saw and did,
// one case per line: announcements in order and cut after
// maxAnnouncements, Announced counting every address once, members, and
// the conditions with their precedence.
func TestBuildStatus(t *testing.T) {
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	conflictOn := func(ip string, yield bool) *splitBrain {
		var s splitBrain
		s.record(layer2.Conflict{IP: netip.MustParseAddr(ip), MAC: net.HardwareAddr{2, 0, 0, 0, 0, 9}, Interface: "eth0"}, at)
		if yield {
			s.yield = map[netip.Addr]bool{netip.MustParseAddr(ip): true}
		}
		return &s
	}
	shared := l2Plan([]int{2, 1})
	shared.L2[addrN(1)] = L2{Services: []string{"default/a", "default/b"}, Interfaces: []string{"eth0", "eth1"}}
	noIfc := l2Plan([]int{1})
	noIfc.NoInterface = []netip.Addr{addrN(7)}
	for _, tc := range []struct {
		name    string
		members []membership.Member
		plan    Plan
		err     error
		bs      bgpState
		split   *splitBrain
		// want: "announced N; M entries, first ..., last ...; alive A; <Type>=<Status>/<Reason> ..."
		want string
		// message holds a part of the Layer2Conflict or Announcing message.
		message string
	}{
		{name: "nothing", split: &splitBrain{},
			want: "announced 0; 0 entries; alive 0; Layer2Conflict=False/NoConflict Announcing=True/Applied", message: "0 addresses over Layer2, 0 over BGP"},
		{name: "members", members: []membership.Member{{Name: "n1", State: membership.Alive}, {Name: "n2", State: membership.Dead}, {Name: "n3", State: membership.Alive}}, split: &splitBrain{},
			want: "announced 0; 0 entries; alive 2; Layer2Conflict=False/NoConflict Announcing=True/Applied"},
		{name: "an address of two Services on two interfaces: one entry each, counted once, layer 2 then BGP", plan: shared,
			bs: bgpState{announced: map[netip.Addr][]string{addrN(0): {svcKey(0)}, addrN(1): {"default/a"}}}, split: &splitBrain{},
			want:    "announced 3; 7 entries, first 198.51.100.1 default/a Layer2 eth0, last 198.51.100.1 default/a BGP; alive 0; Layer2Conflict=False/NoConflict Announcing=True/Applied",
			message: "2 addresses over Layer2, 2 over BGP"},
		{name: "more than maxAnnouncements: the list is cut, Announced counts all", plan: l2Plan(span(0, 300)), split: &splitBrain{},
			want: "announced 300; 256 entries, first 198.51.100.0 default/svc-0 Layer2 eth0, last 198.51.100.255 default/svc-255 Layer2 eth0; alive 0; Layer2Conflict=False/NoConflict Announcing=True/Applied"},
		{name: "a conflict", plan: l2Plan([]int{1}), split: conflictOn("198.51.100.1", false),
			want:    "announced 1; 1 entries, first 198.51.100.1 default/svc-1 Layer2 eth0, last 198.51.100.1 default/svc-1 Layer2 eth0; alive 0; Layer2Conflict=True/OtherMACAnswers Announcing=True/Applied",
			message: "also answered: 198.51.100.1 by 02:00:00:00:00:09 on eth0"},
		{name: "a conflict yielded in the minority", split: conflictOn("198.51.100.1", true),
			want:    "announced 0; 0 entries; alive 0; Layer2Conflict=True/OtherMACAnswers Announcing=True/Applied",
			message: "(this node sees a minority of the speakers and yields)"},
		{name: "an owned address with no interface", plan: noIfc, split: &splitBrain{},
			want:    "announced 1; 1 entries, first 198.51.100.1 default/svc-1 Layer2 eth0, last 198.51.100.1 default/svc-1 Layer2 eth0; alive 0; Layer2Conflict=False/NoConflict Announcing=False/NoInterface",
			message: "[198.51.100.7]"},
		{name: "an interface error wins over no interface", plan: noIfc, err: errors.New("eth0 is down"), split: &splitBrain{},
			want:    "announced 1; 1 entries, first 198.51.100.1 default/svc-1 Layer2 eth0, last 198.51.100.1 default/svc-1 Layer2 eth0; alive 0; Layer2Conflict=False/NoConflict Announcing=False/InterfaceError",
			message: "eth0 is down"},
		{name: "a BGP error", bs: bgpState{err: errors.New("BGP paths: boom"), sessions: []bgp.Session{{Peer: "r1", Address: netip.MustParseAddr("198.18.0.1"), State: bgp.StateEstablished}}}, split: &splitBrain{},
			want:    "announced 0; 0 entries; alive 0; sessions 1/1; Layer2Conflict=False/NoConflict Announcing=False/BGPError",
			message: "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := buildStatus(tc.members, tc.plan, tc.err, tc.bs, tc.split)
			entry := func(a v1alpha1.Announcement) string {
				return strings.TrimSpace(fmt.Sprintf("%s %s %s %s", a.IP, a.Service, a.Protocol, a.Interface))
			}
			got := fmt.Sprintf("announced %d; %d entries", st.Announced, len(st.Announcements))
			if n := len(st.Announcements); n > 0 {
				got += fmt.Sprintf(", first %s, last %s", entry(st.Announcements[0]), entry(st.Announcements[n-1]))
			}
			got += fmt.Sprintf("; alive %d", st.MembersAlive)
			if len(st.BGPSessions) > 0 {
				got += fmt.Sprintf("; sessions %d/%d", st.SessionsEstablished, len(st.BGPSessions))
			}
			var conds []string
			for _, c := range st.Conditions {
				conds = append(conds, fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason))
			}
			got += "; " + strings.Join(conds, " ")
			if got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if tc.message != "" {
				l2c, ann := meta.FindStatusCondition(st.Conditions, ConditionLayer2Conflict), meta.FindStatusCondition(st.Conditions, ConditionAnnouncing)
				if !strings.Contains(l2c.Message+" | "+ann.Message, tc.message) {
					t.Fatalf("conditions %q | %q do not say %q", l2c.Message, ann.Message, tc.message)
				}
			}
			// A restarted speaker reads this status back (seed): what it
			// lists is what it finds announced.
			seeded := seed(st)
			for _, a := range st.Announcements {
				ip := netip.MustParseAddr(a.IP)
				if a.Protocol == "Layer2" && !strings.Contains(strings.Join(seeded.l2[ip].Services, ","), a.Service) ||
					a.Protocol == "BGP" && !strings.Contains(strings.Join(seeded.bgp[ip], ","), a.Service) {
					t.Fatalf("seed of the status lost %+v", a)
				}
			}
		})
	}
}

// TestStatusShowsLearntPeerASN: the ASN a session learnt from the router's
// OPEN (dynamicASN) is in the SpeakerStatus.
func TestStatusShowsLearntPeerASN(t *testing.T) {
	bs := bgpState{sessions: []bgp.Session{
		{Peer: "any", Address: netip.MustParseAddr("198.18.0.1"), State: bgp.StateEstablished, PeerASN: 64513},
		{Peer: "down", Address: netip.MustParseAddr("198.18.0.2"), State: bgp.StateActive},
	}}
	st := buildStatus(nil, Plan{}, nil, bs, &splitBrain{})
	if len(st.BGPSessions) != 2 || st.BGPSessions[0].PeerASN != 64513 || st.BGPSessions[1].PeerASN != 0 {
		t.Errorf("sessions %+v", st.BGPSessions)
	}
}

// TestLowest: the n lowest addresses in order, whatever order they come
// in, as a full sort would give them.
func TestLowest(t *testing.T) {
	var all []netip.Addr
	for i := range 1000 {
		all = append(all, netip.AddrFrom4([4]byte{198, 51, byte(i / 250), byte(i % 250)}))
	}
	shuffled := slices.Clone(all)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, n := range []int{0, 1, 256, 999, 1000, 2000} {
		got := lowest(slices.Values(shuffled), n)
		want := all[:min(n, len(all))]
		if !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("lowest %d: got %d addresses %v…, want %v…", n, len(got), got[:min(3, len(got))], want[:min(3, len(want))])
		}
	}
}
