package controller_test

import (
	"bytes"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/speaker/membership"
	"github.com/pylonlb/pylon/test/envtest"
)

// TestMemberlistKeySecret: the controller creates the speakers' key Secret
// with a usable random key, and neither replaces it on a later pass nor
// after a restart.
func TestMemberlistKeySecret(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ensureNamespace(t, c, pylonNS, nil)
	first := startController(t, env, controller.Options{KeySecret: "pylon-memberlist"}, false)
	var s corev1.Secret
	key := client.ObjectKey{Namespace: pylonNS, Name: "pylon-memberlist"}
	eventually(t, 10*time.Second, "the key Secret", func() (bool, string) {
		err := c.Get(t.Context(), key, &s)
		return err == nil, errString(err)
	})
	keys, err := membership.KeysFromSecret(s.Data)
	if err != nil || len(keys.Primary) != 32 {
		t.Fatalf("created Secret unusable: %v (key of %d bytes)", err, len(keys.Primary))
	}
	first.stop()
	startController(t, env, controller.Options{KeySecret: "pylon-memberlist"}, false)
	// A pool put in force proves the restarted controller made its passes.
	createPool(t, c, "keysecret", []string{"198.51.100.0/30"})
	var again corev1.Secret
	if err := c.Get(t.Context(), key, &again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Data[membership.KeyPrimary], keys.Primary) || again.ResourceVersion != s.ResourceVersion {
		t.Fatal("the controller replaced an existing key Secret")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
