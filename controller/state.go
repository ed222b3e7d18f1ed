package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/controller/allocator"
)

// State is the controller's memory: the allocator, the configuration in
// force and what it last told each Service. One State serves one leader
// term: it is rebuilt from every Service's status before the first
// allocation (see restore).
type State struct {
	mu       sync.Mutex
	alloc    *allocator.Allocator
	cfg      *config.Config
	restored bool
	// pending are Services that wait for an address, and whether a
	// released address could help them (true) or only a configuration
	// change can (false). They are woken then, never all Services.
	pending map[types.NamespacedName]bool
	// told is the last event (reason and message) sent about each Service,
	// so that events go out on change only.
	told map[string]string
	// conflicts found while restoring, reported on the Service's next pass.
	conflicts map[types.NamespacedName]string
	// unsafe is the unsafe set last put in force (sorted); unsafeKnown
	// says whether one was.
	unsafe      []config.Unsafe
	unsafeKnown bool
	// wake is the Service reconciler's work queue, set when its wake-up
	// source starts (wakeSource): pending Services are added to it, which
	// never blocks and never drops one. nil until then.
	wake workqueue.TypedInterface[reconcile.Request]
	// poolsChanged asks the config reconciler to refresh pool status;
	// poolsArmed says a refresh is already scheduled.
	poolsChanged chan event.GenericEvent
	poolsArmed   bool
}

// poolStatusDelay gathers the count changes of a burst of allocations into
// one IPPool status write: counts lag by at most this much, and a burst of
// 5,000 Services costs a few dozen status writes instead of 5,000.
const poolStatusDelay = 250 * time.Millisecond

// NewState returns an empty State.
func NewState() *State {
	return &State{
		alloc:        allocator.New(),
		cfg:          config.Parse(config.Resources{}),
		pending:      map[types.NamespacedName]bool{},
		told:         map[string]string{},
		conflicts:    map[types.NamespacedName]string{},
		poolsChanged: make(chan event.GenericEvent, 1),
	}
}

// restore rebuilds allocations from every served Service's status, oldest
// Service first, before anything new is allocated. load reads the
// configuration, gather the addresses never handed out (nil: only
// config.SpecialRanges); c lists the Services (all from the synced cache).
func (s *State) restore(ctx context.Context, load func(context.Context) (*config.Config, error), gather func(context.Context) ([]config.Unsafe, error), c client.Reader, class string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.restored {
		return nil
	}
	cfg, err := load(ctx)
	if err != nil {
		return err
	}
	if gather != nil {
		unsafe, err := gather(ctx)
		if err != nil {
			return err
		}
		s.setUnsafeLocked(unsafe)
	}
	var list corev1.ServiceList
	if err := c.List(ctx, &list); err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	var nsList corev1.NamespaceList
	if err := c.List(ctx, &nsList); err != nil {
		return fmt.Errorf("list namespaces: %w", err)
	}
	nsLabels := map[string]map[string]string{}
	for _, ns := range nsList.Items {
		nsLabels[ns.Name] = ns.Labels
	}
	s.cfg = cfg
	s.alloc.SetPools(cfg.Pools)
	svcs := list.Items
	slices.SortFunc(svcs, func(a, b corev1.Service) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	for i := range svcs {
		req, err := requestFor(&svcs[i], nsLabels[svcs[i].Namespace], class)
		if err != nil || !req.served {
			continue
		}
		for _, ip := range config.IngressIPs(&svcs[i]) {
			if _, err := s.alloc.Restore(req.svc, ip); err != nil && !errors.Is(err, allocator.ErrNotInPool) {
				s.conflicts[client.ObjectKeyFromObject(&svcs[i])] = fmt.Sprintf("%s, in this Service's status, is held by an older Service: %v", ip, err)
			}
		}
	}
	s.restored = true
	return nil
}

// setConfig puts a new configuration in force and wakes the Services that
// wait for an address, and those whose addresses now stand otherwise (in
// another pool or in none, or shared against a changed rule), so that
// their condition and annotation follow. Allocations are kept whatever the
// new pools say.
func (s *State) setConfig(cfg *config.Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg = cfg
	if s.restored {
		changed := s.alloc.SetPools(cfg.Pools)
		s.wakePendingLocked(false)
		s.wakeHoldersLocked(changed)
	}
}

// decide runs decide under the lock, keeps the pending set and wakes waiting
// Services when addresses were freed.
func (s *State) decide(key types.NamespacedName, req request) (o outcome, before []netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	before = s.alloc.IPs(req.svc.Key)
	o = decide(s.alloc, req)
	freed := false
	for _, ip := range before {
		if !s.holds(req.svc.Key, ip) {
			freed = true
		}
	}
	if o.pending() {
		s.pending[key] = o.waitsForRelease()
	} else {
		delete(s.pending, key)
	}
	if freed {
		s.wakePendingLocked(true)
	}
	if freed || !slices.Equal(before, s.alloc.IPs(req.svc.Key)) {
		s.notifyPoolsLocked()
	}
	return o, before
}

// holds reports whether svc still holds ip; the lock must be held.
func (s *State) holds(svc string, ip netip.Addr) bool {
	return slices.Contains(s.alloc.IPs(svc), ip)
}

// forget drops a deleted Service.
func (s *State) forget(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	had := len(s.alloc.IPs(key.String())) > 0
	s.alloc.Release(key.String())
	delete(s.pending, key)
	delete(s.told, "Service/"+key.String())
	delete(s.conflicts, key)
	if had {
		s.wakePendingLocked(true)
		s.notifyPoolsLocked()
	}
}

// tell remembers the last event (reason and message) about an object, keyed
// by kind/namespace/name, and returns the one before ("" for none), so that
// events go out on change only.
func (s *State) tell(key, reason, message string) (previous string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	previous = s.told[key]
	s.told[key] = reason + ": " + message
	return previous
}

// takeConflict returns and clears a conflict found while restoring.
func (s *State) takeConflict(key types.NamespacedName) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := s.conflicts[key]
	delete(s.conflicts, key)
	return msg
}

// wakePendingLocked sends pending Services back to the reconciler: after a
// release only those a free address could help, after a configuration
// change all. The pending set stays until a Service gets what it asked for.
func (s *State) wakePendingLocked(release bool) {
	keys := slices.SortedFunc(maps.Keys(s.pending), func(a, b types.NamespacedName) int {
		return cmp.Compare(a.String(), b.String())
	})
	for _, key := range keys {
		if release && !s.pending[key] {
			continue
		}
		if s.wake != nil {
			s.wake.Add(reconcile.Request{NamespacedName: key})
		}
	}
}

// wakeSource is the source of the Service reconciler's wake-ups: it hands
// the controller's work queue to the State. A work queue grows as needed
// and folds repeated keys into one, so no wake-up is ever dropped, however
// many Services wait.
func (s *State) wakeSource() source.Source {
	return source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.wake = q
		s.wakePendingLocked(false)
		return nil
	})
}

// notifyPoolsLocked asks for a pool status refresh poolStatusDelay from
// now; asks in between coalesce into it.
func (s *State) notifyPoolsLocked() {
	if s.poolsArmed {
		return
	}
	s.poolsArmed = true
	time.AfterFunc(poolStatusDelay, func() {
		s.mu.Lock()
		s.poolsArmed = false
		s.mu.Unlock()
		select {
		case s.poolsChanged <- event.GenericEvent{Object: &corev1.Service{}}:
		default:
		}
	})
}

// counts returns a pool's address counts.
func (s *State) counts(pool string) (v4, v6 allocator.Counts) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.alloc.Counts(pool)
}

// config returns the configuration in force.
func (s *State) config() *config.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// setUnsafe puts a new set of addresses never handed out in force. Services
// holding an address that is now unsafe keep it and are woken, so that
// their next pass warns about it.
func (s *State) setUnsafe(us []config.Unsafe) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setUnsafeLocked(us)
}

func (s *State) setUnsafeLocked(us []config.Unsafe) {
	us = slices.Clone(us)
	slices.SortFunc(us, func(a, b config.Unsafe) int {
		return cmp.Or(a.Prefix.Addr().Compare(b.Prefix.Addr()), cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()), cmp.Compare(a.Why, b.Why))
	})
	us = slices.Compact(us)
	if s.unsafeKnown && slices.Equal(us, s.unsafe) {
		return
	}
	s.unsafe, s.unsafeKnown = us, true
	wasUnsafe := s.alloc.HeldUnsafe()
	s.alloc.SetUnsafe(us)
	if !s.restored {
		return // restore's Services are all reconciled at start
	}
	// A Service refused an address that is safe now, or waiting on a pool
	// that has more room now, may get one. Holders of an address that
	// became unsafe are warned; those of one that is safe again lose the
	// warning.
	s.wakePendingLocked(false)
	s.wakeHoldersLocked(s.alloc.HeldUnsafe())
	s.wakeHoldersLocked(wasUnsafe)
	s.notifyPoolsLocked()
}

// wakeHoldersLocked sends the Services holding these addresses back to the
// reconciler.
func (s *State) wakeHoldersLocked(ips []netip.Addr) {
	if s.wake == nil {
		return
	}
	for _, ip := range ips {
		for _, key := range s.alloc.Holders(ip) {
			ns, name, _ := strings.Cut(key, "/")
			s.wake.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
		}
	}
}

// poolUnsafe returns the unsafe blocks in a pool, and the unsafe addresses
// of the pool that Services hold, with their holders.
func (s *State) poolUnsafe(pool string) ([]config.Unsafe, map[netip.Addr][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := map[netip.Addr][]string{}
	for _, ip := range s.alloc.HeldUnsafe() {
		if s.alloc.Pool(ip) == pool {
			held[ip] = s.alloc.Holders(ip)
		}
	}
	return s.alloc.UnsafeIn(pool), held
}
