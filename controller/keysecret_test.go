package controller_test

import (
	"bytes"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/memberlistkey"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/poll"
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
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "the key Secret", func() (bool, string) {
		err := c.Get(t.Context(), key, &s)
		return err == nil, errString(err)
	})
	keys, err := memberlistkey.FromSecret(s.Data)
	if err != nil || len(keys.Primary) != 32 {
		t.Fatalf("created Secret unusable: %v (key of %d bytes)", err, len(keys.Primary))
	}
	first.Stop()
	startController(t, env, controller.Options{KeySecret: "pylon-memberlist"}, false)
	// A pool put in force proves the restarted controller made its passes.
	createPool(t, c, "keysecret", []string{"198.51.100.0/30"})
	var again corev1.Secret
	if err := c.Get(t.Context(), key, &again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Data[memberlistkey.DataPrimary], keys.Primary) || again.ResourceVersion != s.ResourceVersion {
		t.Fatal("the controller replaced an existing key Secret")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestDeletedKeySecretKeepsTheSpeakersKeys: a key Secret deleted after
// install is written again with the same keys by a controller that saw it;
// one that never saw it (started after the deletion) writes a new key and
// says so (running speakers roll over to it: speaker/membership
// TestOneEditKeyChangeKeepsEveryMember).
func TestDeletedKeySecretKeepsTheSpeakersKeys(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ensureNamespace(t, c, pylonNS, nil)
	opts := controller.Options{KeySecret: "pylon-memberlist"}
	first := startController(t, env, opts, false)
	key := client.ObjectKey{Namespace: pylonNS, Name: "pylon-memberlist"}
	var s corev1.Secret
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "the key Secret", func() (bool, string) {
		err := c.Get(t.Context(), key, &s)
		return err == nil, errString(err)
	})
	// A speaker is running (its SpeakerStatus exists).
	spk := &v1alpha1.SpeakerStatus{}
	spk.Name = "n1"
	if err := c.Create(t.Context(), spk); err != nil {
		t.Fatal(err)
	}

	if err := c.Delete(t.Context(), &s); err != nil {
		t.Fatal(err)
	}
	var again corev1.Secret
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "the key Secret written again with the same key", func() (bool, string) {
		if err := c.Get(t.Context(), key, &again); err != nil {
			return false, err.Error()
		}
		return again.UID != s.UID && bytes.Equal(again.Data[memberlistkey.DataPrimary], s.Data[memberlistkey.DataPrimary]), "a different key"
	})
	waitEvent(t, c, "default", "Namespace", pylonNS, controller.ReasonKeySecretRestored, "the keys the speakers use")

	// A new controller never saw the Secret: it writes a new key, and tells.
	first.Stop()
	if err := c.Delete(t.Context(), &again); err != nil {
		t.Fatal(err)
	}
	startController(t, env, opts, false)
	waitEvent(t, c, "default", "Namespace", pylonNS, controller.ReasonKeySecretCreated, "running speakers roll over to")
	var fresh corev1.Secret
	if err := c.Get(t.Context(), key, &fresh); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(fresh.Data[memberlistkey.DataPrimary], s.Data[memberlistkey.DataPrimary]) {
		t.Fatal("a controller that never saw the key cannot have written it")
	}
}
