package speaker

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/memberlistkey"
	"github.com/pylonlb/pylon/speaker/layer2"
	"github.com/pylonlb/pylon/speaker/membership"
)

// Announcer is what the reconciler needs of speaker/layer2's Announcer.
type Announcer interface {
	SetOwned(map[netip.Addr][]string) error
	Reannounce(netip.Addr) bool
	Stats() layer2.Stats
}

// Membership is what the reconciler needs of speaker/membership's List.
type Membership interface {
	Address() string
	Live() []string
	Members() []membership.Member
	Join([]string) (int, error)
	SetKeys(memberlistkey.Keys) error
}

// Event reasons on Services and on the SpeakerStatus.
const (
	ReasonAnnouncing        = "Announcing"
	ReasonStoppedAnnouncing = "StoppedAnnouncing"
	ReasonL2Conflict        = "Layer2Conflict"
	ReasonNoInterface       = "NoInterface"
)

// rejoinEvery is how often a speaker that misses known members tries to
// join them again (after a partition heals memberlist does not rejoin by
// itself).
const rejoinEvery = 2 * time.Second

// Reconciler computes, on every change, what this node announces and
// applies the difference. It reconciles one request: everything at once.
type Reconciler struct {
	Client    client.Client
	Recorder  events.EventRecorder
	Node      string
	Namespace string
	// Class is the load-balancer class served ("" = Services with none).
	Class string
	// KeySecret is the memberlist key Secret's name in Namespace.
	KeySecret string
	// Version is this speaker's build, as a label value for its
	// SpeakerStatus (v1alpha1.LabelVersion); "" writes no label.
	Version   string
	Announcer Announcer
	// StartBGP starts the BGP speaker once this node's router ID is known
	// (see ensureBGP); nil turns BGP off.
	StartBGP StartBGP
	// BFD runs the BFD sessions of the BGP peers with a bfd profile
	// (bfdwire.go); nil turns BFD off. RouteSource finds a session's local
	// address when the peer has no sourceAddress; nil means RouteSource.
	BFD         BFD
	RouteSource func(netip.Addr) (netip.Addr, error)
	// Log is for what happens outside a pass (BFD tearing a BGP session
	// down); passes log to their context's logger.
	Log     logr.Logger
	Members Membership
	// Links reads this node's interfaces.
	Links   func() ([]layer2.Link, error)
	Metrics *Metrics
	// Trigger delivers wake-ups from memberlist, the link watch and
	// conflicts; see Setup.
	Trigger chan event.GenericEvent
	// Stores are the cache's stores of the big kinds, read without
	// copying (see snapshot); Setup sets them.
	Stores *Stores
	// Clock is the time of every policy the reconciler follows: conflict
	// memory, reclaiming, settling, key rollover, the pace of status
	// writes, the BGP reset gate and hold after a restart. Setup sets the
	// real one. (pace measures work and uses WorkClock.)
	Clock clock.PassiveClock
	// WorkClock times the passes and the wait between them (pace); nil is
	// the real clock, which is what the speaker runs on. It is apart from
	// Clock because pacing measures work: a test's fake Clock stepped
	// during a pass would otherwise make the next one wait for it.
	WorkClock clock.Clock

	// joining is set while a background join runs.
	joining atomic.Bool

	// lastPass and lastEnd are the previous pass's duration and end, for
	// pace. Only Reconcile, never concurrent with itself, uses them.
	lastPass time.Duration
	lastEnd  time.Time

	frozen atomic.Bool
	// writer writes the SpeakerStatus passes hand it (Setup starts it).
	writer *statusWriter
	// retry is the backoff of passes that could not apply everything
	// (applyRetryMin to applyRetryMax); only pass, under mu, uses it.
	retry backoff
	// grace holds back publishing an address with no interface (see
	// publishAfter); only pass, under mu, uses it.
	grace noInterfaceGrace

	mu sync.Mutex
	// announced is what layer 2 answers for since the last pass.
	announced map[netip.Addr]L2
	// told is what Service events last said this node announces; seeded
	// says the first pass started it from this node's SpeakerStatus.
	told   told
	seeded bool
	split  splitBrain
	// keys are the memberlist keys in use; rollover takes them to the key
	// Secret's, step by step; keySecretMissing remembers that the Secret
	// was gone at the last pass (said once).
	keys             memberlistkey.Keys
	rollover         membership.Rollover
	keySecretMissing bool
	last             lastWritten
	// cfg is the configuration in force (the last pass's); a rejected
	// edit keeps the version from it.
	cfg *config.Config
	// services is what the passes derived from each cached Service and
	// EndpointSlice (serviceMemo).
	services serviceMemo
	// plans are the last pass's plans and their inputs (planMemo).
	plans planMemo
	// gate staggers BGPPeer changes that restart sessions.
	gate resetGate
	// startedAt is this process's first pass; settled says it has heard
	// from the speakers it knows of (settling), atomic because the
	// readiness check (Settled) reads it outside mu.
	startedAt time.Time
	settled   atomic.Bool
	// bgp is the running BGP speaker, started with routerID; bgpClosed
	// is set by CloseBGP.
	bgp       BGPSpeaker
	routerID  netip.Addr
	bgpClosed bool
	// listen are the addresses the running speaker listens on for
	// passive peers (bgppassive.go); nil: it listens on none. listenErr
	// is why it does not, having failed to.
	listen    []netip.Addr
	listenErr error
	// liveBGP is bgp, for BFD's change callback, which must not wait for
	// mu; bfdPeers names the BFD sessions' peers.
	liveBGP  atomic.Pointer[BGPSpeaker]
	bfdPeers bfdPeers
}

// maxPace bounds the wait between two passes.
const maxPace = 200 * time.Millisecond

// pace waits, before a pass, until as long as the previous pass took has
// passed since it ended (at most maxPace; paceWait). Under a burst of
// changes each pass then covers more of them and passes take at most about
// half a core; on a quiet cluster a pass takes about a millisecond and the
// wait is nothing. What changes during the wait is read by this pass.
func (r *Reconciler) pace(ctx context.Context) {
	c := r.workClock()
	wait := paceWait(r.lastPass, c.Since(r.lastEnd))
	if wait <= 0 {
		return
	}
	t := c.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C():
	}
}

// paceWait is how long pace waits when the previous pass took lastPass and
// ended sinceEnd ago: what is left of lastPass, capped at maxPace.
func paceWait(lastPass, sinceEnd time.Duration) time.Duration {
	return min(lastPass, maxPace) - sinceEnd
}

func (r *Reconciler) workClock() clock.Clock {
	if r.WorkClock == nil {
		return clock.RealClock{}
	}
	return r.WorkClock
}

// Freeze stops applying plans: the speaker is stopping and keeps answering
// for what it has until its successor took over (graceful handoff).
// It does not wait for a pass in progress: that pass stops before applying
// anything.
func (r *Reconciler) Freeze() { r.frozen.Store(true) }

// OnConflict records a conflict; it is the layer-2 Announcer's callback, so
// it only records and wakes the reconciler.
func (r *Reconciler) OnConflict(c layer2.Conflict) {
	r.mu.Lock()
	r.split.record(c, r.Clock.Now())
	r.mu.Unlock()
	r.wake()
}

func (r *Reconciler) wake() {
	if r.Trigger == nil {
		return
	}
	select {
	case r.Trigger <- event.GenericEvent{Object: &corev1.Node{}}:
	default:
	}
}

// apiTimeout bounds every API call the speaker makes.
const apiTimeout = 10 * time.Second

// Reconcile reads everything, plans and applies (under the lock, with no
// API call: reads come from the cache, announcers are local), then hands
// the SpeakerStatus to the status writer, which writes it in its own
// goroutine (statusWriter). A slow or unreachable API server never holds
// up what the pass planned, the conflict callback or the next pass.
func (r *Reconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	r.pace(ctx)
	work := r.workClock()
	began := work.Now()
	defer func() {
		r.lastPass, r.lastEnd = work.Since(began), work.Now()
		if r.Metrics != nil {
			r.Metrics.observePass(r.lastPass)
		}
	}()
	p, err := r.pass(ctx)
	if err != nil || p == nil {
		return reconcile.Result{}, err
	}
	r.writer.submit(&statusJob{snap: p.snap, want: p.status})
	var later time.Duration
	for _, step := range p.steps {
		if step > 0 && (later == 0 || later > step) {
			later = step
		}
	}
	return reconcile.Result{RequeueAfter: later}, nil
}

// passResult is what a pass leaves for the API writes after it.
type passResult struct {
	snap *snapshot
	// status is this node's SpeakerStatus status as the pass sees it.
	status v1alpha1.SpeakerStatusStatus
	// steps are the times after which something needs another pass.
	steps []time.Duration
}

// pass reads the cache, plans and applies to the announcers, under the
// lock; nil when the speaker is frozen (stopping).
func (r *Reconciler) pass(ctx context.Context) (*passResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.frozen.Load() {
		return nil, nil
	}
	logger := log.FromContext(ctx)
	snap, err := r.read(ctx)
	if err != nil {
		return nil, err
	}
	if !r.seeded {
		r.seedTold(snap)
	}
	keyStep := r.updateKeys(ctx, snap)
	missing := r.rejoin(ctx, snap)

	live := map[string]bool{}
	for _, n := range r.Members.Live() {
		live[n] = true
	}
	majority := r.majority(snap, live)
	r.applyConflictPolicy(ctx, snap, majority)
	settling := r.settling(snap, live)

	links, err := r.Links()
	if err != nil {
		logger.Error(err, "reading the node's interfaces")
	}
	snap.memo = &r.services
	in := snap.inputs(r.Node, r.Class, live)
	in.Links, in.NodeIPs, in.Yield = links, snap.nodeIPs(r.Node), r.split.yield
	plan, bp := r.plans.plans(in, r.services.changes, r.Node, r.StartBGP != nil && !r.bgpClosed)
	if settling {
		// Not heard from the speakers it knows of yet: with only itself
		// alive it would own every address. Answer for nothing until then.
		plan.L2 = nil
	}
	owned := make(map[netip.Addr][]string, len(plan.L2))
	for ip, a := range plan.L2 {
		owned[ip] = a.Interfaces
	}
	if r.frozen.Load() {
		return nil, nil
	}
	applyErr := r.Announcer.SetOwned(owned)
	if applyErr != nil {
		logger.Error(applyErr, "announcing")
	}
	r.tellChanges(snap, plan, settling)
	r.announced = plan.L2
	bs := r.applyBGP(ctx, snap, bp)
	if bs.err != nil {
		logger.Error(bs.err, "announcing over BGP")
	}
	bgpHold := r.tellBGPChanges(snap, bs)
	if r.Metrics != nil {
		r.Metrics.observe(len(plan.L2), len(live), r.Announcer.Stats())
		r.Metrics.observeBGP(bs.sessions, len(bs.announced))
		r.Metrics.observeBFD(bs.sessions, bs.bfd)
	}
	res := &passResult{snap: snap, status: buildStatus(r.Members.Members(), plan, applyErr, bs, &r.split), steps: []time.Duration{keyStep, bs.again, bgpHold}}
	if missing || len(r.split.conflicts) > 0 {
		res.steps = append(res.steps, rejoinEvery)
	}
	if settling {
		res.steps = append(res.steps, settleEvery)
	}
	res.steps = append(res.steps, r.retry.next(applyErr != nil || len(plan.NoInterface) > 0))
	publish, due := r.grace.publish(r.Clock.Now(), plan.NoInterface, in.NoInterface[r.Node])
	publishNoInterface(&res.status, publish)
	res.steps = append(res.steps, due)
	return res, nil
}

// updateKeys follows the memberlist key Secret: a change of it is rolled
// over in steps that keep every member readable by every other
// (membership.Rollover), so that a key replaced in one edit gets nobody
// declared dead. A Secret that is missing or unusable keeps the keys in use.
// It returns how long until the next step of a rollover (0: none pending).
func (r *Reconciler) updateKeys(ctx context.Context, snap *snapshot) time.Duration {
	logger := log.FromContext(ctx)
	found := false
	for _, s := range snap.secrets {
		if s.Name != r.KeySecret {
			continue
		}
		found = true
		keys, err := memberlistkey.FromSecret(s.Data)
		if err != nil {
			logger.Error(err, "memberlist key Secret unusable; keeping the current keys", "secret", r.Namespace+"/"+r.KeySecret)
			break
		}
		if !keys.Equal(r.rollover.Target()) && !(len(r.rollover.Target().Primary) == 0 && keys.Equal(r.keys)) {
			r.rollover = membership.NewRollover(r.keys, keys, r.Clock.Now(), membership.AcceptFirst, membership.KeepOld)
		}
	}
	if !found && len(r.keys.Primary) > 0 && !r.keySecretMissing {
		logger.Info("memberlist key Secret missing; keeping the keys in use", "secret", r.Namespace+"/"+r.KeySecret)
	}
	r.keySecretMissing = !found
	keys, next := r.rollover.At(r.Clock.Now())
	if len(keys.Primary) == 0 || keys.Equal(r.keys) {
		return next
	}
	if err := r.Members.SetKeys(keys); err != nil {
		logger.Error(err, "installing memberlist keys")
		return next
	}
	r.keys = keys
	return next
}

// rejoin joins, in the background, the speakers whose SpeakerStatus gives
// an address and that memberlist does not count as live; it reports whether
// some are missing. A join to an unreachable speaker can take seconds (a
// TCP timeout), so it never runs inside a pass, and one runs at a time.
func (r *Reconciler) rejoin(ctx context.Context, snap *snapshot) bool {
	live := map[string]bool{}
	for _, n := range r.Members.Live() {
		live[n] = true
	}
	var addrs []string
	for _, s := range snap.speakers {
		if s.Name != r.Node && !live[s.Name] && s.Spec.MemberlistAddress != "" && snap.hasNode(s.Name) {
			addrs = append(addrs, s.Spec.MemberlistAddress)
		}
	}
	if len(addrs) == 0 {
		return false
	}
	if !r.joining.CompareAndSwap(false, true) {
		return true
	}
	logger := log.FromContext(ctx)
	go func() {
		defer r.joining.Store(false)
		if n, err := r.Members.Join(addrs); err != nil {
			logger.V(1).Info("joining speakers", "addresses", addrs, "joined", n, "error", err.Error())
		}
	}()
	return true
}

// settleMax bounds how long a starting speaker waits to hear from the
// speakers it knows of before it answers ARP/NDP: one whose known peers are
// gone for good still answers after this long. settleEvery is how often it
// looks again meanwhile.
const (
	settleMax   = 5 * time.Second
	settleEvery = 100 * time.Millisecond
)

// settling reports whether this speaker, just started, still waits to hear
// from the speakers it knows of (a SpeakerStatus with an address, on an
// existing node) before it answers for any address. A speaker that sees
// only itself alive would own every address and send gratuitous ARP/NA for
// all of them, moving clients to it for the moment memberlist takes to
// settle: at every restart, so at every rolling update. It joins them at
// once (rejoin); once they are live, or after settleMax, it answers for
// what it owns. A speaker alone in a fresh cluster knows of nobody and
// answers at once.
func (r *Reconciler) settling(snap *snapshot, live map[string]bool) bool {
	if r.settled.Load() {
		return false
	}
	if r.startedAt.IsZero() {
		r.startedAt = r.Clock.Now()
	}
	if r.Clock.Since(r.startedAt) < settleMax {
		for _, s := range snap.speakers {
			if s.Name != r.Node && s.Spec.MemberlistAddress != "" && snap.hasNode(s.Name) && !live[s.Name] {
				return true
			}
		}
	}
	r.settled.Store(true)
	return false
}

// Settled is the speaker's readiness check (/readyz): an error until the
// speaker has settled (heard from the speakers it knows of, or settleMax
// passed) and answers for what it owns. A DaemonSet's rolling update
// replaces the next node's speaker only once this one is Ready: Ready at
// start, as it was, the update could take the next node's speaker away
// while the others did not yet count this one alive, and a third node,
// seeing both gone, would claim their addresses (seen in the lab).
func (r *Reconciler) Settled(*http.Request) error {
	if !r.settled.Load() {
		return errors.New("not settled: waiting to hear from the speakers it knows of")
	}
	return nil
}

func (s *snapshot) hasNode(name string) bool {
	return slices.ContainsFunc(s.nodes, func(n *corev1.Node) bool { return n.Name == name })
}

// majority reports whether this speaker sees more than half of the known
// speakers (those with a SpeakerStatus on an existing node, itself
// included) alive.
func (r *Reconciler) majority(snap *snapshot, live map[string]bool) bool {
	known := map[string]bool{r.Node: true}
	for _, s := range snap.speakers {
		if snap.hasNode(s.Name) {
			known[s.Name] = true
		}
	}
	n := 0
	for name := range known {
		if live[name] {
			n++
		}
	}
	return 2*n > len(known)
}
