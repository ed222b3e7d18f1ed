package config_test

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
)

func ExampleParse() {
	cfg := config.Parse(config.Resources{
		Pools: []v1alpha1.IPPool{
			{ObjectMeta: metav1.ObjectMeta{Name: "lab"}, Spec: v1alpha1.IPPoolSpec{
				Addresses: []v1alpha1.AddressRange{"198.51.100.0/24", "2001:db8:1::/64"},
			}},
			{ObjectMeta: metav1.ObjectMeta{Name: "typo"}, Spec: v1alpha1.IPPoolSpec{
				Addresses: []v1alpha1.AddressRange{"203.0.113.5/24"},
			}},
		},
		L2Advertisements: []v1alpha1.L2Advertisement{
			{ObjectMeta: metav1.ObjectMeta{Name: "segment"}},
		},
	})
	for _, p := range cfg.Pools {
		fmt.Println("pool", p.Name, p.Ranges)
	}
	for _, a := range cfg.L2Advertisements {
		fmt.Println("l2", a.Name, a.Pools)
	}
	for _, p := range cfg.Problems {
		fmt.Println(p.Kind, p.Name, p.Reason, p.Rejected)
		fmt.Println(p.Message())
	}
	// Output:
	// pool lab [198.51.100.0/24 2001:db8:1::/64]
	// l2 segment [lab]
	// IPPool typo InvalidSpec true
	// spec.addresses[0]: Invalid value: "203.0.113.5/24": CIDR has host bits set: the block it names is 203.0.113.0/24
}
