package chart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/release"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/envtest"
)

// Release is the release name Install uses (the label
// app.kubernetes.io/instance). The chart's objects are named pylon-…
// whatever the release is called (pylon-controller, pylon-speaker) unless
// fullnameOverride says otherwise.
const Release = "pylon"

// Dir is the chart's directory under the repository's root.
var Dir = filepath.Join("deploy", "charts", "pylon")

// Install installs the chart as release Release into ns with the Helm
// SDK, as `helm install pylon deploy/charts/pylon --namespace ns --values
// …` does (the namespace must exist), through kubeconfig. It does not wait
// for the workloads (Ready does). logf gets Helm's messages.
func Install(ctx context.Context, kubeconfig, ns string, vals map[string]any, logf func(format string, v ...any)) (*release.Release, error) {
	ch, err := load()
	if err != nil {
		return nil, err
	}
	cfg, done, err := configure(kubeconfig, ns, logf)
	if err != nil {
		return nil, err
	}
	defer done()
	in := action.NewInstall(cfg)
	in.ReleaseName, in.Namespace, in.Timeout = Release, ns, time.Minute
	rel, err := in.RunWithContext(ctx, ch, vals)
	if err != nil {
		return nil, fmt.Errorf("helm install: %w", err)
	}
	return rel, nil
}

// Upgrade upgrades release Release in ns to the chart with vals, as `helm
// upgrade pylon deploy/charts/pylon --namespace ns --values …` does (the
// values replace the release's; they are not reused). It does not wait
// for the workloads.
func Upgrade(ctx context.Context, kubeconfig, ns string, vals map[string]any, logf func(format string, v ...any)) (*release.Release, error) {
	ch, err := load()
	if err != nil {
		return nil, err
	}
	cfg, done, err := configure(kubeconfig, ns, logf)
	if err != nil {
		return nil, err
	}
	defer done()
	up := action.NewUpgrade(cfg)
	up.Namespace, up.Timeout = ns, time.Minute
	rel, err := up.RunWithContext(ctx, Release, ch, vals)
	if err != nil {
		return nil, fmt.Errorf("helm upgrade: %w", err)
	}
	return rel, nil
}

// Uninstall uninstalls release Release from ns, as `helm uninstall pylon
// --namespace ns` does (history not kept). It does not wait for the
// deleted objects to be gone.
func Uninstall(kubeconfig, ns string, logf func(format string, v ...any)) (*release.UninstallReleaseResponse, error) {
	cfg, done, err := configure(kubeconfig, ns, logf)
	if err != nil {
		return nil, err
	}
	defer done()
	un := action.NewUninstall(cfg)
	un.Timeout = time.Minute
	res, err := un.Run(Release)
	if err != nil {
		return nil, fmt.Errorf("helm uninstall: %w", err)
	}
	return res, nil
}

// load loads the chart from the repository's root.
func load() (*chart.Chart, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root, err := envtest.RepoRoot(wd)
	if err != nil {
		return nil, err
	}
	ch, err := loader.Load(filepath.Join(root, Dir))
	if err != nil {
		return nil, fmt.Errorf("load the chart: %w", err)
	}
	return ch, nil
}

// configure is the Helm SDK's configuration for releases in ns through
// kubeconfig, stored in Secrets (Helm's default), with a discovery cache
// that done removes.
func configure(kubeconfig, ns string, logf func(format string, v ...any)) (cfg *action.Configuration, done func(), err error) {
	cache, err := os.MkdirTemp("", "pylon-helm-")
	if err != nil {
		return nil, nil, err
	}
	done = func() { os.RemoveAll(cache) }
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace, flags.CacheDir = &kubeconfig, &ns, &cache
	// The field manager of Helm's writes: "helm", as the helm command sets
	// it, not this binary's name (the SDK's default), so that Helm's
	// objects can be told from the caller's. The SDK keeps it in a
	// package variable; every caller here wants the same value.
	kube.ManagedFieldsManager = "helm"
	cfg = new(action.Configuration)
	if err := cfg.Init(flags, ns, "secret", logf); err != nil {
		done()
		return nil, nil, fmt.Errorf("helm: %w", err)
	}
	return cfg, done, nil
}

// ImageValues are the chart values that run the images
// <repo>/pylon-controller:<tag> and <repo>/pylon-speaker:<tag>, never
// pulled (the lab imports them into every node's containerd).
func ImageValues(repo, tag string) map[string]any {
	return map[string]any{"image": map[string]any{
		"controller": repo + "/pylon-controller", "speaker": repo + "/pylon-speaker",
		"tag": tag, "pullPolicy": string(corev1.PullNever),
	}}
}

// RemoveCRDs deletes pylon's CRDs and waits (up to 30 s) until they are
// gone. The lab's API server starts with them, but the chart installs them
// itself (crds.install) and Helm refuses to take over objects it did not
// create: without them the cluster is one pylon was never installed on.
func RemoveCRDs(ctx context.Context, c client.Client) error {
	ours := func(ctx context.Context) ([]apiextensionsv1.CustomResourceDefinition, error) {
		var list apiextensionsv1.CustomResourceDefinitionList
		if err := c.List(ctx, &list); err != nil {
			return nil, err
		}
		return slices.DeleteFunc(list.Items, func(c apiextensionsv1.CustomResourceDefinition) bool {
			return c.Spec.Group != v1alpha1.GroupVersion().Group
		}), nil
	}
	crds, err := ours(ctx)
	if err != nil {
		return err
	}
	for _, crd := range crds {
		if err := c.Delete(ctx, &crd); err != nil {
			return fmt.Errorf("delete CRD %s: %w", crd.Name, err)
		}
	}
	var left []apiextensionsv1.CustomResourceDefinition
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		left, err = ours(ctx)
		return err == nil && len(left) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("pylon's CRDs not gone (%d left): %w", len(left), err)
	}
	return nil
}

// Ready reports whether the controller Deployment has its replicas
// (controllers) Ready and up to date and the speaker DaemonSet one Ready,
// up-to-date pod on each of nodes nodes, and says what it saw.
func Ready(ctx context.Context, c client.Client, ns string, controllers, nodes int) (bool, string, error) {
	var ctrl appsv1.Deployment
	var spk appsv1.DaemonSet
	err := errors.Join(
		c.Get(ctx, client.ObjectKey{Namespace: ns, Name: Release + "-controller"}, &ctrl),
		c.Get(ctx, client.ObjectKey{Namespace: ns, Name: Release + "-speaker"}, &spk))
	if err != nil {
		return false, "", err
	}
	cs, n := int32(controllers), int32(nodes)
	ok := ctrl.Status.ReadyReplicas == cs && ctrl.Status.UpdatedReplicas == cs && ctrl.Status.Replicas == cs &&
		spk.Status.NumberReady == n && spk.Status.UpdatedNumberScheduled == n
	return ok, fmt.Sprintf("controller %d ready %d updated of %d; speaker %d ready %d updated of %d scheduled",
		ctrl.Status.ReadyReplicas, ctrl.Status.UpdatedReplicas, ctrl.Status.Replicas,
		spk.Status.NumberReady, spk.Status.UpdatedNumberScheduled, spk.Status.DesiredNumberScheduled), nil
}
