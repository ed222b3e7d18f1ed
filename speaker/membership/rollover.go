package membership

import (
	"bytes"
	"slices"
	"time"

	"github.com/pylonlb/pylon/memberlistkey"
)

// Steps of an automatic key change (see Rollover).
const (
	// AcceptFirst is how long members accept a new primary key before they
	// encrypt with it: every member must have heard of the Secret's change
	// by then (a watch delivers it in well under a second).
	AcceptFirst = 10 * time.Second
	// KeepOld is how long members still accept the old keys after they
	// switched: a member that switched late still gets through.
	KeepOld = 30 * time.Second
)

// Rollover takes a running member from one keyring to another in steps
// that keep every member able to read every other, however the change was
// made: an operator who replaces the primary key in one edit, or who drops
// the old key before every member switched, gets the three-step rotation
// done for them. Members hear of a change at slightly different moments, so
// switching at once would leave, for that moment, members that cannot
// decrypt each other's probes, and they would declare each other dead.
//
// The steps, from cur to next:
//  1. if next's primary is new to cur: cur's primary still encrypts, next's
//     keys are accepted too, for a while (AcceptFirst);
//  2. if cur held keys that next drops: next's primary encrypts, cur's keys
//     are still accepted, for a while (KeepOld);
//  3. next, exactly.
//
// A Rollover is a plain value: the caller passes the clock.
type Rollover struct {
	steps []memberlistkey.Keys
	ends  []time.Time
}

// NewRollover plans the change from cur to next starting at now, with steps
// 1 and 2 lasting accept and keep (AcceptFirst and KeepOld in the speaker).
// An empty cur (no keys yet) goes to next at once.
func NewRollover(cur, next memberlistkey.Keys, now time.Time, accept, keep time.Duration) Rollover {
	var r Rollover
	if len(cur.Primary) == 0 {
		return Rollover{steps: []memberlistkey.Keys{next}, ends: []time.Time{now}}
	}
	at := now
	if !holds(cur.All(), next.Primary) {
		at = at.Add(accept)
		r.steps = append(r.steps, memberlistkey.Keys{Primary: cur.Primary, Others: union(cur.Others, next.All(), cur.Primary)})
		r.ends = append(r.ends, at)
	}
	if dropped := slices.ContainsFunc(cur.All(), func(k []byte) bool { return !holds(next.All(), k) }); dropped {
		at = at.Add(keep)
		r.steps = append(r.steps, memberlistkey.Keys{Primary: next.Primary, Others: union(next.Others, cur.All(), next.Primary)})
		r.ends = append(r.ends, at)
	}
	r.steps = append(r.steps, next)
	r.ends = append(r.ends, at)
	return r
}

// At returns the keyring to use at now, and how long until the next step
// (0 when the change is complete).
func (r Rollover) At(now time.Time) (memberlistkey.Keys, time.Duration) {
	for i, end := range r.ends {
		if i == len(r.steps)-1 || now.Before(end) {
			return r.steps[i], max(end.Sub(now), 0)
		}
	}
	return memberlistkey.Keys{}, 0 // no steps: the zero Rollover
}

// Target is the keyring the change ends with.
func (r Rollover) Target() memberlistkey.Keys {
	if len(r.steps) == 0 {
		return memberlistkey.Keys{}
	}
	return r.steps[len(r.steps)-1]
}

func holds(keys [][]byte, k []byte) bool {
	return slices.ContainsFunc(keys, func(x []byte) bool { return bytes.Equal(x, k) })
}

// union returns a's keys, then b's that a lacks, without primary.
func union(a, b [][]byte, primary []byte) [][]byte {
	var out [][]byte
	for _, k := range append(slices.Clone(a), b...) {
		if !bytes.Equal(k, primary) && !holds(out, k) {
			out = append(out, k)
		}
	}
	return out
}
