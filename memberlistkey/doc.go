// Package memberlistkey is the format of the memberlist key Secret
// (pylon-memberlist in pylon's namespace): the one thing the controller and
// the speakers share about memberlist. The controller creates the Secret
// with a New key when it is missing; every speaker reads it with
// FromSecret and hands the Keys to speaker/membership, which encrypts the
// gossip with them and rolls a change over in steps.
//
// The Secret holds the primary key, which encrypts, under DataPrimary and,
// during a rotation, keys that are accepted too under names starting with
// DataOtherPrefix (docs/speaker.md describes the rotation).
//
// It imports only the standard library, so that the controller writes the
// Secret without linking memberlist: controller and speaker/membership
// both import it, and it imports neither.
package memberlistkey
