package bgp

import (
	"net/netip"
	"os"
	"slices"
	"strconv"
	"syscall"
)

// closeSilently shuts down this process's TCP connections with addr whose
// remote or local port is one of ports: GoBGP's session with the peer,
// whichever side dialed (the router's BGP port, the speaker's listening
// one). The router sees the connection end without a BGP NOTIFICATION,
// which RFC 4724 makes the start of its graceful-restart helper (it keeps
// the routes, stale, for the restart time); GoBGP reads the end of the
// stream and drops the session, and the NOTIFICATION it may still write
// goes nowhere. The descriptors stay open (GoBGP closes them): shutdown,
// not close, so no descriptor number is freed under GoBGP's feet. It
// returns how many connections it shut down.
func closeSilently(addr netip.Addr, ports ...uint16) (int, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if typ, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE); err != nil || typ != syscall.SOCK_STREAM {
			continue
		}
		remote, err := syscall.Getpeername(fd)
		if err != nil {
			continue
		}
		local, err := syscall.Getsockname(fd)
		if err != nil {
			continue
		}
		ra, rport := sockAddr(remote)
		_, lport := sockAddr(local)
		if ra != addr || (!slices.Contains(ports, rport) && !slices.Contains(ports, lport)) {
			continue
		}
		if err := syscall.Shutdown(fd, syscall.SHUT_RDWR); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// sockAddr is a TCP socket address's IP (IPv4-mapped ones unmapped) and
// port.
func sockAddr(sa syscall.Sockaddr) (netip.Addr, uint16) {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrFrom4(a.Addr), uint16(a.Port)
	case *syscall.SockaddrInet6:
		return netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port)
	}
	return netip.Addr{}, 0
}
