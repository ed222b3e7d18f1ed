package membership

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pylonlb/pylon/memberlistkey"
	"github.com/pylonlb/pylon/test/poll"
)

// start starts a member on loopback with a port of the kernel's choosing.
func start(t testing.TB, name string, keys *memberlistkey.Keys) *List {
	t.Helper()
	l, err := Start(Config{Name: name, BindAddr: "127.0.0.1", Profile: LANProfile(), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Shutdown() })
	return l
}

// cluster starts n members named n1.. and joins them through the first.
func cluster(t testing.TB, n int, keys *memberlistkey.Keys) []*List {
	t.Helper()
	var ls []*List
	for i := range n {
		ls = append(ls, start(t, fmt.Sprintf("n%d", i+1), keys))
	}
	for _, l := range ls[1:] {
		if _, err := l.Join([]string{ls[0].Address()}); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range ls {
		waitLive(t, l, names(n)...)
	}
	return ls
}

func names(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("n%d", i+1))
	}
	return out
}

func waitLive(t testing.TB, l *List, want ...string) {
	t.Helper()
	poll.Eventually(t, 10*time.Millisecond, 10*time.Second, fmt.Sprintf("%s to see %v live", l.ml.LocalNode().Name, want), func() (bool, string) {
		got := l.Live()
		return slices.Equal(got, want), fmt.Sprint(got)
	})
}

func member(l *List, name string) Member {
	for _, m := range l.Members() {
		if m.Name == name {
			return m
		}
	}
	return Member{}
}

func TestCrashAndLeaveAreNoticed(t *testing.T) {
	k := &memberlistkey.Keys{Primary: memberlistkey.New()}
	ls := cluster(t, 4, k)
	select {
	case <-ls[0].Changes():
	default:
		t.Fatal("joins were not signalled on Changes")
	}
	if got := member(ls[0], "n2"); got.State != Alive || got.Address != ls[1].Address() {
		t.Fatalf("n2 as n1 sees it: %+v", got)
	}

	// n4 crashes: no goodbye, failure detection must find it.
	if err := ls[3].Shutdown(); err != nil {
		t.Fatal(err)
	}
	for _, l := range ls[:3] {
		waitLive(t, l, "n1", "n2", "n3")
	}
	if got := member(ls[0], "n4").State; got != Dead {
		t.Fatalf("n4 is %q after its crash, want Dead", got)
	}

	// n3 leaves politely.
	if err := ls[2].Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	_ = ls[2].Shutdown()
	for _, l := range ls[:2] {
		waitLive(t, l, "n1", "n2")
	}
	if got := member(ls[1], "n3").State; got != Dead {
		t.Fatalf("n3 is %q after leaving, want Dead", got)
	}

	// A restarted n3 comes back under its name.
	back := start(t, "n3", k)
	if _, err := back.Join([]string{ls[0].Address()}); err != nil {
		t.Fatal(err)
	}
	waitLive(t, ls[0], "n1", "n2", "n3")
	if got := member(ls[0], "n3").State; got != Alive {
		t.Fatalf("n3 is %q after rejoining", got)
	}
}

func TestJoinSkipsKnownMembers(t *testing.T) {
	ls := cluster(t, 2, nil)
	n, err := ls[1].Join([]string{ls[0].Address(), ls[1].Address()})
	if err != nil || n != 0 {
		t.Fatalf("Join of known members contacted %d, err %v", n, err)
	}
}

func TestWrongKeyStaysOut(t *testing.T) {
	ls := cluster(t, 2, &memberlistkey.Keys{Primary: memberlistkey.New()})
	stranger := start(t, "n3", &memberlistkey.Keys{Primary: memberlistkey.New()})
	if _, err := stranger.Join([]string{ls[0].Address()}); err == nil {
		t.Fatal("a member with another key joined")
	}
	plain := start(t, "n4", nil)
	if _, err := plain.Join([]string{ls[0].Address()}); err == nil {
		t.Fatal("a member without a key joined an encrypted list")
	}
	time.Sleep(500 * time.Millisecond)
	waitLive(t, ls[0], "n1", "n2")
}

// TestKeyRotation follows the documented three steps with the members
// running, and checks that they stay together throughout, that a newcomer
// with only the new key gets in at the end, and one with only the old key
// no longer does.
func TestKeyRotation(t *testing.T) {
	oldKey, newKey := memberlistkey.New(), memberlistkey.New()
	ls := cluster(t, 3, &memberlistkey.Keys{Primary: oldKey})
	for _, step := range []memberlistkey.Keys{
		{Primary: oldKey, Others: [][]byte{newKey}},
		{Primary: newKey, Others: [][]byte{oldKey}},
		{Primary: newKey},
	} {
		for _, l := range ls {
			if err := l.SetKeys(step); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(600 * time.Millisecond) // several probe rounds
		for _, l := range ls {
			waitLive(t, l, "n1", "n2", "n3")
		}
	}
	if keys := ls[0].keyring.GetKeys(); len(keys) != 1 || !bytes.Equal(keys[0], newKey) {
		t.Fatalf("keyring after rotation holds %d keys", len(keys))
	}
	stale := start(t, "n5", &memberlistkey.Keys{Primary: oldKey})
	if _, err := stale.Join([]string{ls[0].Address()}); err == nil {
		t.Fatal("a member with the retired key joined")
	}
	fresh := start(t, "n4", &memberlistkey.Keys{Primary: newKey})
	if _, err := fresh.Join([]string{ls[0].Address()}); err != nil {
		t.Fatal(err)
	}
	waitLive(t, ls[0], "n1", "n2", "n3", "n4")
}

func TestSetKeysNeedsEncryption(t *testing.T) {
	l := start(t, "n1", nil)
	if err := l.SetKeys(memberlistkey.Keys{Primary: memberlistkey.New()}); err == nil {
		t.Fatal("SetKeys on a clear-text list succeeded")
	}
}

func TestStartRejectsBadInput(t *testing.T) {
	for _, c := range []Config{
		{Profile: LANProfile()},
		{Name: "a", Profile: Profile{ProbeInterval: time.Second, ProbeTimeout: time.Second, GossipInterval: time.Second, SuspicionMult: 1, RetransmitMult: 1}},
		{Name: "a", BindAddr: "127.0.0.1", Profile: LANProfile(), Keys: &memberlistkey.Keys{Primary: []byte("short")}},
	} {
		if l, err := Start(c); err == nil {
			_ = l.Shutdown()
			t.Errorf("Start(%+v) succeeded", c)
		}
	}
}
