package controller

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker/membership"
)

// Events about the memberlist key Secret, on pylon's Namespace.
const (
	// ReasonKeySecretRestored: the Secret was deleted and the controller
	// wrote it again with the keys it last saw, which the speakers use.
	ReasonKeySecretRestored = "KeySecretRestored"
	// ReasonKeySecretMissing: the Secret is missing while speakers run,
	// and this controller does not know their keys.
	ReasonKeySecretMissing = "KeySecretMissing"
)

// ensureKeySecret keeps the speakers' memberlist key Secret in place. An
// existing Secret is never touched (rotation is the operator's, and the
// speakers roll a change over safely: docs/speaker-layer2.md). When it is
// missing:
//   - on a fresh install (no SpeakerStatus yet) it is created with a random
//     key;
//   - if this controller saw it before, it is written again with the same
//     keys: a new random key would partition the running speakers, which
//     keep the keys they have;
//   - otherwise (speakers run with keys this controller never saw) it is
//     left missing, with a Warning event saying so: the speakers keep their
//     keys, and only the operator can restore them.
func (r *ConfigReconciler) ensureKeySecret(ctx context.Context, secrets []corev1.Secret) error {
	if r.KeySecret == "" {
		return nil
	}
	for _, s := range secrets {
		if s.Name == r.KeySecret {
			r.keyData, r.keyMissingTold = maps.Clone(s.Data), false
			return nil
		}
	}
	data, reason := r.keyData, ReasonKeySecretRestored
	if data == nil {
		var speakers v1alpha1.SpeakerStatusList
		if err := r.Client.List(ctx, &speakers); err != nil {
			return fmt.Errorf("list SpeakerStatuses: %w", err)
		}
		if n := len(speakers.Items); n > 0 {
			if !r.keyMissingTold {
				r.keyMissingTold = true
				r.Recorder.Eventf(r.namespaceRef(), nil, corev1.EventTypeWarning, ReasonKeySecretMissing, "KeySecret",
					"the memberlist key Secret %s/%s is missing while %d speakers run; they keep their keys, but a speaker that starts cannot join them: "+
						"recreate the Secret with the keys in use (a new random key would partition the speakers)", r.Namespace, r.KeySecret, n)
			}
			return nil
		}
		data, reason = map[string][]byte{membership.KeyPrimary: membership.NewKey()}, ""
	}
	s := &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: data}
	s.Namespace, s.Name = r.Namespace, r.KeySecret
	s.Labels = map[string]string{"app.kubernetes.io/part-of": "pylon", "app.kubernetes.io/component": "speaker"}
	if err := r.Client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create memberlist key Secret %s/%s: %w", r.Namespace, r.KeySecret, err)
	}
	if reason != "" {
		r.Recorder.Eventf(r.namespaceRef(), nil, corev1.EventTypeWarning, reason, "KeySecret",
			"the memberlist key Secret %s/%s was deleted; written again with the keys the speakers use", r.Namespace, r.KeySecret)
	}
	return nil
}
