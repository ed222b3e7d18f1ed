// Package restconfig loads the API server client configuration the
// commands use: --kubeconfig when given, else controller-runtime's loader
// ($KUBECONFIG, then in-cluster). It imports client-go's rest and clientcmd
// and controller-runtime; only cmd/ may import it (Go's internal rule).
package restconfig
