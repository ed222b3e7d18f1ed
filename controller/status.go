package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/controller/allocator"
)

// ConfigReconciler reads every pylon resource, puts the parsed
// configuration in force and writes each resource's status and events. It
// works on the whole configuration at once (cross-object checks need all
// of it), so every watch maps to the one request configKey.
type ConfigReconciler struct {
	Client   client.Client
	Recorder events.EventRecorder
	State    *State
	// Namespace is where pylon runs: password Secrets without a namespace
	// are read from here.
	Namespace string
	// Restore rebuilds allocations before the first status is written, so
	// that pool counts are never reported from an empty allocator.
	Restore func(context.Context) error
	// KeySecret names the speakers' memberlist key Secret in Namespace;
	// the controller creates it when missing. "" skips that.
	KeySecret string
	// Metrics counts failed steps; may be nil.
	Metrics *Metrics

	// keyData is the key Secret's data as last seen, to restore it if it
	// is deleted. Only Reconcile (one at a time) uses it.
	keyData map[string][]byte
	// Unsafe reads the addresses never handed out (Nodes, pod and Service
	// CIDRs); nil: only config.SpecialRanges.
	Unsafe func(context.Context) ([]config.Unsafe, error)
}

// configRequestName names the single request the ConfigReconciler works on.
const configRequestName = "pylon-configuration"

// Load lists the pylon resources and Secrets and parses them; an object
// whose newest generation is rejected keeps the version its status records
// as in force. (State.restore calls it under the State's lock, so it does
// not read the State.)
func (r *ConfigReconciler) Load(ctx context.Context) (*config.Config, error) {
	res, err := r.list(ctx)
	if err != nil {
		return nil, err
	}
	return config.Parse(res), nil
}

func (r *ConfigReconciler) list(ctx context.Context) (config.Resources, error) {
	res := config.Resources{Namespace: r.Namespace}
	var pools v1alpha1.IPPoolList
	var l2 v1alpha1.L2AdvertisementList
	var peers v1alpha1.BGPPeerList
	var bgp v1alpha1.BGPAdvertisementList
	var secrets corev1.SecretList
	for _, l := range []struct {
		list client.ObjectList
		opts []client.ListOption
	}{{&pools, nil}, {&l2, nil}, {&peers, nil}, {&bgp, nil}, {&secrets, []client.ListOption{client.InNamespace(r.Namespace)}}} {
		if err := r.Client.List(ctx, l.list, l.opts...); err != nil {
			return res, fmt.Errorf("list %T: %w", l.list, err)
		}
	}
	res.Pools, res.L2Advertisements, res.BGPPeers, res.BGPAdvertisements, res.Secrets = pools.Items, l2.Items, peers.Items, bgp.Items, secrets.Items
	return res, nil
}

// Reconcile re-reads the configuration, puts it in force and writes what
// changed. Each step stands on its own: the key Secret and every object's
// status are tried whatever happened to the others; what failed is an event
// and a metric, and the returned error has the request retried with backoff.
func (r *ConfigReconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	if r.Restore != nil {
		if err := r.Restore(ctx); err != nil {
			return reconcile.Result{}, err
		}
	}
	res, err := r.list(ctx)
	if err != nil {
		return reconcile.Result{}, err
	}
	res.Last = r.State.config()
	cfg := config.Parse(res)
	r.State.setConfig(cfg)

	var errs []error
	if r.Unsafe != nil {
		// Read from the cache; on failure the set in force stays.
		if unsafe, err := r.Unsafe(ctx); err != nil {
			errs = append(errs, r.stepFailed(ctx, StepUnsafe, r.namespaceRef(), fmt.Errorf("read the addresses never handed out: %w", err)))
		} else {
			r.State.setUnsafe(unsafe)
		}
	}
	if err := r.ensureKeySecret(ctx, res.Secrets); err != nil {
		errs = append(errs, r.stepFailed(ctx, StepKeySecret, r.namespaceRef(), err))
	}
	for i := range res.Pools {
		p := &res.Pools[i]
		want := p.Status.DeepCopy()
		r.poolStatus(cfg, p, want)
		errs = append(errs, r.writeStatus(ctx, p, &p.Status, want))
	}
	for i := range res.L2Advertisements {
		a := &res.L2Advertisements[i]
		want := a.Status.DeepCopy()
		r.objectStatus(cfg, config.KindL2Advertisement, a, &want.ObservedGeneration, &want.InForce, &want.Conditions)
		errs = append(errs, r.writeStatus(ctx, a, &a.Status, want))
	}
	for i := range res.BGPAdvertisements {
		a := &res.BGPAdvertisements[i]
		want := a.Status.DeepCopy()
		r.objectStatus(cfg, config.KindBGPAdvertisement, a, &want.ObservedGeneration, &want.InForce, &want.Conditions)
		errs = append(errs, r.writeStatus(ctx, a, &a.Status, want))
	}
	for i := range res.BGPPeers {
		p := &res.BGPPeers[i]
		want := p.Status.DeepCopy()
		r.objectStatus(cfg, config.KindBGPPeer, p, &want.ObservedGeneration, &want.InForce, &want.Conditions)
		errs = append(errs, r.writeStatus(ctx, p, &p.Status, want))
	}
	return reconcile.Result{}, errors.Join(errs...)
}

// Steps of the configuration pass that can fail on their own, as the
// pylon_controller_step_failures_total metric labels them.
const (
	StepKeySecret   = "key-secret"
	StepWriteStatus = "write-status"
	StepUnsafe      = "unsafe-addresses"
)

// ReasonStepFailed is the event reason of a failed step.
const ReasonStepFailed = "StepFailed"

// stepFailed reports a failed step on obj (event) and in the metrics, and
// returns err for the retry.
func (r *ConfigReconciler) stepFailed(ctx context.Context, step string, obj runtime.Object, err error) error {
	log.FromContext(ctx).Error(err, "configuration step failed; retrying with backoff", "step", step)
	r.Metrics.stepFailed(step)
	r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, ReasonStepFailed, step, "%v (retrying with backoff)", err)
	return err
}

// namespaceRef is pylon's namespace, the object that events about the key
// Secret are recorded on (the Secret itself may not exist).
func (r *ConfigReconciler) namespaceRef() runtime.Object {
	ns := &corev1.Namespace{}
	ns.Name = r.Namespace
	return ns
}

// objectStatus fills the observed generation, the version in force and the
// conditions of an advertisement or peer.
func (r *ConfigReconciler) objectStatus(cfg *config.Config, kind config.Kind, obj client.Object, observed *int64, inForce **v1alpha1.InForce, conds *[]metav1.Condition) {
	*observed = obj.GetGeneration()
	setInForce(cfg, kind, obj.GetName(), inForce)
	r.conditions(cfg, kind, obj, conds)
}

// setInForce records the version of an object in force; it keeps the
// recorded one when the model does not hold the object (rejected with
// nothing to keep), so that a component that starts later still finds it.
func setInForce(cfg *config.Config, kind config.Kind, name string, dst **v1alpha1.InForce) {
	in, ok := cfg.InForce(kind, name)
	if !ok || sameInForce(*dst, in) {
		return
	}
	*dst = in
}

// sameInForce compares two versions in force by generation and spec; specs
// are compared as JSON values, since the API server writes the copy back
// with its keys in another order.
func sameInForce(a, b *v1alpha1.InForce) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Generation != b.Generation {
		return false
	}
	var va, vb any
	if json.Unmarshal(a.Spec.Raw, &va) != nil || json.Unmarshal(b.Spec.Raw, &vb) != nil {
		return false
	}
	return equality.Semantic.DeepEqual(va, vb)
}

// writeStatus patches obj's status to want when it differs semantically
// from current (a pointer into obj).
func (r *ConfigReconciler) writeStatus(ctx context.Context, obj client.Object, current, want any) error {
	if equality.Semantic.DeepEqual(current, want) {
		return nil
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	switch c := current.(type) {
	case *v1alpha1.IPPoolStatus:
		*c = *want.(*v1alpha1.IPPoolStatus)
	case *v1alpha1.AdvertisementStatus:
		*c = *want.(*v1alpha1.AdvertisementStatus)
	case *v1alpha1.BGPPeerStatus:
		*c = *want.(*v1alpha1.BGPPeerStatus)
	}
	if err := r.Client.Status().Patch(ctx, obj, patch); err != nil {
		return r.stepFailed(ctx, StepWriteStatus, obj, fmt.Errorf("write status of %s %s: %w", reflect.TypeOf(obj).Elem().Name(), obj.GetName(), err))
	}
	return nil
}

// poolStatus fills an IPPool's counts and conditions.
func (r *ConfigReconciler) poolStatus(cfg *config.Config, p *v1alpha1.IPPool, st *v1alpha1.IPPoolStatus) {
	r.objectStatus(cfg, config.KindIPPool, p, &st.ObservedGeneration, &st.InForce, &st.Conditions)
	overlapping := metav1.Condition{Type: v1alpha1.ConditionOverlapping, Status: metav1.ConditionFalse, Reason: "NoOverlap", ObservedGeneration: p.Generation}
	if pool := cfg.Pool(p.Name); pool != nil && !pool.Usable() {
		overlapping.Status, overlapping.Reason = metav1.ConditionTrue, config.ReasonOverlapping
		overlapping.Message = fmt.Sprintf("overlaps older IPPool(s) %v: no new address is given out from this pool; addresses already held stay", pool.Overlaps)
	}
	meta.SetStatusCondition(&st.Conditions, overlapping)
	meta.SetStatusCondition(&st.Conditions, r.unsafeCondition(p))

	if cfg.Pool(p.Name) == nil {
		st.IPv4, st.IPv6, st.Allocated, st.Available = nil, nil, 0, ""
		return
	}
	v4, v6 := r.State.counts(p.Name)
	st.IPv4, st.IPv6 = familyCounts(v4), familyCounts(v6)
	st.Allocated = v4.Allocated + v6.Allocated
	st.Available = new(big.Int).Add(bigOrZero(v4.Available), bigOrZero(v6.Available)).String()
}

func familyCounts(c allocator.Counts) *v1alpha1.AddressCounts {
	if c.Total == nil || c.Total.Sign() == 0 {
		return nil
	}
	return &v1alpha1.AddressCounts{Total: c.Total.String(), Allocated: c.Allocated, Available: bigOrZero(c.Available).String()}
}

func bigOrZero(b *big.Int) *big.Int {
	if b == nil {
		return new(big.Int)
	}
	return b
}

// conditions sets Ready and Invalid from the object's problems, and sends an
// event when its verdict changes.
func (r *ConfigReconciler) conditions(cfg *config.Config, kind config.Kind, obj client.Object, conds *[]metav1.Condition) {
	gen := obj.GetGeneration()
	ready := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Valid", Message: "in force", ObservedGeneration: gen}
	invalid := metav1.Condition{Type: v1alpha1.ConditionInvalid, Status: metav1.ConditionFalse, Reason: "Valid", ObservedGeneration: gen}
	problems := cfg.ProblemsFor(kind, obj.GetName())
	var msg string
	for _, p := range problems {
		if p.Reason == config.ReasonOverlapping {
			continue // its own condition
		}
		invalid.Status, invalid.Reason = metav1.ConditionTrue, p.Reason
		if msg != "" {
			msg += "; "
		}
		msg += p.Message()
		switch {
		case p.Rejected && p.KeptGeneration > 0:
			ready.Status, ready.Reason = metav1.ConditionFalse, p.Reason
			ready.Message = fmt.Sprintf("generation %d is rejected: %s; %s", gen, p.Message(), p.KeptNote())
		case p.Rejected:
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, p.Reason, "not in force: "+p.Message()
		case p.Kept != "":
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, p.Reason, p.Message()+"; "+p.KeptNote()
		}
	}
	invalid.Message = msg
	for _, p := range problems {
		if p.Reason == config.ReasonOverlapping {
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, p.Reason, "no new addresses: "+p.Message()
		}
	}
	meta.SetStatusCondition(conds, ready)
	meta.SetStatusCondition(conds, invalid)

	key := string(kind) + "/" + obj.GetName()
	verdict := ready.Reason + ": " + ready.Message + invalid.Message
	if prev := r.State.tell(key, ready.Reason, ready.Message+invalid.Message); prev != verdict {
		switch {
		case ready.Status == metav1.ConditionFalse || invalid.Status == metav1.ConditionTrue:
			r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, cmp0(invalid.Reason, ready.Reason), "Validate", "%s", cmp0(invalid.Message, ready.Message))
		case prev != "":
			r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, "Valid", "Validate", "the problems are resolved; in force")
		}
	}
}

// cmp0 returns a unless it is empty or "Valid", else b.
func cmp0(a, b string) string {
	if a == "" || a == "Valid" {
		return b
	}
	return a
}
