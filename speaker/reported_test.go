package speaker

import (
	"net/netip"
	"testing"
)

// TestListing reads statuses buildStatus writes: a whole list tells about
// every address; a cut one about the addresses before the cut (and the
// last listed), nothing after it.
func TestListing(t *testing.T) {
	type ask struct {
		n         int
		protocol  string
		ann, know bool
	}
	for _, tc := range []struct {
		name    string
		l2, bgp []int
		asks    []ask
	}{
		{"whole list", span(0, 10), span(5, 20), []ask{
			{3, ProtocolLayer2, true, true}, {12, ProtocolLayer2, false, true},
			{12, ProtocolBGP, true, true}, {3, ProtocolBGP, false, true}, {300, ProtocolBGP, false, true},
		}},
		{"cut in layer 2: BGP unknown, layer 2 unknown past the last listed", span(0, 300), span(0, 5), []ask{
			{0, ProtocolLayer2, true, true}, {255, ProtocolLayer2, true, true},
			{256, ProtocolLayer2, false, false}, {299, ProtocolLayer2, false, false},
			{1, ProtocolBGP, false, false},
		}},
		{"cut in BGP: layer 2 known", span(0, 100), span(256, 500), []ask{
			{99, ProtocolLayer2, true, true}, {100, ProtocolLayer2, false, true},
			{256, ProtocolBGP, true, true}, {500, ProtocolBGP, false, false},
		}},
	} {
		l := Listed(*statusOf(tc.l2, tc.bgp))
		for _, a := range tc.asks {
			ann, known := l.Announces(addrN(a.n), a.protocol)
			if ann != a.ann || known != a.know {
				t.Errorf("%s: %s over %s: announces %v known %v, want %v %v", tc.name, addrN(a.n), a.protocol, ann, known, a.ann, a.know)
			}
		}
		if ann, known := l.Announces(addrN(1), "Carrier pigeon"); ann || known {
			t.Errorf("%s: an unknown protocol answered", tc.name)
		}
	}
}

// TestNoteSubject reads back the notes of the events l2Events and
// bgpEvents make.
func TestNoteSubject(t *testing.T) {
	before := l2Plan([]int{1})
	after := Plan{L2: map[netip.Addr]L2{}, Owners: map[netip.Addr]string{addrN(1): "n2"}}
	after.L2[addrN(2)] = L2{Services: []string{svcKey(2)}, Interfaces: []string{"eth0", "eth1"}}
	evs := l2Events("n1", before.L2, unlisted{}, after)
	bgpEvs, _ := bgpEvents("n1", bgpOf([]int{3}), unlisted{}, bgpOf([]int{4}), false)
	evs = append(evs, bgpEvs...)
	if len(evs) != 4 {
		t.Fatalf("want 4 events, got %+v", evs)
	}
	for _, e := range evs {
		node, ip, ok := NoteSubject(e.note)
		if !ok || node != "n1" || ip != e.ip {
			t.Errorf("NoteSubject(%q) = %s, %s, %v; want n1, %s", e.note, node, ip, ok, e.ip)
		}
	}
	for _, note := range []string{"", "node", "node n1 announces", "node n1 announces nothing", "speaker restarted; its previous status listed 3 entries", "node n1 stopped announcing"} {
		if _, _, ok := NoteSubject(note); ok {
			t.Errorf("NoteSubject(%q) read a subject", note)
		}
	}
}
