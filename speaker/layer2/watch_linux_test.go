package layer2

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pylonlb/pylon/test/netlab"
)

// TestWatchLinks: the watch started in a node's namespace signals when that
// node's interface is deleted and when it is made again, and not for
// another namespace's changes.
func TestWatchLinks(t *testing.T) {
	lb := newLab(t, "n1", "n2")
	n1, n2 := lb.hosts["n1"], lb.hosts["n2"]
	var changes <-chan struct{}
	err := netlab.InNetns(n1.ns, func() (err error) {
		changes, err = WatchLinks(t.Context(), WatchOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	expect := func(what string, want bool) {
		t.Helper()
		wait := time.Second
		if !want {
			wait = 300 * time.Millisecond
		}
		select {
		case <-changes:
			if !want {
				t.Errorf("%s: signalled, want nothing", what)
			}
		case <-time.After(wait):
			if want {
				t.Errorf("%s: no signal within %v", what, wait)
			}
		}
	}
	lb.ip("-n", n2.ns, "addr", "add", "198.18.0.99/32", "dev", "eth0")
	expect("an address added in another namespace", false)
	lb.ip("-n", n1.ns, "link", "del", "eth0")
	expect("eth0 deleted", true)
	lb.plug(n1)
	expect("eth0 made again", true)
	lb.ip("-n", n1.ns, "addr", "add", "198.18.0.99/32", "dev", "eth0")
	expect("an address added", true)
}

// TestWatchSubscribesInItsNamespace: subscribing again (after the first
// subscription broke) happens in the watched namespace, from any thread.
func TestWatchSubscribesInItsNamespace(t *testing.T) {
	lb := newLab(t, "n1")
	n1 := lb.hosts["n1"]
	ns, err := unix.Open("/var/run/netns/"+n1.ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ns)
	src, err := openRtnetlinkIn(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := make(chan error, 1)
	go func() { got <- src.Next() }()
	lb.ip("-n", n1.ns, "link", "set", "eth0", "down")
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("no notification for a change in the watched namespace")
	}
}
