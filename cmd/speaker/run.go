package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/pylonlb/pylon/cmd/internal/kinds"
	"github.com/pylonlb/pylon/cmd/internal/restconfig"
	"github.com/pylonlb/pylon/cmd/internal/securemetrics"
	"github.com/pylonlb/pylon/cmd/internal/version"
	"github.com/pylonlb/pylon/memberlistkey"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/bfd"
	"github.com/pylonlb/pylon/speaker/layer2"
	"github.com/pylonlb/pylon/speaker/membership"
)

// run starts the speaker and, when ctx ends (SIGTERM), hands its addresses
// over (speaker.Handoff: it stops applying plans, leaves memberlist so that
// the others recompute at once and the new owners announce, withdraws its
// BGP routes, keeps answering for --handoff-delay, and only then stops
// answering) and exits.
func run(ctx context.Context, o options) error {
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&o.zap)))
	logger := ctrl.Log.WithName("speaker").WithValues("node", o.nodeName)
	cfg, err := restconfig.Load(o.kubeconfig)
	if err != nil {
		return err
	}
	scheme, err := kinds.Scheme()
	if err != nil {
		return err
	}
	direct, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	// Started during an API outage (a restart, a node reboot), the speaker
	// waits for the API server instead of exiting: a crash loop would
	// back off for minutes after the API server is back.
	deadline := time.Now().Add(o.keyWait)
	advertise := o.mlAdvertiseAddr
	if advertise == "" {
		if advertise, err = waitNodeAddress(ctx, direct, o.nodeName, deadline, logger.Info); err != nil {
			return err
		}
	}
	keys, err := waitKeys(ctx, direct, o, deadline, logger.Info)
	if err != nil {
		return err
	}
	members, err := membership.Start(membership.Config{
		Name: o.nodeName, BindAddr: o.mlBindAddr, BindPort: o.mlPort,
		AdvertiseAddr: advertise, Profile: o.profile, Keys: &keys,
		LogOutput: logWriter{logger.WithName("memberlist")},
	})
	if err != nil {
		return err
	}
	defer func() { _ = members.Shutdown() }()

	var rec atomic.Pointer[speaker.Reconciler]
	annCtx, stopAnnouncer := context.WithCancel(log.IntoContext(context.WithoutCancel(ctx), logger))
	defer stopAnnouncer()
	announcer := layer2.New(annCtx, layer2.Options{
		GratuitousCount: o.gratuitousCount,
		OnConflict: func(c layer2.Conflict) {
			if r := rec.Load(); r != nil {
				r.OnConflict(c)
			}
		},
	})
	defer func() { _ = announcer.Close() }()

	var startBGP speaker.StartBGP
	var bfdSessions speaker.BFD
	if o.bgp {
		// The reconciler starts it once the node's router ID is known.
		startBGP = speaker.GoBGP(logger.WithName("bgp"))
		// One set of BFD sessions for the process; the reconciler gives
		// it the sessions of the peers with a bfd profile.
		// Its sockets open as sessions are set: a session that cannot
		// bind is an error of the pass, naming it, and the others run.
		bfdSessions = bfd.New(bfd.Options{Log: logger.WithName("bfd"), Clock: clock.RealClock{}, OnChange: func(c bfd.Change) {
			if r := rec.Load(); r != nil {
				r.OnBFDChange(c)
			}
		}})
	}

	mo := speaker.ManagerOptions(scheme, o.namespace)
	mo.Metrics = securemetrics.Options(o.metricsAddr, o.metricsSecure)
	mo.HealthProbeBindAddress = o.probeAddr
	mo.PprofBindAddress = o.pprofAddr
	mgr, err := ctrl.NewManager(cfg, mo)
	if err != nil {
		return fmt.Errorf("new manager: %w", err)
	}
	m := speaker.NewMetrics()
	if err := m.Register(metrics.Registry); err != nil {
		return err
	}
	if err := metrics.Registry.Register(version.Get().BuildInfo("speaker")); err != nil {
		return err
	}
	// A changed interface (made again, new index and MAC) is reopened by
	// the next pass: the watch makes one at once.
	linkChanges, err := layer2.WatchLinks(log.IntoContext(ctx, logger), layer2.WatchOptions{})
	if err != nil {
		logger.Error(err, "not watching the node's links; a changed interface is seen at the next pass")
	}
	r, err := speaker.Setup(mgr, speaker.Options{
		Node: o.nodeName, Namespace: o.namespace, Class: o.loadBalancerClass, KeySecret: o.keySecret,
		Version:   version.Get().Label(),
		Announcer: announcer, Members: members, Keys: keys, Changes: members.Changes(), LinkChanges: linkChanges,
		Metrics: m, StartBGP: startBGP, BFD: bfdSessions,
	})
	if err != nil {
		return err
	}
	rec.Store(r)
	defer func() {
		// On early returns; after the stop sequence below a no-op.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = r.CloseBGP(ctx)
		cancel()
	}()
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	// Ready once settled: a rolling update moves on only when the other
	// speakers count this one alive.
	if err := mgr.AddReadyzCheck("settled", r.Settled); err != nil {
		return err
	}

	mgrCtx, stopMgr := context.WithCancel(context.WithoutCancel(ctx))
	defer stopMgr()
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	h := speaker.DefaultHandoff(o.handoff)
	h.Speaker, h.Members, h.Announcer, h.Log = r, members, announcer, logger
	h.Run()
	stopMgr()
	return <-done
}

// waitNodeAddress returns the node's first InternalIP, reading the Node
// every second until deadline while the API server does not answer.
func waitNodeAddress(ctx context.Context, c client.Client, name string, deadline time.Time, info func(string, ...any)) (string, error) {
	for {
		var n corev1.Node
		err := c.Get(ctx, client.ObjectKey{Name: name}, &n)
		if err == nil {
			for _, a := range n.Status.Addresses {
				if a.Type == corev1.NodeInternalIP {
					return a.Address, nil
				}
			}
			return "", fmt.Errorf("node %s has no InternalIP; set --memberlist-advertise-address", name)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("read node %s for its address: %w", name, err)
		}
		info("waiting for the API server: reading the node", "node", name, "error", err.Error())
		select {
		case <-ctx.Done():
			return "", errors.New("stopped while reading the node")
		case <-time.After(time.Second):
		}
	}
}

// waitKeys reads the memberlist keys, waiting until deadline for the
// controller to create the Secret on a fresh install, or for the API
// server to answer.
func waitKeys(ctx context.Context, c client.Client, o options, deadline time.Time, info func(string, ...any)) (memberlistkey.Keys, error) {
	for {
		var s corev1.Secret
		err := c.Get(ctx, client.ObjectKey{Namespace: o.namespace, Name: o.keySecret}, &s)
		if err == nil {
			keys, err := memberlistkey.FromSecret(s.Data)
			if err != nil {
				return keys, fmt.Errorf("secret %s/%s: %w", o.namespace, o.keySecret, err)
			}
			return keys, nil
		}
		if time.Now().After(deadline) {
			return memberlistkey.Keys{}, fmt.Errorf("memberlist key secret %s/%s: %w (the controller creates it; is it running?)", o.namespace, o.keySecret, err)
		}
		info("waiting for the memberlist key Secret", "secret", o.namespace+"/"+o.keySecret, "error", err.Error())
		select {
		case <-ctx.Done():
			return memberlistkey.Keys{}, errors.New("stopped while waiting for the memberlist key Secret")
		case <-time.After(time.Second):
		}
	}
}
