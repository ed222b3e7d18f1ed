// Package securemetrics builds the metrics server options both pylon
// commands use: HTTPS with a self-signed certificate (controller-runtime
// makes one at start), and every request authenticated with a TokenReview
// and authorized with a SubjectAccessReview for `get` on the URL path
// (controller-runtime's filters.WithAuthenticationAndAuthorization). A
// scraper therefore needs a ServiceAccount token and a ClusterRole such as
// pylon-metrics-reader (nonResourceURLs /metrics, get); the command's own
// ServiceAccount needs create on tokenreviews and subjectaccessreviews
// (controller/rbac.go, speaker/rbac.go).
//
// It imports controller-runtime's metrics packages only; only cmd/ may
// import it (Go's internal rule).
package securemetrics
