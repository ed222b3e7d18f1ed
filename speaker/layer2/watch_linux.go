package layer2

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// WatchLinks signals on the channel it returns whenever a link or an
// address changes in the network namespace of the calling thread: a link
// made, deleted, renamed, brought up or down, losing or finding its
// carrier, an address added or removed. A burst of changes gives one
// signal (see WatchOptions.Coalesce) and a signal waiting to be read
// stands for any number of changes; the reader then reads the links again
// (ReadLinks). When the subscription breaks it subscribes again, with
// capped exponential backoff, and signals once it has, since changes may
// have been missed. The channel closes when ctx ends. Its logger comes from
// ctx. It fails only when it cannot subscribe at all.
//
// It reads rtnetlink (the RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR and
// RTNLGRP_IPV6_IFADDR groups) from a non-blocking socket in Go's poller,
// so that ending the watch closes it at once; the messages are not parsed.
func WatchLinks(ctx context.Context, opts WatchOptions) (<-chan struct{}, error) {
	ns, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("watch links: open the network namespace: %w", err)
	}
	first, err := openRtnetlink()
	if err != nil {
		_ = unix.Close(ns)
		return nil, fmt.Errorf("watch links: %w", err)
	}
	w := newWatcher(ctx, opts, func() (changeSource, error) { return openRtnetlinkIn(ns) })
	w.first = first
	go func() {
		defer func() { _ = unix.Close(ns) }()
		w.run(ctx)
	}()
	return w.out, nil
}

// rtnetlinkSource is a subscription to link and address notifications.
type rtnetlinkSource struct {
	f   *os.File
	buf []byte
}

func (s *rtnetlinkSource) Next() error {
	_, err := s.f.Read(s.buf)
	if errors.Is(err, unix.ENOBUFS) {
		// The socket's buffer overflowed: notifications were lost, and
		// the socket goes on.
		return nil
	}
	return err
}

func (s *rtnetlinkSource) Close() error { return s.f.Close() }

// openRtnetlink subscribes in the calling thread's network namespace.
func openRtnetlink() (*rtnetlinkSource, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open rtnetlink socket: %w", err)
	}
	groups := uint32(1)<<(unix.RTNLGRP_LINK-1) | 1<<(unix.RTNLGRP_IPV4_IFADDR-1) | 1<<(unix.RTNLGRP_IPV6_IFADDR-1)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("subscribe to link and address changes: %w", err)
	}
	// Non-blocking, so os.File puts it in the poller and Close interrupts
	// a pending Read.
	return &rtnetlinkSource{f: os.NewFile(uintptr(fd), "rtnetlink"), buf: make([]byte, 64<<10)}, nil
}

// openRtnetlinkIn subscribes in the namespace ns (an open namespace file):
// on a thread of its own, moved there when it is elsewhere; the thread is
// never unlocked, so the runtime ends it rather than reuse it.
func openRtnetlinkIn(ns int) (changeSource, error) {
	type result struct {
		s   *rtnetlinkSource
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		same, err := sameNetns(ns)
		if err == nil && !same {
			err = unix.Setns(ns, unix.CLONE_NEWNET)
		}
		if err != nil {
			done <- result{err: fmt.Errorf("enter the watched network namespace: %w", err)}
			return
		}
		s, err := openRtnetlink()
		done <- result{s, err}
		if same {
			runtime.UnlockOSThread()
		}
	}()
	r := <-done
	if r.err != nil {
		return nil, r.err
	}
	return r.s, nil
}

// sameNetns reports whether the calling thread is in the namespace ns.
func sameNetns(ns int) (bool, error) {
	var want, cur unix.Stat_t
	if err := unix.Fstat(ns, &want); err != nil {
		return false, err
	}
	if err := unix.Stat("/proc/thread-self/ns/net", &cur); err != nil {
		return false, err
	}
	return want.Dev == cur.Dev && want.Ino == cur.Ino, nil
}
