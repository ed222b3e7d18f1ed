package restconfig

import (
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Load loads the client configuration from kubeconfig, or with
// controller-runtime's loader when it is empty. Either way client-side rate
// limiting is off, as controller-runtime's own loader sets it: the API
// server's priority and fairness does the limiting, and client-go's default
// of 5 requests a second would hold a burst of Services back for minutes.
func Load(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		return ctrl.GetConfig()
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	if cfg.QPS == 0 {
		cfg.QPS = -1
	}
	return cfg, nil
}
