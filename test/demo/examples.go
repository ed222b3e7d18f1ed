package demo

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/test/lab"
)

// examples is the configuration the demo applies, read from docs/examples,
// and the parts of it the demo shows.
type examples struct {
	dir   string
	files []string
	res   config.Resources
	cfg   *config.Config
	// l2Pool is the pool the first L2Advertisement names (l2Adv), bgpPool
	// the one the first BGPAdvertisement names (bgpAdv).
	l2Pool, bgpPool *config.Pool
	l2Adv, bgpAdv   string
}

// readExamples reads every *.yaml file directly in dir (not its
// subdirectories) into pylon's resources and checks that they fit the lab.
func readExamples(dir string) (*examples, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.yaml files in %s", dir)
	}
	ex := &examples{dir: dir, files: files, res: config.Resources{Namespace: pylonNamespace}}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		skipped, err := config.Decode(r, &ex.res)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		if len(skipped) > 0 {
			return nil, fmt.Errorf("%s holds %s: the demo applies only pylon's resources and Secrets", f, strings.Join(skipped, ", "))
		}
	}
	ex.cfg = config.Parse(ex.res)
	if err := ex.check(); err != nil {
		return nil, fmt.Errorf("%s does not fit the lab: %w", dir, err)
	}
	return ex, nil
}

// labPools are the lab's ranges for pool addresses: the local client has
// on-link routes to them and the router learns them by BGP.
func labPools() []netip.Prefix { return []netip.Prefix{lab.PoolV4, lab.PoolV4Alt, lab.PoolV6} }

// check says what in the examples the lab cannot run: problems the shared
// configuration checks find, pools outside the lab's ranges, peers that
// are not the lab's router, a missing advertisement of either kind.
func (ex *examples) check() error {
	var errs []error
	for _, p := range ex.cfg.Problems {
		errs = append(errs, fmt.Errorf("%s %s: %s", p.Kind, p.Name, p.Message()))
	}
	for _, p := range ex.cfg.Pools {
		for _, r := range p.Ranges {
			if !slices.ContainsFunc(labPools(), func(lp netip.Prefix) bool { return lp.Contains(r.First) && lp.Contains(r.Last) }) {
				errs = append(errs, fmt.Errorf("IPPool %s: %s is outside the lab's pool ranges %v", p.Name, r, labPools()))
			}
		}
	}
	if len(ex.cfg.BGPPeers) == 0 {
		errs = append(errs, errors.New("no BGPPeer for the lab's router"))
	}
	for _, p := range ex.cfg.BGPPeers {
		if p.PeerASN != lab.RouterASN || p.IBGP() {
			errs = append(errs, fmt.Errorf("BGPPeer %s: peerASN %d myASN %d; the lab's router is AS %d and takes eBGP sessions only", p.Name, p.PeerASN, p.MyASN, lab.RouterASN))
		}
		if !lab.SegmentV4.Contains(p.Address) && !lab.SegmentV6.Contains(p.Address) {
			errs = append(errs, fmt.Errorf("BGPPeer %s: %s is not on the lab's segment (%v, %v)", p.Name, p.Address, lab.SegmentV4, lab.SegmentV6))
		}
		if p.Password != "" || p.NodeSelector.String() != "" {
			errs = append(errs, fmt.Errorf("BGPPeer %s: the demo's lab router takes no password, and every node peers (no nodeSelector)", p.Name))
		}
	}
	if asns := ex.nodeASNs(); len(asns) > 1 {
		errs = append(errs, fmt.Errorf("BGPPeers speak as several ASes %v; the lab's router expects one", asns))
	}
	for _, a := range ex.cfg.L2Advertisements {
		if ex.l2Pool == nil && len(a.Pools) > 0 {
			ex.l2Pool, ex.l2Adv = ex.cfg.Pool(a.Pools[0]), a.Name
		}
	}
	for _, a := range ex.cfg.BGPAdvertisements {
		if ex.bgpPool == nil && len(a.Pools) > 0 {
			ex.bgpPool, ex.bgpAdv = ex.cfg.Pool(a.Pools[0]), a.Name
		}
	}
	if ex.l2Pool == nil || !ex.l2Pool.Contains(firstV4(ex.l2Pool)) {
		errs = append(errs, errors.New("no L2Advertisement covers an IPPool with IPv4 addresses"))
	}
	if ex.bgpPool == nil || !ex.bgpPool.Contains(firstV4(ex.bgpPool)) {
		errs = append(errs, errors.New("no BGPAdvertisement covers an IPPool with IPv4 addresses"))
	}
	if ex.l2Pool != nil && ex.l2Pool == ex.bgpPool {
		errs = append(errs, fmt.Errorf("IPPool %s is announced both ways; the demo shows one pool per way", ex.l2Pool.Name))
	}
	return errors.Join(errs...)
}

// nodeASNs are the distinct ASes the peers make the nodes speak as.
func (ex *examples) nodeASNs() []uint32 {
	var out []uint32
	for _, p := range ex.cfg.BGPPeers {
		if !slices.Contains(out, p.MyASN) {
			out = append(out, p.MyASN)
		}
	}
	return out
}

// firstV4 is the pool's first IPv4 address, or the zero Addr.
func firstV4(p *config.Pool) netip.Addr {
	if p == nil {
		return netip.Addr{}
	}
	for _, r := range p.Ranges {
		if r.Is4() {
			return r.First
		}
	}
	return netip.Addr{}
}

// objects are the resources to create, Secrets first, each a fresh copy.
func (ex *examples) objects() []client.Object {
	var out []client.Object
	for i := range ex.res.Secrets {
		out = append(out, ex.res.Secrets[i].DeepCopy())
	}
	for i := range ex.res.Pools {
		out = append(out, ex.res.Pools[i].DeepCopy())
	}
	for i := range ex.res.L2Advertisements {
		out = append(out, ex.res.L2Advertisements[i].DeepCopy())
	}
	for i := range ex.res.BGPPeers {
		out = append(out, ex.res.BGPPeers[i].DeepCopy())
	}
	for i := range ex.res.BGPAdvertisements {
		out = append(out, ex.res.BGPAdvertisements[i].DeepCopy())
	}
	return out
}

// describe lists the examples, a line per file.
func (ex *examples) describe() []string {
	var out []string
	for _, f := range ex.files {
		out = append(out, filepath.Base(f))
	}
	lines := []string{fmt.Sprintf("%s: %s", ex.dir, strings.Join(out, ", "))}
	for _, p := range ex.cfg.Pools {
		var rs []string
		for _, r := range p.Ranges {
			rs = append(rs, r.String())
		}
		lines = append(lines, fmt.Sprintf("IPPool %s: %s (autoAssign %t)", p.Name, strings.Join(rs, ", "), p.AutoAssign))
	}
	for _, a := range ex.cfg.L2Advertisements {
		lines = append(lines, fmt.Sprintf("L2Advertisement %s: pools %v by ARP/NDP", a.Name, a.Pools))
	}
	for _, p := range ex.cfg.BGPPeers {
		lines = append(lines, fmt.Sprintf("BGPPeer %s: AS %d -> AS %d at %s, hold %v", p.Name, p.MyASN, p.PeerASN, p.Address, p.HoldTime))
	}
	for _, a := range ex.cfg.BGPAdvertisements {
		var cs []string
		for _, c := range a.Communities {
			cs = append(cs, c.String())
		}
		lines = append(lines, fmt.Sprintf("BGPAdvertisement %s: pools %v as /%d, communities %v", a.Name, a.Pools, a.AggregationLength, cs))
	}
	return lines
}
