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

// frr queries the lab's FRR.
type frr struct {
	t   *testing.T
	dir string
	// lab is the whole lab, for scenarios that need more than this FRR.
	lab *labInfo
	// ns is the router's network namespace.
	ns string
}

// router is this FRR as the network layer talks to it: by its directory,
// from any namespace.
func (r frr) router() *netlab.FRR { return &netlab.FRR{Netns: r.ns, Dir: r.dir} }

// vtysh runs one show command and decodes its JSON into v.
func (r frr) vtysh(cmd string, v any) error {
	return r.router().JSON(context.Background(), cmd, v)
}

// communities are a path's standard and large communities as FRR prints
// them: "65000:10 no-export", "64512:1:2".
func communities(p netlab.Path) (std, large string) {
	return strings.Join(p.Communities, " "), strings.Join(p.LargeCommunities, " ")
}

// paths returns the paths FRR has for prefix, from the given peer or any
// peer when from is empty.
func (r frr) paths(prefix, from string) ([]netlab.Path, error) {
	all, err := r.router().Paths(context.Background(), netip.MustParsePrefix(prefix))
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

// neighborState returns FRR's state of the session with addr, and how many
// times it has been established.
func (r frr) neighborState(addr string) (string, int, error) {
	var n map[string]struct {
		BGPState    string `json:"bgpState"`
		Established int    `json:"connectionsEstablished"`
	}
	if err := r.vtysh("show bgp neighbors "+addr+" json", &n); err != nil {
		return "", 0, err
	}
	return n[addr].BGPState, n[addr].Established, nil
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

// established waits until both FRR and the Speaker see the session up.
func established(t *testing.T, r frr, s *Speaker, name, nodeAddr string) time.Duration {
	t.Helper()
	return poll.Eventually(t, 20*time.Millisecond, 15*time.Second, "session "+name+" Established", func() error {
		st, _, err := r.neighborState(nodeAddr)
		if err != nil {
			return err
		}
		if st != "Established" {
			return fmt.Errorf("FRR: %s", st)
		}
		if sess := session(t, s, name); sess.State != StateEstablished {
			return fmt.Errorf("speaker: %s", sess.State)
		}
		return nil
	})
}

// hasPath waits until FRR has the prefix from the peer and check accepts it.
func hasPath(t *testing.T, r frr, prefix, from string, check func(netlab.Path) error) time.Duration {
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

// noPath waits until FRR has no path for the prefix from the peer.
func noPath(t *testing.T, r frr, within time.Duration, prefix, from string) time.Duration {
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
