package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TokenLifetime is how long the ServiceAccount tokens the lab requests
// stay valid: longer than any test or `pylonlab up` session is expected to
// run. The lab does not renew them.
const TokenLifetime = 24 * time.Hour

// ServiceAccountKubeconfig writes Dir/kube/<name>.kubeconfig, which reaches
// the lab's API server with a token of the ServiceAccount sa from a
// TokenRequest, valid for TokenLifetime, and returns its path. A process
// using it has exactly the rights RBAC gives sa.
//
// With boundTo, the token is bound to that Pod, as the ones the kubelet
// mounts into a pod are: the API server then authenticates it with the
// pod's name and, when the Pod is scheduled (spec.nodeName), its node's
// name in the user's extra (authentication.kubernetes.io/node-name), and
// the token dies with the Pod. boundTo must exist and run as sa. See
// CreatePodOn for a Pod without a kubelet.
func (l *Lab) ServiceAccountKubeconfig(ctx context.Context, name string, sa client.ObjectKey, boundTo *corev1.Pod) (string, error) {
	if boundTo != nil && (boundTo.Namespace != sa.Namespace || boundTo.Spec.ServiceAccountName != sa.Name || boundTo.UID == "") {
		return "", fmt.Errorf("token for %s bound to pod %s/%s: the pod must exist and run as that ServiceAccount", sa, boundTo.Namespace, boundTo.Name)
	}
	// Without the ServiceAccount admission plugin (off in the test API
	// server) nothing checks that sa exists until the token is asked for;
	// say so clearly.
	if err := l.Client.Get(ctx, sa, &corev1.ServiceAccount{}); err != nil {
		return "", fmt.Errorf("token for ServiceAccount %s: %w", sa, err)
	}
	seconds := int64(TokenLifetime / time.Second)
	tr := &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &seconds}}
	if boundTo != nil {
		tr.Spec.BoundObjectRef = &authnv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: boundTo.Name, UID: boundTo.UID}
	}
	acct := &corev1.ServiceAccount{}
	acct.Namespace, acct.Name = sa.Namespace, sa.Name
	if err := l.Client.SubResource("token").Create(ctx, acct, tr); err != nil {
		return "", fmt.Errorf("token for ServiceAccount %s: %w", sa, err)
	}
	if tr.Status.Token == "" {
		return "", fmt.Errorf("token for ServiceAccount %s: the API server returned none", sa)
	}
	path := filepath.Join(l.Dir, "kube", name+".kubeconfig")
	if err := writeTokenKubeconfig(path, l.API.Config.Host, l.API.Config.CAData, name, tr.Status.Token); err != nil {
		return "", err
	}
	return path, nil
}

// writeTokenKubeconfig writes a kubeconfig with one cluster, one user
// authenticated by token, and one context, all called name.
func writeTokenKubeconfig(path, server string, caData []byte, name, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caData}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return os.Chmod(path, 0o600)
}

// CreatePodOn creates pod scheduled on node n (it sets spec.nodeName), the
// way a DaemonSet's pod for that node looks to the API server. No kubelet
// runs it: it exists so that a token can be bound to it (see
// ServiceAccountKubeconfig) and the process standing in for its container
// gets the node's identity. pod is updated with what the API server
// returned (its UID).
func (l *Lab) CreatePodOn(ctx context.Context, n *Node, pod *corev1.Pod) error {
	pod.Spec.NodeName = n.Name
	if err := l.Client.Create(ctx, pod); err != nil {
		return fmt.Errorf("create pod %s/%s on %s: %w", pod.Namespace, pod.Name, n.Name, err)
	}
	return nil
}
