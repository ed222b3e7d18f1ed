package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/pylonlb/pylon/speaker/membership"
)

// ensureKeySecret creates the speakers' memberlist key Secret with a fresh
// random key when it does not exist. An existing Secret is never touched:
// rotation is the operator's (docs/speaker-layer2.md).
func (r *ConfigReconciler) ensureKeySecret(ctx context.Context, secrets []corev1.Secret) error {
	if r.KeySecret == "" {
		return nil
	}
	for _, s := range secrets {
		if s.Name == r.KeySecret {
			return nil
		}
	}
	s := &corev1.Secret{
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{membership.KeyPrimary: membership.NewKey()},
	}
	s.Namespace, s.Name = r.Namespace, r.KeySecret
	s.Labels = map[string]string{"app.kubernetes.io/part-of": "pylon", "app.kubernetes.io/component": "speaker"}
	if err := r.Client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create memberlist key Secret %s/%s: %w", r.Namespace, r.KeySecret, err)
	}
	return nil
}
