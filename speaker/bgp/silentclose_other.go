//go:build !linux

package bgp

import (
	"errors"
	"net/netip"
)

// closeSilently needs Linux's /proc/self/fd; elsewhere it is an error (the
// speaker runs on Linux nodes).
func closeSilently(netip.Addr, ...uint16) (int, error) {
	return 0, errors.New("closing a BGP connection without a notification needs Linux")
}
