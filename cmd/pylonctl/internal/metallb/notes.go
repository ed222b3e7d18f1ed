package metallb

import (
	"cmp"
	"fmt"
)

// Verdict says what became of a field.
type Verdict string

// Verdicts, from the most to the least serious.
const (
	// Invalid: pylon's own validation (config.Parse) finds a problem in
	// the output; the message is its verdict.
	Invalid Verdict = "invalid"
	// Unmapped: pylon has no equivalent; the field's effect is lost.
	Unmapped Verdict = "unmapped"
	// Changed: carried over, but pylon behaves differently in a way the
	// message describes.
	Changed Verdict = "changed"
	// Info: carried over; the message says how.
	Info Verdict = "info"
)

// Ref names an object read.
type Ref struct {
	Kind, Namespace, Name string
}

func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Note is one remark about a field of an object read.
type Note struct {
	// Field is the path in the object read ("spec.bfdProfile"); "" for the
	// object as a whole.
	Field   string
	Verdict Verdict
	Message string
}

func (n Note) String() string {
	if n.Field == "" {
		return fmt.Sprintf("%-8s %s", n.Verdict, n.Message)
	}
	return fmt.Sprintf("%-8s %s: %s", n.Verdict, n.Field, n.Message)
}

// Outcome is what became of one object read.
type Outcome struct {
	Source Ref
	// Targets are the pylon objects made from it, "Kind name", in the
	// order made; empty when none was.
	Targets []string
	Notes   []Note
}

func (o *Outcome) note(field string, v Verdict, format string, args ...any) {
	o.Notes = append(o.Notes, Note{Field: field, Verdict: v, Message: fmt.Sprintf(format, args...)})
}

// kindOrder sorts outcomes: configuration kinds in the order pylon's
// objects depend on each other, then Secrets and Services.
func kindOrder(kind string) int {
	for i, k := range []string{KindIPAddressPool, KindL2Advertisement, KindBGPPeer, KindBGPAdvertisement, KindCommunity, KindBFDProfile, "Secret", "Service"} {
		if k == kind {
			return i
		}
	}
	return 100
}

func compareRefs(a, b Ref) int {
	return cmp.Or(cmp.Compare(kindOrder(a.Kind), kindOrder(b.Kind)), cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}
