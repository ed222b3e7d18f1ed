// Package membership tells a speaker which other speakers are alive, over
// hashicorp/memberlist: a gossip protocol with direct and indirect probes,
// so that a dead node is noticed by every survivor within about a second
// and a node that leaves on purpose within a few hundred milliseconds.
//
// It owns the memberlist instance, its failure-detection profile (Profile,
// tuned for a LAN; see docs/speaker-layer2.md), its encryption keyring
// (memberlistkey.Keys, read from the pylon-memberlist Secret by the
// speaker, changed without a restart: SetKeys, Rollover) and a coalescing
// change notification. Which speakers to join comes from the caller (the
// SpeakerStatus objects carry each speaker's address).
//
// It imports hashicorp/memberlist and, of pylon's packages, memberlistkey
// only (the Secret's format, which the controller shares). It must not
// import controller-runtime or client-go: the speaker feeds it addresses
// and keys and reads the live set.
package membership
