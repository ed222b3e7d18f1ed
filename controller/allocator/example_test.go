package allocator_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/controller/allocator"
)

func mustRange(s string) config.Range {
	r, err := config.ParseAddressRange(s)
	if err != nil {
		panic(err)
	}
	return r
}

func Example() {
	a := allocator.New()
	a.SetPools([]*config.Pool{{
		Name:          "lab",
		Ranges:        []config.Range{mustRange("198.51.100.0/24"), mustRange("2001:db8::/64")},
		AutoAssign:    true,
		AvoidBuggyIPs: true,
		Priority:      config.NoPriority,
	}})

	// On start, the controller restores what Services' status says.
	old := allocator.Service{Key: "shop/db", Namespace: "shop", Ports: []allocator.Port{{Protocol: "TCP", Port: 5432}}}
	pool, err := a.Restore(old, netip.MustParseAddr("198.51.100.2"))
	fmt.Println("restored:", pool, err)

	// Then it allocates: lowest free address first, .0 avoided, the
	// restored address skipped.
	web := allocator.Service{Key: "shop/web", Namespace: "shop", SharingKey: "shop",
		Ports: []allocator.Port{{Protocol: "TCP", Port: 443}}}
	for _, f := range []allocator.Family{allocator.IPv4, allocator.IPv6} {
		ip, pool, err := a.Allocate(web, f, "")
		fmt.Println("web:", ip, pool, err)
	}
	ip, _, _ := a.Allocate(allocator.Service{Key: "shop/api", Namespace: "shop"}, allocator.IPv4, "")
	fmt.Println("api:", ip)

	// A Service with the same sharing key and other ports joins web.
	dns := allocator.Service{Key: "shop/dns", Namespace: "shop", SharingKey: "shop",
		Ports: []allocator.Port{{Protocol: "UDP", Port: 53}}}
	ip, _, _ = a.Allocate(dns, allocator.IPv4, "")
	fmt.Println("dns:", ip)

	// Nobody takes an address that is held.
	_, err = a.Assign(allocator.Service{Key: "other/x", Namespace: "other"}, netip.MustParseAddr("198.51.100.2"))
	fmt.Println(errors.Is(err, allocator.ErrInUse), err)

	v4, v6 := a.Counts("lab")
	fmt.Println("IPv4:", v4.Total, v4.Allocated, v4.Available)
	fmt.Println("IPv6:", v6.Total, v6.Allocated, v6.Available)
	fmt.Println("web holds", a.IPs("shop/web"))
	// Output:
	// restored: lab <nil>
	// web: 198.51.100.1 lab <nil>
	// web: 2001:db8:: lab <nil>
	// api: 198.51.100.3
	// dns: 198.51.100.1
	// true assign 198.51.100.2 of pool "lab" to other/x: 198.51.100.2 is held by shop/db and they do not both allow sharing: address is in use
	// IPv4: 254 3 251
	// IPv6: 18446744073709551616 1 18446744073709551615
	// web holds [198.51.100.1 2001:db8::]
}
