package lab

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"text/template"
	"time"
)

// frrDaemons is where Debian's frr package puts zebra, bfdd and bgpd.
const frrDaemons = "/usr/lib/frr"

// bgpdConf is the router's configuration. Nodes peer from anywhere on the
// segment (dynamic neighbours, passive on the router's side), over IPv4
// or IPv6, and both address families go over either session.
var bgpdConf = template.Must(template.New("bgpd.conf").Parse(`! pylon lab router, written by test/lab
hostname {{.Hostname}}
log file {{.Dir}}/bgpd.log
!
router bgp {{.ASN}}
 bgp router-id {{.RouterID}}
 ! FRR >= 7.4 drops eBGP routes without a policy otherwise, silently.
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 ! ECMP across nodes in different ASes too.
 bgp bestpath as-path multipath-relax
{{- range .Groups}}
 neighbor {{.Name}} peer-group
 neighbor {{.Name}} remote-as {{$.NodeAS}}
 neighbor {{.Name}} timers 3 9
{{- if $.Password}}
 neighbor {{.Name}} password {{$.Password}}
{{- end}}
{{- if $.BFD}}
 neighbor {{.Name}} bfd
 neighbor {{.Name}} bfd profile pylon
{{- end}}
 bgp listen range {{.Range}} peer-group {{.Name}}
{{- end}}
 !
{{- range .Families}}
 address-family {{.}} unicast
{{- range $.Groups}}
  neighbor {{.Name}} activate
{{- end}}
  maximum-paths 16
  maximum-paths ibgp 16
 exit-address-family
{{- end}}
!
`))

// bfddConf is bfdd's configuration: the profile the peer groups use.
var bfddConf = template.Must(template.New("bfdd.conf").Parse(`! pylon lab router, written by test/lab
hostname {{.Hostname}}
log file {{.Dir}}/bfdd.log
!
bfd
 profile pylon
  receive-interval {{.BFD.Milliseconds .BFD.Interval}}
  transmit-interval {{.BFD.Milliseconds .BFD.Interval}}
  detect-multiplier {{.BFD.DetectMultiplier}}
 exit
 !
exit
!
`))

var zebraConf = template.Must(template.New("zebra.conf").Parse(`! pylon lab router, written by test/lab
hostname {{.Hostname}}
log file {{.Dir}}/zebra.log
!
`))

// frrConfig fills the templates.
type frrConfig struct {
	Hostname string
	Dir      string
	ASN      uint32
	RouterID string
	// NodeAS is "external" (any AS but the router's) or a number.
	NodeAS   string
	Password string
	// BFD, when set, runs BFD on the peer groups' sessions.
	BFD      *BFD
	Groups   []peerGroup
	Families []string
}

type peerGroup struct{ Name, Range string }

func newFRRConfig(t *topology, dir string, o Options) frrConfig {
	nodeAS := "external"
	if o.NodeASN != 0 {
		nodeAS = strconv.FormatUint(uint64(o.NodeASN), 10)
	}
	return frrConfig{
		Hostname: t.router.Name,
		Dir:      dir,
		ASN:      RouterASN,
		RouterID: t.router.IPv4.String(),
		NodeAS:   nodeAS,
		Password: o.BGPPassword,
		BFD:      o.BFD,
		Groups:   []peerGroup{{"NODES4", SegmentV4.String()}, {"NODES6", SegmentV6.String()}},
		Families: []string{"ipv4", "ipv6"},
	}
}

func (c frrConfig) render(tmpl *template.Template) ([]byte, error) {
	var b bytes.Buffer
	if err := tmpl.Execute(&b, c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Router is the lab's FRR router: zebra and bgpd in the router namespace,
// with all their state, sockets and logs in Dir.
type Router struct {
	Host
	// Dir holds the configuration, pid files, vty sockets and FRR's logs.
	Dir string
	// RemoteIPv4 and RemoteIPv6 are its addresses towards the remote
	// client.
	RemoteIPv4, RemoteIPv6 netip.Addr
	// Zebra and BGPd are the two daemons; BFDd the third, with
	// Options.BFD.
	Zebra, BGPd, BFDd *Process
}

// startFRR writes the configuration and starts zebra, then bgpd, in the
// foreground under the lab's process control (so they are killed with the
// lab, and their output is kept), dropping to the frr user.
func (l *Lab) startFRR(ctx context.Context, o Options) error {
	dir := filepath.Join(l.Dir, "frr")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg := newFRRConfig(l.topo, dir, o)
	uid, gid, err := frrOwner()
	if err != nil {
		return err
	}
	confs := map[string]*template.Template{"bgpd.conf": bgpdConf, "zebra.conf": zebraConf}
	if o.BFD != nil {
		confs["bfdd.conf"] = bfddConf
	}
	for name, tmpl := range confs {
		data, err := cfg.render(tmpl)
		if err != nil {
			return fmt.Errorf("render %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o640); err != nil {
			return err
		}
		if err := os.Chown(filepath.Join(dir, name), uid, gid); err != nil {
			return err
		}
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return err
	}
	r := &Router{Host: l.topo.router, Dir: dir, RemoteIPv4: l.topo.routerRemoteV4, RemoteIPv6: l.topo.routerRemV6}
	args := func(daemon string) []string {
		// -A 127.0.0.1 -P 0: no vty TCP port; vtysh uses the sockets.
		return []string{"-u", "frr", "-g", "frr",
			"-f", filepath.Join(dir, daemon+".conf"), "-i", filepath.Join(dir, daemon+".pid"),
			"-z", filepath.Join(dir, "zserv.api"), "--vty_socket", dir, "-A", "127.0.0.1", "-P", "0"}
	}
	if r.Zebra, err = l.StartProcess(ProcessSpec{Name: "frr-zebra", Netns: r.Netns, Path: filepath.Join(frrDaemons, "zebra"), Args: args("zebra")}); err != nil {
		return err
	}
	if err := waitFile(ctx, r.Zebra, filepath.Join(dir, "zserv.api")); err != nil {
		return err
	}
	if o.BFD != nil {
		// bfdd before bgpd: bgpd registers its sessions with bfdd through
		// zebra. --bfdctl keeps its control socket in the lab's directory.
		bfdArgs := append(args("bfdd"), "--bfdctl", filepath.Join(dir, "bfdd.sock"))
		if r.BFDd, err = l.StartProcess(ProcessSpec{Name: "frr-bfdd", Netns: r.Netns, Path: filepath.Join(frrDaemons, "bfdd"), Args: bfdArgs}); err != nil {
			return err
		}
		if err := waitFile(ctx, r.BFDd, filepath.Join(dir, "bfdd.vty")); err != nil {
			return err
		}
	}
	if r.BGPd, err = l.StartProcess(ProcessSpec{Name: "frr-bgpd", Netns: r.Netns, Path: filepath.Join(frrDaemons, "bgpd"), Args: args("bgpd")}); err != nil {
		return err
	}
	if err := waitFile(ctx, r.BGPd, filepath.Join(dir, "bgpd.vty")); err != nil {
		return err
	}
	l.Router = r
	return nil
}

// Vtysh runs vtysh commands (one -c each) against the router's daemons.
func (r *Router) Vtysh(ctx context.Context, commands ...string) ([]byte, error) {
	args := []string{"--vty_socket", r.Dir}
	for _, c := range commands {
		args = append(args, "-c", c)
	}
	return inNetnsCmd(ctx, "", r.Netns, "vtysh", args...)
}

// SetPassword changes the TCP-MD5 password the router asks of the nodes
// (both peer groups), as an operator would on a running router; FRR
// restarts the groups' sessions. FRR 8.4 updates the key of the peers it
// has but not the one its listen socket uses for the rest of a listen
// range, so the ranges are configured again as well.
func (r *Router) SetPassword(ctx context.Context, password string) error {
	cmds := []string{"configure terminal", fmt.Sprintf("router bgp %d", RouterASN)}
	for _, g := range []struct{ name, rng string }{{"NODES4", SegmentV4.String()}, {"NODES6", SegmentV6.String()}} {
		cmds = append(cmds, "neighbor "+g.name+" password "+password,
			"no bgp listen range "+g.rng+" peer-group "+g.name, "bgp listen range "+g.rng+" peer-group "+g.name)
	}
	if out, err := r.Vtysh(ctx, cmds...); err != nil {
		return fmt.Errorf("set the router's password: %w: %s", err, out)
	}
	return nil
}

// Clear resets the router's session with one node (vtysh clear bgp).
func (r *Router) Clear(ctx context.Context, node netip.Addr) error {
	if out, err := r.Vtysh(ctx, "clear bgp "+node.String()); err != nil {
		return fmt.Errorf("clear bgp %s: %w: %s", node, err, out)
	}
	return nil
}

// RestartBGPd stops bgpd (SIGTERM to its PID, as a service restart does:
// it tells its peers and zebra withdraws its routes) and starts it again
// with the same configuration, waiting until its vty socket is back.
// Sessions then start from nothing: the nodes reconnect.
func (r *Router) RestartBGPd(ctx context.Context) error {
	if err := r.BGPd.Term(DefaultGrace); err != nil {
		return err
	}
	vty := filepath.Join(r.Dir, "bgpd.vty")
	if err := os.Remove(vty); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := r.BGPd.Start(); err != nil {
		return err
	}
	return waitFile(ctx, r.BGPd, vty)
}

// frrOwner is the frr user's uid and gid.
func frrOwner() (int, int, error) {
	u, err := user.Lookup("frr")
	if err != nil {
		return 0, 0, fmt.Errorf("no frr user (apt-get install frr): %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, err
	}
	gid, err := strconv.Atoi(u.Gid)
	return uid, gid, err
}

// waitFile waits for a daemon to create path, failing early if it exits.
func waitFile(ctx context.Context, p *Process, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-p.Done():
			return fmt.Errorf("%s exited before creating %s: %v; log %s:\n%s", p.Spec.Name, path, p.ExitErr(), p.LogPath, p.Log())
		case <-ctx.Done():
			return fmt.Errorf("%s did not create %s: %w", p.Spec.Name, path, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
