package metallb

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// TestBFDProfileInlined: the BFDProfile a MetalLB BGPPeer names becomes
// that BGPPeer's spec.bfd (in every BGPPeer a split makes), with the
// intervals in milliseconds turned into durations; echo mode is left out.
func TestBFDProfileInlined(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name  string
		peers map[string]*v1alpha1.BFDProfile
	}{
		{"config-bfd", map[string]*v1alpha1.BFDProfile{"peersample": {ReceiveInterval: dur(ms(380)), TransmitInterval: dur(ms(270))}}},
		{"bfd", map[string]*v1alpha1.BFDProfile{
			"tor-1": {ReceiveInterval: dur(ms(100)), TransmitInterval: dur(ms(200)), DetectMultiplier: ptr.To(int32(5)), PassiveMode: ptr.To(true)},
			"tor-2": {ReceiveInterval: dur(ms(100)), TransmitInterval: dur(ms(200)), DetectMultiplier: ptr.To(int32(5)), PassiveMode: ptr.To(true)},
			"spine": nil,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _, report := convertCase(t, tt.name)
			seen := 0
			for _, p := range res.Resources.BGPPeers {
				want, ok := tt.peers[p.Name]
				if !ok {
					t.Errorf("unexpected BGPPeer %s", p.Name)
					continue
				}
				seen++
				if got := p.Spec.BFD; !reflect.DeepEqual(got, want) {
					t.Errorf("BGPPeer %s: bfd %+v, want %+v", p.Name, got, want)
				}
			}
			if seen != len(tt.peers) {
				t.Errorf("%d of %d BGPPeers made:\n%s", seen, len(tt.peers), report)
			}
		})
	}
}

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
