package netlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// InNetns runs fn on an OS thread that has joined network namespace ns
// (ip netns name). Sockets fn creates belong to ns for good, and may be
// used from any goroutine afterwards. The thread goes back to its own
// namespace afterwards; if it cannot, it is left locked and dies with the
// goroutine, so no other goroutine ever runs in the wrong namespace.
func InNetns(ns string, fn func() error) error {
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", ns, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return // the thread dies locked: harmless
		}
		defer self.Close()
		if err := setns(target); err != nil {
			errc <- fmt.Errorf("enter network namespace %s: %w", ns, err)
			return
		}
		fnErr := fn()
		if err := setns(self); err != nil {
			errc <- errors.Join(fnErr, fmt.Errorf("leave network namespace %s: %w", ns, err))
			return // stays locked: the thread exits with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- fnErr
	}()
	return <-errc
}

func setns(f *os.File) error {
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}

// DialContext dials from inside network namespace ns; DialContext(ns)
// fits http.Transport.DialContext.
func DialContext(ns string) func(ctx context.Context, network, address string) (net.Conn, error) {
	return DialFrom(ns, netip.Addr{})
}

// DialFrom is DialContext from the local address src (TCP; the zero Addr:
// the kernel's choice), one of the namespace's.
func DialFrom(ns string, src netip.Addr) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		var conn net.Conn
		err := InNetns(ns, func() error {
			var d net.Dialer
			if src.IsValid() {
				d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
			}
			c, err := d.DialContext(ctx, network, address)
			conn = c
			return err
		})
		return conn, err
	}
}
