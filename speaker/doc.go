// Package speaker is pylon's speaker: on each node it computes which
// Service addresses this node announces and applies the difference to the
// layer-2 announcer (speaker/layer2), with memberlist membership
// (speaker/membership) and owner choice (speaker/election).
//
// One reconcile request covers everything: any change to Services,
// EndpointSlices, Nodes, pylon resources, SpeakerStatuses or the memberlist
// key Secret, any memberlist change and any layer-2 conflict enqueue it, so
// bursts coalesce. Each pass reads the cache, computes the plan with the
// pure PlanL2, applies it, sends Service events where this node started or
// stopped announcing, and writes this node's SpeakerStatus when it changed.
// Over BGP the reconciler owns the embedded speaker's life (bgprun.go): it
// starts it once this node's router ID is known (RouterIDFor: the Node's
// annotation, else its IPv4 InternalIP) and replaces it when the ID
// changes; without one BGP stays off and the SpeakerStatus condition BGP
// says why, while layer 2 goes on. An address counts as announced over
// BGP only while a session carrying it is Established (BGPAnnounced).
// The split-brain policy (majority reclaims, minority yields) is
// splitBrain.decide (conflict.go) and docs/speaker-layer2.md; the status is
// buildStatus. Service events are sent only on change, also across a
// restart: a new process starts from what its SpeakerStatus lists
// (events.go, docs/speaker.md "Service events"). Every policy time comes
// from the injected Reconciler.Clock.
//
// pylonctl recomputes what the speakers decide with the same functions:
// Observed.Inputs builds the plan's inputs from the API objects (a pass
// builds its own with it), ExplainL2 gives every node's standing in an
// address's election (sharing its election step with PlanL2), BGPOffer says
// why a node offers an address to BGP or not (as BGPIPs decides), Listed
// reads what a SpeakerStatus's cut list tells, and NoteSubject reads the
// node and address of an Announcing or StoppedAnnouncing event.
//
// BFD (bfdwire.go): one speaker/bfd Sessions per process runs a session
// beside each BGP session whose BGPPeer has a bfd profile (BFDConfigs);
// its change callback (OnBFDChange) tears a peer's BGP session down at
// once when its BFD session goes from Up to Down, without waiting for a
// pass.
//
// What the speaker's binary runs with is here too, so that cmd/speaker and
// the tests share it: ManagerOptions (the trimmed cache) and Handoff, the
// SIGTERM sequence (freeze, leave memberlist, withdraw BGP and close BFD,
// keep answering for the delay, stop answering), timed by an injected
// clock.
//
// It may import api/v1alpha1, config, memberlistkey, its leaves
// (speaker/bfd, speaker/bgp, speaker/election, speaker/layer2, speaker/membership),
// Kubernetes' libraries, controller-runtime, Prometheus's client and logr;
// it and its leaves must never import controller or its subpackages.
package speaker
