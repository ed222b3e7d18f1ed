// Package kinds builds the runtime.Scheme pylon's commands talk to the API
// server with: client-go's kinds and pylon's (api/v1alpha1). The
// controller, the speaker and pylonctl use it, so that the kinds they know
// are written down once. It imports api/v1alpha1, apimachinery's runtime
// and client-go's scheme; only cmd/ may import it (Go's internal rule).
package kinds
