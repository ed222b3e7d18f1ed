package controller

// The controller's rights, as controller-gen RBAC markers. `make generate`
// turns them into deploy/rbac/controller/role.yaml (a ClusterRole and a Role
// in pylon-system, both named pylon-controller), which it copies into the
// Helm chart; the chart's templates/rbac.yaml binds their rules to the
// ServiceAccount pylon-controller. Each group names the code that needs
// it. Reads go through the manager's cache, which lists and watches: no
// read here needs `get`, except the leader lease, read directly.
// test/deploy proves the set is enough (the reconcilers run under exactly
// this identity) and no wider than the checks listed there.

// Services: ServiceReconciler reads them from the cache (services.go
// Reconcile, State.restore) and writes, with one Status().Patch
// (servicestatus.go), status.loadBalancer.ingress, its condition
// pylonlb.io/AddressAssigned and its annotation
// pylonlb.io/ip-allocated-from-pool: the status endpoint takes metadata
// changes too, so no right on Services themselves is needed. It never
// changes a Service's spec.
//
// +kubebuilder:rbac:groups="",resources=services,verbs=list;watch
// +kubebuilder:rbac:groups="",resources=services/status,verbs=patch

// Namespaces: a Service's namespace labels decide which pools may serve it
// (allocation.namespaceSelector); read from the cache (services.go,
// State.restore).
//
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=list;watch

// Nodes and ServiceCIDRs: addresses that must never be handed out are
// gathered from every Node's InternalIP/ExternalIP and spec.podCIDRs and from
// every networking.k8s.io/v1 ServiceCIDR, read from the cache (unsafe.go).
//
// +kubebuilder:rbac:groups="",resources=nodes,verbs=list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=servicecidrs,verbs=list;watch

// pylon's resources: ConfigReconciler lists all four configuration kinds
// (status.go list) and writes their status conditions and IPPool counts
// with Status().Patch (status.go writeStatus). SpeakerStatuses are the
// speakers': PeerSessionsReconciler lists and watches them to count each
// BGPPeer's sessions (peersessions.go), and running speakers mean the
// memberlist key Secret must not be replaced by a new key (keysecret.go).
// They are never written.
//
// +kubebuilder:rbac:groups=pylonlb.io,resources=ippools;l2advertisements;bgppeers;bgpadvertisements;speakerstatuses,verbs=list;watch
// +kubebuilder:rbac:groups=pylonlb.io,resources=ippools/status;l2advertisements/status;bgppeers/status;bgpadvertisements/status,verbs=patch

// Events (events.k8s.io): Allocated, PoolExhausted, IPConflict, … on
// Services in every namespace and Invalid/Valid on pylon resources
// (services.go event, status.go conditions), through the manager's event
// recorder, which creates an event and patches its series on repeats.
//
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Secrets, in pylon's namespace only (a Role): BGP password Secrets are
// listed and watched for config.Parse (status.go list; cmd/controller limits
// the Secret cache to that namespace), and the speakers' memberlist key
// Secret is created when missing (keysecret.go). RBAC cannot limit create
// to one name; the controller never updates or deletes a Secret.
//
// +kubebuilder:rbac:groups="",namespace=pylon-system,resources=secrets,verbs=list;watch;create

// Leader election (cmd/controller --leader-elect): controller-runtime's
// lease lock reads, creates and renews the Lease pylon-controller.pylonlb.io
// and records "became leader" as a core/v1 Event on it.
//
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=pylon-system,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",namespace=pylon-system,resources=events,verbs=create;patch

// Metrics over HTTPS (cmd/controller --metrics-secure): controller-runtime's
// filters.WithAuthenticationAndAuthorization asks the API server who a
// scraper is (TokenReview) and whether it may get /metrics
// (SubjectAccessReview).
//
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
