package bgp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"

	"github.com/pylonlb/pylon/test/netlab"
	"github.com/pylonlb/pylon/test/poll"
)

// The lab's router is FRR or BIRD 2 (routerFRR, routerBIRD): the same
// namespace layout, addresses and passive neighbours (lab_linux_test.go,
// bird_linux_test.go).
const (
	routerFRR  = "FRR"
	routerBIRD = "BIRD"
)

// router queries the lab's router.
type router struct {
	// kind is routerFRR or routerBIRD.
	kind string
	t    *testing.T
	dir  string
	// lab is the whole lab, for scenarios that need more than this router.
	lab *labInfo
	// ns is the router's network namespace.
	ns string
}

// frr is this router as the network layer talks to FRR: by its directory,
// from any namespace.
func (r router) frr() *netlab.FRR { return &netlab.FRR{Netns: r.ns, Dir: r.dir} }

// bird is this router as the network layer talks to BIRD.
func (r router) bird() *netlab.BIRD { return &netlab.BIRD{Netns: r.ns, Dir: r.dir} }

// view is the router's read side, either router.
func (r router) view() netlab.Router {
	if r.kind == routerBIRD {
		return r.bird()
	}
	return r.frr()
}

// proto is the routing protocol of the kernel routes the router installs.
func (r router) proto() string {
	if r.kind == routerBIRD {
		return "bird"
	}
	return "bgp"
}

// vtysh runs one show command and decodes its JSON into v (FRR only).
func (r router) vtysh(cmd string, v any) error {
	if r.kind != routerFRR {
		return fmt.Errorf("vtysh %q on a %s router", cmd, r.kind)
	}
	return r.frr().JSON(context.Background(), cmd, v)
}

// communities are a path's standard and large communities as FRR prints
// them: "65000:10 no-export", "64512:1:2".
func communities(p netlab.Path) (std, large string) {
	return strings.Join(p.Communities, " "), strings.Join(p.LargeCommunities, " ")
}

// paths returns the paths the router has for prefix, from the given peer or
// any peer when from is empty.
func (r router) paths(prefix, from string) ([]netlab.Path, error) {
	all, err := r.view().Paths(context.Background(), netip.MustParsePrefix(prefix))
	if err != nil {
		return nil, err
	}
	var out []netlab.Path
	for _, p := range all {
		if from == "" || p.Peer.String() == from {
			out = append(out, p)
		}
	}
	return out, nil
}

// ups says how often a session has come up: FRR counts establishments;
// BIRD does not, and gives the time its protocol last changed state.
type ups struct {
	n     int
	since string
}

// same: the session has not been re-established since o (BIRD: has not
// changed state at all).
func (u ups) same(o ups) bool { return u.n == o.n && sameSince(u.since, o.since) }

// oneMore: the session came up exactly once more since o (BIRD, which
// does not count: it changed state since o).
func (u ups) oneMore(o ups) bool {
	if u.since != "" || o.since != "" {
		return !sameSince(u.since, o.since)
	}
	return u.n == o.n+1
}

// birdSince is how BIRD prints a state's since time (timeformat protocol
// iso long ms).
const birdSince = "2006-01-02 15:04:05.000"

// sameSince reports whether two of BIRD's since times are the same state
// change. BIRD works the wall-clock time out anew from its monotonic clock
// on every show, so one unchanged since can read a millisecond apart
// (14:53:28.434, then .433); a new state change is at least a BFD or BGP
// exchange later, hundreds of milliseconds at the lab's timers.
func sameSince(a, b string) bool {
	ta, errA := time.Parse(birdSince, a)
	tb, errB := time.Parse(birdSince, b)
	if errA != nil || errB != nil {
		return a == b
	}
	return ta.Sub(tb).Abs() < 50*time.Millisecond
}

func (u ups) String() string {
	if u.since != "" {
		return "since " + u.since
	}
	return fmt.Sprintf("%d times", u.n)
}

// neighborState returns the router's state of the session with addr, and
// how often it has come up (ups).
func (r router) neighborState(addr string) (string, ups, error) {
	if r.kind == routerBIRD {
		sessions, err := r.bird().Sessions(context.Background())
		if err != nil {
			return "", ups{}, err
		}
		for _, s := range sessions {
			if s.Peer.String() == addr {
				return s.State, ups{since: s.Since}, nil
			}
		}
		return "", ups{}, fmt.Errorf("BIRD has no session with %s: %+v", addr, sessions)
	}
	var n map[string]struct {
		BGPState    string `json:"bgpState"`
		Established int    `json:"connectionsEstablished"`
	}
	if err := r.vtysh("show bgp neighbors "+addr+" json", &n); err != nil {
		return "", ups{}, err
	}
	return n[addr].BGPState, ups{n: n[addr].Established}, nil
}

// newSpeaker starts a Speaker that is closed when the test ends.
func newSpeaker(t *testing.T, routerID string) *Speaker {
	t.Helper()
	return newSpeakerWith(t, Options{RouterID: netip.MustParseAddr(routerID)})
}

// newSpeakerWith is newSpeaker with options (the test's logger added).
func newSpeakerWith(t *testing.T, opts Options) *Speaker {
	t.Helper()
	opts.Logger = testr.New(t)
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// session returns the Speaker's view of one peer.
func session(t *testing.T, s *Speaker, name string) Session {
	t.Helper()
	all, err := s.Sessions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, sess := range all {
		if sess.Peer == name {
			return sess
		}
	}
	t.Fatalf("no session for peer %q in %+v", name, all)
	return Session{}
}

// established waits until both the router and the Speaker see the session
// up.
func established(t *testing.T, r router, s *Speaker, name, nodeAddr string) time.Duration {
	t.Helper()
	return poll.Eventually(t, 20*time.Millisecond, 15*time.Second, "session "+name+" Established", func() error {
		st, _, err := r.neighborState(nodeAddr)
		if err != nil {
			return err
		}
		if st != "Established" {
			return fmt.Errorf("%s: %s", r.kind, st)
		}
		if sess := session(t, s, name); sess.State != StateEstablished {
			return fmt.Errorf("speaker: %s", sess.State)
		}
		return nil
	})
}

// hasPath waits until the router has the prefix from the peer and check accepts it.
func hasPath(t *testing.T, r router, prefix, from string, check func(netlab.Path) error) time.Duration {
	t.Helper()
	return poll.Eventually(t, 20*time.Millisecond, 5*time.Second, prefix+" from "+from, func() error {
		ps, err := r.paths(prefix, from)
		if err != nil {
			return err
		}
		if len(ps) != 1 {
			return fmt.Errorf("%d paths: %+v", len(ps), ps)
		}
		if check != nil {
			return check(ps[0])
		}
		return nil
	})
}

// noPath waits until the router has no path for the prefix from the peer.
func noPath(t *testing.T, r router, within time.Duration, prefix, from string) time.Duration {
	t.Helper()
	return poll.Eventually(t, 20*time.Millisecond, within, prefix+" withdrawn from "+from, func() error {
		ps, err := r.paths(prefix, from)
		if err != nil {
			return err
		}
		if len(ps) > 0 {
			return fmt.Errorf("still %d paths: %+v", len(ps), ps)
		}
		return nil
	})
}

// nextHop checks the path's (first, global) next hop.
func nextHop(want string) func(netlab.Path) error {
	return func(p netlab.Path) error {
		if len(p.NextHops) == 0 || p.NextHops[0].String() != want {
			return fmt.Errorf("next hops %+v, want %s", p.NextHops, want)
		}
		if !p.Valid {
			return fmt.Errorf("path not valid: %+v", p)
		}
		return nil
	}
}

// inNodeNamespace fails unless this process runs in the lab's node
// namespace: the node's addresses are local here.
func inNodeNamespace(t *testing.T) {
	t.Helper()
	as, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range as {
		got = append(got, a.String())
	}
	if !slices.Contains(got, nodeEBGP+"/24") {
		t.Fatalf("not in the node namespace: local addresses %v", got)
	}
}

// TestSameSince: BIRD's since times a millisecond apart are one state
// change (it prints the same one so); a real change is far more apart.
func TestSameSince(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"2026-12-05 14:53:28.434", "2026-12-05 14:53:28.434", true},
		{"2026-12-05 14:53:28.434", "2026-12-05 14:53:28.433", true},
		{"2026-12-05 14:53:28.434", "2026-12-05 14:53:28.734", false},
		{"2026-12-05 14:53:28.434", "2026-12-05 14:53:29.434", false},
		{"", "", true},
		{"not a time", "2026-12-05 14:53:28.434", false},
	} {
		if got := sameSince(tc.a, tc.b); got != tc.same {
			t.Errorf("sameSince(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
