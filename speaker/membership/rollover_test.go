package membership

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pylonlb/pylon/memberlistkey"
)

func TestRolloverSteps(t *testing.T) {
	k1, k2, k3 := memberlistkey.New(), memberlistkey.New(), memberlistkey.New()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, k := 10*time.Second, 30*time.Second
	type step struct {
		at      time.Duration
		primary []byte
		others  [][]byte
		next    time.Duration
	}
	tests := []struct {
		name      string
		cur, next memberlistkey.Keys
		steps     []step
	}{
		{"a new primary in one edit: accept, switch, drop", memberlistkey.Keys{Primary: k1}, memberlistkey.Keys{Primary: k2}, []step{
			{0, k1, [][]byte{k2}, a},
			{a - time.Second, k1, [][]byte{k2}, time.Second},
			{a, k2, [][]byte{k1}, k},
			{a + k, k2, nil, 0},
		}},
		{"rotation step 1 (add the new key): at once", memberlistkey.Keys{Primary: k1}, memberlistkey.Keys{Primary: k1, Others: [][]byte{k2}}, []step{
			{0, k1, [][]byte{k2}, 0},
		}},
		{"rotation step 2 (switch, old kept): at once", memberlistkey.Keys{Primary: k1, Others: [][]byte{k2}}, memberlistkey.Keys{Primary: k2, Others: [][]byte{k1}}, []step{
			{0, k2, [][]byte{k1}, 0},
		}},
		{"switch and drop in one edit: the old key is kept a while", memberlistkey.Keys{Primary: k1, Others: [][]byte{k2}}, memberlistkey.Keys{Primary: k2}, []step{
			{0, k2, [][]byte{k1}, k},
			{k, k2, nil, 0},
		}},
		{"a new primary while others stay", memberlistkey.Keys{Primary: k1, Others: [][]byte{k3}}, memberlistkey.Keys{Primary: k2, Others: [][]byte{k3}}, []step{
			{0, k1, [][]byte{k3, k2}, a},
			{a, k2, [][]byte{k3, k1}, k},
			{a + k, k2, [][]byte{k3}, 0},
		}},
		{"first keys: at once", memberlistkey.Keys{}, memberlistkey.Keys{Primary: k2}, []step{{0, k2, nil, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRollover(tt.cur, tt.next, t0, a, k)
			if !r.Target().Equal(tt.next) {
				t.Errorf("Target = %v, want %v", r.Target(), tt.next)
			}
			for _, s := range tt.steps {
				got, next := r.At(t0.Add(s.at))
				want := memberlistkey.Keys{Primary: s.primary, Others: s.others}
				if !got.Equal(want) || next != s.next {
					t.Errorf("at +%v: keys %v (next %v), want %v (next %v)", s.at, got, next, want, s.next)
				}
			}
		})
	}
}

// TestOneEditKeyChangeKeepsEveryMember: the primary key replaced in one
// edit, heard by the three members a second apart (as a slow watch would
// deliver it): with the rollover nobody is ever declared dead, and at the
// end only the new key is in use.
func TestOneEditKeyChangeKeepsEveryMember(t *testing.T) {
	oldKey, newKey := memberlistkey.New(), memberlistkey.New()
	ls := cluster(t, 3, &memberlistkey.Keys{Primary: oldKey})
	const accept, keep, lag = 1500 * time.Millisecond, 1500 * time.Millisecond, 700 * time.Millisecond

	var mu sync.Mutex
	var seenDead []string
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			for _, l := range ls {
				if live := l.Live(); len(live) != 3 {
					mu.Lock()
					seenDead = append(seenDead, fmt.Sprintf("%s sees %v", l.ml.LocalNode().Name, live))
					mu.Unlock()
				}
			}
		}
	}()

	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * lag)
			r := NewRollover(memberlistkey.Keys{Primary: oldKey}, memberlistkey.Keys{Primary: newKey}, time.Now(), accept, keep)
			var cur memberlistkey.Keys
			for {
				k, next := r.At(time.Now())
				if !k.Equal(cur) {
					if err := l.SetKeys(k); err != nil {
						t.Error(err)
						return
					}
					cur = k
				}
				if next == 0 {
					return
				}
				time.Sleep(min(next, 50*time.Millisecond))
			}
		}()
	}
	wg.Wait()
	time.Sleep(time.Second) // probe rounds with the new key only
	close(stop)
	<-watched
	if len(seenDead) > 0 {
		t.Fatalf("members lost each other during the change: %v", seenDead[:min(len(seenDead), 5)])
	}
	for _, l := range ls {
		if keys := l.keyring.GetKeys(); len(keys) != 1 || !bytes.Equal(keys[0], newKey) {
			t.Fatalf("%s holds %d keys after the change", l.ml.LocalNode().Name, len(keys))
		}
	}
}
