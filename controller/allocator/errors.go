package allocator

import "errors"

// Sentinel errors. Every error the Allocator returns wraps one of them with
// the Service, address and pool it concerns; test with errors.Is.
var (
	// ErrInvalidIP: the address is the zero netip.Addr or carries a zone.
	ErrInvalidIP = errors.New("not a usable IP address")
	// ErrInvalidFamily: Allocate was asked for a family other than IPv4 or IPv6.
	ErrInvalidFamily = errors.New("unknown IP family")
	// ErrNotInPool: no pool contains the address.
	ErrNotInPool = errors.New("address is in no pool")
	// ErrPoolNotFound: the named pool does not exist.
	ErrPoolNotFound = errors.New("no such pool")
	// ErrPoolUnusable: the pool overlaps an older pool and gives out no new
	// address until the overlap is removed.
	ErrPoolUnusable = errors.New("pool overlaps another pool and gives out no new address")
	// ErrNotAllowed: the pool's namespaces or selectors exclude the Service.
	ErrNotAllowed = errors.New("pool does not serve this service")
	// ErrBuggyIP: an IPv4 address ending in .0 or .255 was asked for from a
	// pool that avoids them.
	ErrBuggyIP = errors.New("address ends in .0 or .255 and the pool avoids such addresses")
	// ErrUnsafe: the address must never be handed out (a special range, a
	// Node's address, a pod or Service CIDR: see SetUnsafe); the error
	// names the block and why.
	ErrUnsafe = errors.New("address must never be handed out")
	// ErrInUse: another Service holds the address and may not share it.
	ErrInUse = errors.New("address is in use")
	// ErrNoPool: no pool that may serve the Service has addresses of the
	// family asked for.
	ErrNoPool = errors.New("no pool serves this service in this family")
	// ErrPoolExhausted: pools that may serve the Service exist, but none has
	// a free address.
	ErrPoolExhausted = errors.New("no free address left")
)
