package v1alpha1

// What pylon's controller writes on each Service it serves (a LoadBalancer
// Service of its class), so that the answer to "has it an address, from
// which pool, and if not why" outlives the Service's events, which the API
// server deletes an hour after their last update.
//
// Both are written in the same status write as status.loadBalancer.ingress,
// and only when they change: a restarted controller that finds them right
// writes nothing. The controller removes both when it stops serving a
// Service it held addresses for (another type or class), and from any
// Service that is no LoadBalancer; a LoadBalancer of another class keeps
// them (it may be another pylon controller's). It puts the annotation back
// when someone removes or edits it.
const (
	// ConditionAddressAssigned is the type of the condition in a Service's
	// status.conditions. True: the Service has every address it asks for
	// (one per family it wants); the reason is ReasonAllocated, or one of
	// ReasonOrphaned, ReasonUnsafeHeld, ReasonCrossNamespace when it keeps an
	// address with a warning. False: it waits; the reason says why (the
	// Reason constants below), the message the details and, when it has
	// some of its addresses, which. Reasons and messages are those of the
	// controller's events about the Service.
	ConditionAddressAssigned = "pylonlb.io/AddressAssigned"

	// AnnotationIPAllocatedFromPool names the IPPool the Service's address
	// is in; for two addresses in different pools, both names in the order
	// of status.loadBalancer.ingress, comma-separated. Absent while the
	// Service has no address in any pool. It is a record written by the
	// controller, not a request: pylonlb.io/pool asks for a pool.
	AnnotationIPAllocatedFromPool = "pylonlb.io/ip-allocated-from-pool"
)

// Reasons of ConditionAddressAssigned, and of the controller's events about
// Services.
const (
	// ReasonAllocated: the Service has every address it asks for.
	ReasonAllocated = "Allocated"
	// ReasonReleased (event only): the Service is no longer a LoadBalancer
	// of pylon's class; its addresses are free and the condition is removed.
	ReasonReleased = "Released"
	// ReasonPoolExhausted: every eligible pool is full.
	ReasonPoolExhausted = "PoolExhausted"
	// ReasonNoPool: no pool may serve the Service (family, autoAssign,
	// namespaces, selectors).
	ReasonNoPool = "NoEligiblePool"
	// ReasonPoolNotFound: pylonlb.io/pool names a pool that does not exist.
	ReasonPoolNotFound = "PoolNotFound"
	// ReasonIPNotInPool: a requested address is in no pool.
	ReasonIPNotInPool = "RequestedIPNotInPool"
	// ReasonIPConflict: a requested address is held by another Service, or
	// the Service changed and may no longer share its address.
	ReasonIPConflict = "IPConflict"
	// ReasonIPNotAllowed: the requested address's pool does not admit the
	// Service, or the address is one the pool avoids.
	ReasonIPNotAllowed = "IPNotAllowed"
	// ReasonUnsafeAddress: a requested address is one pylon never hands
	// out (a Node's address, a pod or Service CIDR, a special range).
	ReasonUnsafeAddress = "UnsafeAddress"
	// ReasonInvalidRequest: an annotation or field of the Service is
	// malformed; it keeps what it has.
	ReasonInvalidRequest = "InvalidRequest"
	// ReasonAllocationError: an allocation failed for another reason.
	ReasonAllocationError = "AllocationFailed"
	// ReasonOrphaned (condition True): the Service keeps an address that no
	// pool holds any more.
	ReasonOrphaned = "IPOutsidePools"
	// ReasonUnsafeHeld (condition True): the Service keeps an address that
	// became unsafe after it got it.
	ReasonUnsafeHeld = "UnsafeAddressKept"
	// ReasonCrossNamespace (condition True): the Service keeps an address it
	// shares with an older Service of another namespace, which its pool no
	// longer allows.
	ReasonCrossNamespace = "SharedAcrossNamespaces"
)
