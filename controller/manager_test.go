package controller_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/pylonlb/pylon/controller"
)

// TestManagerCacheDropsManagedFields: the controller's cache keeps no
// managedFields (at 50,000 Services they were most of its memory); nothing
// it decides reads them.
func TestManagerCacheDropsManagedFields(t *testing.T) {
	mo := controller.ManagerOptions(runtime.NewScheme(), controller.ManagerConfig{Namespace: "pylon-system"})
	if mo.Cache.DefaultTransform == nil {
		t.Fatal("the controller's cache has no default transform: managedFields are cached")
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}}}
	out, err := mo.Cache.DefaultTransform(svc)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(*corev1.Service); got.Name != "s" || len(got.ManagedFields) != 0 {
		t.Errorf("cached Service: name %q, %d managedFields entries; want s with none", got.Name, len(got.ManagedFields))
	}
}
