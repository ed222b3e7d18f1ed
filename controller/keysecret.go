package controller

import (
	"context"
	"fmt"
	"maps"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/memberlistkey"
)

// Events about the memberlist key Secret, on pylon's Namespace.
const (
	// ReasonKeySecretRestored: the Secret was deleted and the controller
	// wrote it again with the keys it last saw, which the speakers use.
	ReasonKeySecretRestored = "KeySecretRestored"
	// ReasonKeySecretCreated: the Secret was missing while SpeakerStatuses
	// exist and this controller never saw it: a new key was written, and
	// running speakers roll over to it.
	ReasonKeySecretCreated = "KeySecretCreated"
)

// ensureKeySecret keeps the speakers' memberlist key Secret in place. An
// existing Secret is never touched (rotation is the operator's). When it is
// missing:
//   - if this controller saw it before, it is written again with the same
//     keys, which the running speakers use (they keep their keys while the
//     Secret is missing);
//   - otherwise it is created with a new random key: on a fresh install,
//     and also when SpeakerStatuses exist (a controller that started after
//     the Secret was deleted, or an earlier install's leftovers), then with
//     a Warning event. Running speakers take a new key as they take any
//     edit of the Secret, in steps that keep every member readable by every
//     other (speaker/membership's Rollover), so an unknown key partitions nobody.
//
// A Secret it creates is owned by the controller's own ServiceAccount
// (keySecretOwner), so that uninstalling pylon, which deletes the
// ServiceAccount, deletes the key with it.
func (r *ConfigReconciler) ensureKeySecret(ctx context.Context, secrets []corev1.Secret) error {
	if r.KeySecret == "" {
		return nil
	}
	for _, s := range secrets {
		if s.Name == r.KeySecret {
			r.keyData = maps.Clone(s.Data)
			return nil
		}
	}
	data, reason, note := r.keyData, ReasonKeySecretRestored, "written again with the keys the speakers use"
	if data == nil {
		var speakers v1alpha1.SpeakerStatusList
		if err := r.Client.List(ctx, &speakers); err != nil {
			return fmt.Errorf("list SpeakerStatuses: %w", err)
		}
		data, reason = map[string][]byte{memberlistkey.DataPrimary: memberlistkey.New()}, ""
		if n := len(speakers.Items); n > 0 {
			reason, note = ReasonKeySecretCreated, fmt.Sprintf("%d SpeakerStatuses exist and this controller never saw their keys: written with a new key, which running speakers roll over to", n)
		}
	}
	s := &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: data}
	s.Namespace, s.Name = r.Namespace, r.KeySecret
	s.Labels = map[string]string{"app.kubernetes.io/part-of": "pylon", "app.kubernetes.io/component": "speaker"}
	if owner := r.keySecretOwner(ctx); owner != nil {
		s.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	if err := r.Client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create memberlist key Secret %s/%s: %w", r.Namespace, r.KeySecret, err)
	}
	if reason != "" {
		r.Recorder.Eventf(r.namespaceRef(), nil, corev1.EventTypeWarning, reason, "KeySecret",
			"the memberlist key Secret %s/%s was missing; %s", r.Namespace, r.KeySecret, note)
	}
	return nil
}

// keySecretOwner is the controller's own ServiceAccount as the key
// Secret's owner, when the controller runs as a ServiceAccount of pylon's
// namespace: a SelfSubjectReview (which every authenticated user may
// create) names it and its UID, so no right to read ServiceAccounts is
// needed. Otherwise (another identity, or the review failed) it is nil,
// and the Secret outlives the install, as it did before.
func (r *ConfigReconciler) keySecretOwner(ctx context.Context) *metav1.OwnerReference {
	review := &authenticationv1.SelfSubjectReview{}
	if err := r.Client.Create(ctx, review); err != nil {
		log.FromContext(ctx).Error(err, "cannot tell the own ServiceAccount: the key Secret gets no owner")
		return nil
	}
	u := review.Status.UserInfo
	ns, name, ok := strings.Cut(strings.TrimPrefix(u.Username, "system:serviceaccount:"), ":")
	if !ok || !strings.HasPrefix(u.Username, "system:serviceaccount:") || ns != r.Namespace || u.UID == "" {
		return nil
	}
	return &metav1.OwnerReference{APIVersion: "v1", Kind: "ServiceAccount", Name: name, UID: types.UID(u.UID)}
}
