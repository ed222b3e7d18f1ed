// Package restconfig loads the API server client configuration the
// commands use: --kubeconfig when given, else controller-runtime's loader
// ($KUBECONFIG, then in-cluster). Only cmd/ may import it.
package restconfig
