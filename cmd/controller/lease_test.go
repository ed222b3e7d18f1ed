package main

import (
	"context"
	"errors"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/cmd/internal/version"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/poll"
)

// TestLeaderLabelsItsLease runs the controller command against a real API
// server: the replica that takes the leader Lease labels it with its
// version, which pylonctl version reads.
func TestLeaderLabelsItsLease(t *testing.T) {
	env := envtest.Start(t)
	if err := env.Client.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pylon-system"}}); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"--kubeconfig", env.KubeconfigPath, "--leader-elect", "--namespace", "pylon-system",
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--memberlist-key-secret", ""})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, o) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	}()
	var lease coordinationv1.Lease
	poll.Eventually(t, 100*time.Millisecond, 30*time.Second, "a leader Lease", func() error {
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: "pylon-system", Name: "pylon-controller.pylonlb.io"}, &lease); err != nil {
			return err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return errors.New("the Lease has no holder")
		}
		return nil
	})
	if got, want := lease.Labels[v1alpha1.LabelVersion], version.Get().Label(); got != want || got == "" {
		t.Errorf("Lease label %s = %q, want %q", v1alpha1.LabelVersion, got, want)
	}
}
