package bfd

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// bindToDevice returns a net.ListenConfig Control function binding the
// socket to the interface (SO_BINDTODEVICE); none for "".
func bindToDevice(iface string) func(network, address string, rc syscall.RawConn) error {
	if iface == "" {
		return nil
	}
	return func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface)
		})
		return errors.Join(err, serr)
	}
}
