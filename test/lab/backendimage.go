package lab

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/pylonlb/pylon/test/images"
)

// BackendImage is the lab's HTTP backend (test/lab/backend) as an image,
// for a lab with a node stack (BuildBackendImage).
const BackendImage = "pylon.local/backend:dev"

// BuildBackendImage builds the lab's HTTP backend into dir as the image
// BackendImage, listening on BackendPort, for NodeStack.Images.
func BuildBackendImage(ctx context.Context, dir string) (images.Image, error) {
	backend, err := images.BuildStatic(ctx, "./test/lab/backend", dir, "dev")
	if err != nil {
		return images.Image{}, err
	}
	return images.Image{Ref: BackendImage, Binary: backend, Entrypoint: []string{"/backend", fmt.Sprintf("--listen=:%d", BackendPort)}}, nil
}

// BackendDeployment is a Deployment of BackendImage, pods labelled
// app=name, at most one a node, each answering HTTP with its pod's name and
// Ready once it answers.
func BackendDeployment(ns, name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					// One pod a node, so the Service's answers come from several.
					Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
						RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
							LabelSelector: &metav1.LabelSelector{MatchLabels: labels}, TopologyKey: corev1.LabelHostname,
						}},
					}},
					Containers: []corev1.Container{{
						Name: name, Image: BackendImage, ImagePullPolicy: corev1.PullNever,
						// The backend answers with its pod's name.
						Env: []corev1.EnvVar{{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"},
						}}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(BackendPort)}},
							PeriodSeconds: 1,
						},
					}},
				},
			},
		},
	}
}
