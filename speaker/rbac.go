package speaker

// The speaker's rights, as controller-gen RBAC markers. `make generate`
// turns them into deploy/rbac/speaker/role.yaml (a ClusterRole and a Role in
// pylon-system, both named pylon-speaker), which it copies into the Helm
// chart; the chart's templates/rbac.yaml binds their rules to the
// ServiceAccount pylon-speaker. Each group names the code that needs it.
// Reads go through the manager's cache (list and watch) unless said.
//
// What RBAC cannot say: a speaker may create and patch SpeakerStatuses, but
// RBAC can neither limit create to one name nor tie a name to the node the
// speaker runs on. The ValidatingAdmissionPolicy
// pylon-speaker-own-speakerstatus (the chart's templates/admission.yaml)
// does: a write by the speaker's ServiceAccount is refused unless the
// SpeakerStatus is named after the node in the token's
// authentication.kubernetes.io/node-name extra. test/deploy proves both
// halves.

// Services and EndpointSlices: which Services this node serves and, for
// externalTrafficPolicy: Local, where their ready endpoints are
// (inputs.go read). Read only: the speaker never writes a Service.
//
// +kubebuilder:rbac:groups="",resources=services,verbs=list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=list;watch

// Nodes: eligibility (labels, NetworkUnavailable) and InternalIPs from the
// cache (inputs.go); cmd/speaker reads its own Node once, directly, for the
// memberlist address (run.go nodeAddress).
//
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch

// pylon's configuration kinds, read for config.Parse (inputs.go read).
//
// +kubebuilder:rbac:groups=pylonlb.io,resources=ippools;l2advertisements;bgppeers;bgpadvertisements,verbs=list;watch

// SpeakerStatuses: every speaker lists them to find the others' memberlist
// addresses and to count known speakers (inputs.go, reconciler.go); it
// creates its own, patches its memberlistAddress and patches its status
// (status.go writeStatus). Never delete, never update.
//
// +kubebuilder:rbac:groups=pylonlb.io,resources=speakerstatuses,verbs=list;watch;create;patch
// +kubebuilder:rbac:groups=pylonlb.io,resources=speakerstatuses/status,verbs=patch

// Events (events.k8s.io): Announcing, StoppedAnnouncing and Layer2Conflict
// on Services (events.go, conflict.go), Restarted on this node's
// SpeakerStatus (events.go), created and patched by the event recorder.
//
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Secrets, in pylon's namespace only (a Role): the memberlist keys
// (cmd/speaker waitKeys reads the Secret directly before the cache runs;
// the reconciler follows key rotation from the cache) and the BGP password
// Secrets config.Parse resolves (inputs.go). list and watch cannot be
// limited by name, so the speaker reads every Secret in pylon-system:
// keep nothing else there.
//
// +kubebuilder:rbac:groups="",namespace=pylon-system,resources=secrets,verbs=get;list;watch

// Metrics over HTTPS (cmd/speaker --metrics-secure): TokenReview and
// SubjectAccessReview for each scrape, as for the controller.
//
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
