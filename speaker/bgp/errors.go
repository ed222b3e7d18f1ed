package bgp

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them together
// with the peer or prefix they concern; test with errors.Is.
var (
	// ErrInvalidPeer: a Peer given to SetPeers is incomplete or
	// contradicts another one.
	ErrInvalidPeer = errors.New("invalid BGP peer")
	// ErrInvalidPath: a Path given to SetPaths is malformed (prefix,
	// community, duplicate).
	ErrInvalidPath = errors.New("invalid BGP path")
	// ErrClosed: the Speaker was closed.
	ErrClosed = errors.New("BGP speaker closed")
)
