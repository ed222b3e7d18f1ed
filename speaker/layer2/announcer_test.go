package layer2

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// TestSetOwnedErrors needs no privileges: it fails before any socket opens.
func TestSetOwnedErrors(t *testing.T) {
	a := New(context.Background(), Options{})
	defer a.Close()
	err := a.SetOwned(map[netip.Addr][]string{
		netip.MustParseAddr("198.51.100.10"): {"lo"},
		netip.MustParseAddr("198.51.100.11"): {"pylon-none0"},
		{}:                                   {"eth0"},
	})
	named := map[string]bool{}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ie *InterfaceError
		if errors.As(e, &ie) {
			named[ie.Interface] = true
		}
	}
	if !named["lo"] || !named["pylon-none0"] || len(named) != 2 {
		t.Errorf("SetOwned = %v; want errors naming lo (no Ethernet address) and pylon-none0 (missing)", err)
	}
	if got := a.Announced(); len(got) != 0 {
		t.Errorf("Announced = %v, want nothing", got)
	}
}

func TestOptionsDefaults(t *testing.T) {
	got := Options{}.withDefaults()
	want := Options{GratuitousCount: DefaultGratuitousCount, GratuitousInterval: DefaultGratuitousInterval,
		ProbeInterval: DefaultProbeInterval, MaxProbeRate: DefaultMaxProbeRate}
	if got.GratuitousCount != want.GratuitousCount || got.GratuitousInterval != want.GratuitousInterval ||
		got.ProbeInterval != want.ProbeInterval || got.MaxProbeRate != want.MaxProbeRate {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	off := Options{GratuitousCount: -1, ProbeInterval: -time.Second}.withDefaults()
	if off.GratuitousCount != -1 || off.ProbeInterval >= 0 {
		t.Errorf("negative values must stay off: %+v", off)
	}
}
