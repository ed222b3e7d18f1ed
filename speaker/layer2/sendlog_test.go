package layer2

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
)

// TestSendLog: a run of failed sends is one error in the log and counted
// in full; the send that works again is logged once; successes log nothing.
func TestSendLog(t *testing.T) {
	var lines []string
	log := funcr.New(func(prefix, args string) { lines = append(lines, args) }, funcr.Options{})
	a := &Announcer{log: log}
	l := &link{a: a, name: "eth0"}
	ip := netip.MustParseAddr("192.0.2.1")
	broken := errors.New("no buffer space available")
	for _, err := range []error{nil, broken, broken, broken, nil, nil, broken} {
		l.sends.result(l, &a.stats.arp, "ARP reply", ip, err)
	}
	if got := a.stats.arp.snapshot().SendFailures; got != 4 {
		t.Errorf("%d send failures counted, want 4", got)
	}
	want := []string{`"msg"="sending failed; further`, `"msg"="sending works again"`, `"msg"="sending failed; further`}
	if len(lines) != len(want) {
		t.Fatalf("%d log lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) || !strings.Contains(lines[i], `"interface"="eth0"`) {
			t.Errorf("line %d: %s; want %s on eth0", i, lines[i], w)
		}
	}
	if !strings.Contains(lines[0], `"error"="no buffer space available"`) {
		t.Errorf("the first failure is not logged as an error with its cause: %s", lines[0])
	}
}
