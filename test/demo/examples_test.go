package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsExamplesFitTheLab: the configuration `make demo` applies is
// docs/examples as it is, and it must run in the lab.
func TestDocsExamplesFitTheLab(t *testing.T) {
	ex, err := readExamples(filepath.Join("..", "..", "docs", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	if ex.l2Pool.Name != "default" || ex.l2Adv != "default" || ex.bgpPool.Name != "bgp" || ex.bgpAdv != "bgp" {
		t.Errorf("layer 2: pool %s by %s; BGP: pool %s by %s", ex.l2Pool.Name, ex.l2Adv, ex.bgpPool.Name, ex.bgpAdv)
	}
	if len(ex.files) != 4 || len(ex.objects()) != 5 {
		t.Errorf("%d files, %d objects: want the four files and five objects the docs describe", len(ex.files), len(ex.objects()))
	}
	if asns := ex.nodeASNs(); len(asns) != 1 || asns[0] != 64512 {
		t.Errorf("node ASNs %v, want [64512]", asns)
	}
}

func TestExamplesThatDoNotFit(t *testing.T) {
	const (
		pool   = "apiVersion: pylonlb.io/v1alpha1\nkind: IPPool\nmetadata: {name: %s}\nspec: {addresses: [%s]}\n---\n"
		l2     = "apiVersion: pylonlb.io/v1alpha1\nkind: L2Advertisement\nmetadata: {name: l2}\nspec: {ipPools: [a]}\n---\n"
		bgpAdv = "apiVersion: pylonlb.io/v1alpha1\nkind: BGPAdvertisement\nmetadata: {name: bgp}\nspec: {ipPools: [b]}\n---\n"
		peer   = "apiVersion: pylonlb.io/v1alpha1\nkind: BGPPeer\nmetadata: {name: r}\nspec: {myASN: %d, peerASN: %d, peerAddress: %s}\n---\n"
	)
	good := fmt.Sprintf(pool, "a", "198.51.100.0/24") + fmt.Sprintf(pool, "b", "203.0.113.0/25") + l2 + bgpAdv
	tests := []struct {
		name, yaml, want string
	}{
		{"fits", good + fmt.Sprintf(peer, 64512, 64513, "198.18.0.2"), ""},
		{"router's AS wrong", good + fmt.Sprintf(peer, 64512, 64999, "198.18.0.2"), "the lab's router is AS 64513"},
		{"iBGP", good + fmt.Sprintf(peer, 64513, 64513, "198.18.0.2"), "eBGP sessions only"},
		{"router off the segment", good + fmt.Sprintf(peer, 64512, 64513, "192.0.2.1"), "not on the lab's segment"},
		{"no peer", good, "no BGPPeer"},
		{"pool outside the lab", fmt.Sprintf(pool, "a", "10.0.0.0/24") + fmt.Sprintf(pool, "b", "203.0.113.0/25") + l2 + bgpAdv + fmt.Sprintf(peer, 64512, 64513, "198.18.0.2"), "outside the lab's pool ranges"},
		{"no L2Advertisement", fmt.Sprintf(pool, "a", "198.51.100.0/24") + fmt.Sprintf(pool, "b", "203.0.113.0/25") + bgpAdv + fmt.Sprintf(peer, 64512, 64513, "198.18.0.2"), "no L2Advertisement"},
		{"one pool both ways", fmt.Sprintf(pool, "a", "198.51.100.0/24") + l2 + strings.ReplaceAll(bgpAdv, "[b]", "[a]") + fmt.Sprintf(peer, 64512, 64513, "198.18.0.2"), "announced both ways"},
		{"a problem", good + fmt.Sprintf(pool, "c", "198.51.100.0/25") + fmt.Sprintf(peer, 64512, 64513, "198.18.0.2"), "IPPool c: spec.addresses"},
		{"not pylon's", good + fmt.Sprintf(peer, 64512, 64513, "198.18.0.2") + "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", "only pylon's resources"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := readExamples(dir)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("accepted; want an error saying %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
		})
	}
}
