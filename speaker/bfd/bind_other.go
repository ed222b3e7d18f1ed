//go:build !linux

package bfd

import (
	"errors"
	"syscall"
)

// bindToDevice: binding to an interface is implemented on Linux only.
func bindToDevice(iface string) func(network, address string, rc syscall.RawConn) error {
	if iface == "" {
		return nil
	}
	return func(string, string, syscall.RawConn) error {
		return errors.New("binding a socket to an interface is supported on Linux only")
	}
}
