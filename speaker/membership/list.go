package membership

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/pylonlb/pylon/memberlistkey"
)

// DefaultPort is the memberlist port, TCP and UDP.
const DefaultPort = 7946

// Config starts a List.
type Config struct {
	// Name is this member's name: the node's name.
	Name string
	// BindAddr and BindPort are where memberlist listens (TCP and UDP);
	// BindAddr "" is every address.
	BindAddr string
	BindPort int
	// AdvertiseAddr and AdvertisePort are what other members dial; the
	// port defaults to BindPort.
	AdvertiseAddr string
	AdvertisePort int
	Profile       Profile
	// Keys encrypt and authenticate every message; nil leaves traffic in
	// the clear (tests only: the speaker always sets them).
	Keys *memberlistkey.Keys
	// LogOutput receives memberlist's own log lines; nil discards them.
	LogOutput io.Writer
}

// State is a member's state. memberlist keeps finer states (suspect,
// left) to itself: its public API tells only whether a member is live or
// gone, so that is what a List reports.
type State string

// Member states.
const (
	// Alive: live, possibly suspected (it counts until declared dead).
	Alive State = "Alive"
	// Dead: declared dead after failing probes, or left on purpose.
	Dead State = "Dead"
)

// Member is one member as this one sees it.
type Member struct {
	Name    string
	Address string
	State   State
}

// List is this node's membership.
type List struct {
	ml      *memberlist.Memberlist
	keyring *memberlist.Keyring
	changes chan struct{}

	mu sync.Mutex
	// gone are members last seen dead or left, so that Members can report
	// them (memberlist forgets them after a while).
	gone map[string]Member
}

// Start creates the memberlist and listens; it joins nobody yet.
func Start(cfg Config) (*List, error) { return startWith(cfg, nil) }

// startWith is Start, with transport, when not nil, making what carries
// memberlist's messages from the configuration Start built (a benchmark
// counts the bytes through it); nil is memberlist's own UDP and TCP
// transport.
func startWith(cfg Config, transport func(*memberlist.Config) (memberlist.Transport, error)) (*List, error) {
	if cfg.Name == "" {
		return nil, errors.New("membership: a name is required")
	}
	if err := cfg.Profile.Validate(); err != nil {
		return nil, fmt.Errorf("membership: profile: %w", err)
	}
	l := &List{changes: make(chan struct{}, 1), gone: map[string]Member{}}
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Name
	mc.BindAddr, mc.BindPort = cmpOr(cfg.BindAddr, "0.0.0.0"), cfg.BindPort
	mc.AdvertiseAddr, mc.AdvertisePort = cfg.AdvertiseAddr, cfg.AdvertisePort
	if mc.AdvertisePort == 0 {
		mc.AdvertisePort = cfg.BindPort
	}
	p := cfg.Profile
	mc.ProbeInterval, mc.ProbeTimeout, mc.SuspicionMult = p.ProbeInterval, p.ProbeTimeout, p.SuspicionMult
	mc.GossipInterval, mc.IndirectChecks, mc.RetransmitMult = p.GossipInterval, p.IndirectChecks, p.RetransmitMult
	// A restarted speaker comes back under the same name, possibly on a
	// new address; let it in once it has been dead this long.
	mc.DeadNodeReclaimTime = time.Second
	// No LZW: memberlist compresses every packet it sends with a fresh
	// 64 KiB LZW table, which cost a third of a member's CPU time
	// (allocation and garbage collection) and saved nothing measurable on
	// the wire: probes and acks are too short to shrink (docs/benchmarks.md,
	// "Speaker: 100 members"). Members that still compress are read as
	// before: decompression does not depend on this setting.
	mc.EnableCompression = false
	mc.Events = (*events)(l)
	out := cfg.LogOutput
	if out == nil {
		out = io.Discard
	}
	mc.Logger = log.New(out, "memberlist: ", log.LstdFlags)
	if cfg.Keys != nil {
		kr, err := memberlist.NewKeyring(cfg.Keys.Others, cfg.Keys.Primary)
		if err != nil {
			return nil, fmt.Errorf("membership: keys: %w", err)
		}
		mc.Keyring, l.keyring = kr, kr
		mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	}
	if transport != nil {
		t, err := transport(mc)
		if err != nil {
			return nil, fmt.Errorf("membership: transport: %w", err)
		}
		mc.Transport = t
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("membership: listen on %s: %w", net.JoinHostPort(mc.BindAddr, strconv.Itoa(mc.BindPort)), err)
	}
	l.ml = ml
	return l, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Address is where other members reach this one, host:port.
func (l *List) Address() string { return l.ml.LocalNode().Address() }

// Join contacts the members at addrs (host:port) that this one does not
// know as live yet. It returns how many answered; contacting none is not
// an error when there was nobody new to contact.
func (l *List) Join(addrs []string) (int, error) {
	known := map[string]bool{l.Address(): true}
	for _, n := range l.ml.Members() {
		known[n.Address()] = true
	}
	var todo []string
	for _, a := range addrs {
		if !known[a] {
			todo = append(todo, a)
		}
	}
	if len(todo) == 0 {
		return 0, nil
	}
	return l.ml.Join(todo)
}

// Live returns the names of the members that are alive or suspected (not
// yet declared dead), this one included, sorted. Every member computes
// the same set once gossip has settled.
func (l *List) Live() []string {
	var names []string
	for _, n := range l.ml.Members() {
		names = append(names, n.Name)
	}
	slices.Sort(names)
	return names
}

// Members returns every member seen, live ones with their current state
// and dead or departed ones as last seen, sorted by name.
func (l *List) Members() []Member {
	l.mu.Lock()
	byName := make(map[string]Member, len(l.gone))
	for k, m := range l.gone {
		byName[k] = m
	}
	l.mu.Unlock()
	for _, n := range l.ml.Members() {
		byName[n.Name] = Member{Name: n.Name, Address: n.Address(), State: Alive}
	}
	out := make([]Member, 0, len(byName))
	for _, m := range byName {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Changes delivers a value after the live set changed; changes in between
// coalesce. Read Live after each.
func (l *List) Changes() <-chan struct{} { return l.changes }

// SetKeys replaces the keyring while running: new keys are added, the
// primary switched, keys no longer listed removed. Rotation is three
// Secret edits (docs/speaker-layer2.md): add the new key as key-next, make
// it the primary, drop the old one.
func (l *List) SetKeys(k memberlistkey.Keys) error {
	if l.keyring == nil {
		return errors.New("membership: started without encryption; keys can only be changed on an encrypted list")
	}
	for _, key := range k.All() {
		if err := l.keyring.AddKey(key); err != nil {
			return fmt.Errorf("membership: add key: %w", err)
		}
	}
	if err := l.keyring.UseKey(k.Primary); err != nil {
		return fmt.Errorf("membership: use key: %w", err)
	}
	for _, old := range l.keyring.GetKeys() {
		if !slices.ContainsFunc(k.All(), func(x []byte) bool { return bytes.Equal(x, old) }) {
			if err := l.keyring.RemoveKey(old); err != nil {
				return fmt.Errorf("membership: remove key: %w", err)
			}
		}
	}
	return nil
}

// Leave tells the others this member is going, waiting up to timeout for
// the message to go out; they drop it at once instead of after failure
// detection.
func (l *List) Leave(timeout time.Duration) error { return l.ml.Leave(timeout) }

// Shutdown stops every goroutine and closes the sockets, without telling
// anyone (a crash, as the others see it, unless Leave came first).
func (l *List) Shutdown() error { return l.ml.Shutdown() }

// events is the List as memberlist's event delegate.
type events List

func (e *events) NotifyJoin(n *memberlist.Node) {
	e.mu.Lock()
	delete(e.gone, n.Name)
	e.mu.Unlock()
	e.notify()
}

func (e *events) NotifyLeave(n *memberlist.Node) {
	e.mu.Lock()
	e.gone[n.Name] = Member{Name: n.Name, Address: n.Address(), State: Dead}
	e.mu.Unlock()
	e.notify()
}

func (e *events) NotifyUpdate(*memberlist.Node) {}

func (e *events) notify() {
	select {
	case e.changes <- struct{}{}:
	default:
	}
}
