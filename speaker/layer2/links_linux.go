package layer2

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
)

// ReadLinks takes a snapshot of the links of the calling thread's network
// namespace, with their addresses, kinds, masters and NOARP flags, read
// over rtnetlink (not /sys, which shows the namespace sysfs was mounted in).
func ReadLinks() ([]Link, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	info, err := linkInfo()
	if err != nil {
		return nil, err
	}
	names := make(map[int]string, len(ifs))
	for _, ifi := range ifs {
		names[ifi.Index] = ifi.Name
	}
	out := make([]Link, 0, len(ifs))
	for _, ifi := range ifs {
		in := info[ifi.Index]
		l := Link{
			Name:         ifi.Name,
			HardwareAddr: ifi.HardwareAddr,
			Kind:         in.kind,
			Master:       names[in.master],
			Up:           ifi.Flags&net.FlagUp != 0,
			Loopback:     ifi.Flags&net.FlagLoopback != 0,
			NoARP:        in.flags&syscall.IFF_NOARP != 0,
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("interface %q: list addresses: %w", ifi.Name, err)
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
					ones, _ := ipn.Mask.Size()
					l.Prefixes = append(l.Prefixes, netip.PrefixFrom(ip.Unmap(), ones))
				}
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// rtLink is what an RTM_NEWLINK message adds to net.Interface.
type rtLink struct {
	flags  uint32
	master int
	kind   string
}

// linkInfo dumps every link over rtnetlink, keyed by index.
func linkInfo() (map[int]rtLink, error) {
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("dump links: %w", os.NewSyscallError("netlinkrib", err))
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, fmt.Errorf("dump links: %w", err)
	}
	out := map[int]rtLink{}
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < syscall.SizeofIfInfomsg {
			continue
		}
		// struct ifinfomsg: family, pad, type (u16), index (s32), flags (u32), change (u32).
		index := int(int32(binary.NativeEndian.Uint32(m.Data[4:8])))
		l := rtLink{flags: binary.NativeEndian.Uint32(m.Data[8:12])}
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			return nil, fmt.Errorf("dump links: link %d: %w", index, err)
		}
		for _, a := range attrs {
			switch a.Attr.Type {
			case syscall.IFLA_MASTER:
				if len(a.Value) >= 4 {
					l.master = int(binary.NativeEndian.Uint32(a.Value))
				}
			case syscall.IFLA_LINKINFO:
				l.kind = infoKind(a.Value)
			}
		}
		out[index] = l
	}
	return out, nil
}

// infoKind finds IFLA_INFO_KIND in the nested attributes of IFLA_LINKINFO.
func infoKind(b []byte) string {
	const iflaInfoKind = 1
	for len(b) >= 4 {
		n := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4])
		if n < 4 || n > len(b) {
			return ""
		}
		if typ == iflaInfoKind {
			v := b[4:n]
			for len(v) > 0 && v[len(v)-1] == 0 {
				v = v[:len(v)-1]
			}
			return string(v)
		}
		n = (n + 3) &^ 3
		if n > len(b) {
			return ""
		}
		b = b[n:]
	}
	return ""
}
