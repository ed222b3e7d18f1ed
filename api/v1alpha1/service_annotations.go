package v1alpha1

// Annotations on a Service of type LoadBalancer that pylon reads: the
// controller allocates by them; pylonctl's migration writes them.
const (
	// AnnotationPool asks for addresses from the named IPPool.
	AnnotationPool = "pylonlb.io/pool"
	// AnnotationIPs asks for exactly these addresses, comma-separated, one
	// per family.
	AnnotationIPs = "pylonlb.io/load-balancer-ips"
	// AnnotationSharing is a sharing key: Services with the same key may
	// share an address when their ports do not clash.
	AnnotationSharing = "pylonlb.io/allow-shared-ip"
)
