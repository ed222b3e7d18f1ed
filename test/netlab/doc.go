// Package netlab is the network layer of pylon's labs: network namespaces,
// links and FRR routers on one Linux machine, as root, without an API
// server. test/lab builds its cluster lab on it; the speaker's BGP and
// layer-2 tests (speaker/bgp, speaker/layer2) build their own small labs
// with it directly.
//
// # What it gives
//
// New (or Start, for a test) starts a lab: a run prefix, a directory
// (Dir: lab.log, logs/<process>.log, FRR's state) and a record of the run
// in StateDir. AddNetns makes a namespace <prefix>-<name> with duplicate
// address detection off (set before any link exists) and lo up; AddSwitch
// makes a bridge (no STP, no forwarding delay) in a namespace of its own
// and Switch.Plug connects a namespace to it with a veth. Everything else
// about links is ip's own language: IP runs ip commands in a namespace
// (veths, macvlans, addresses, routes), Sysctl sets kernel parameters,
// InNetnsCmd runs a program there, InNetns runs Go code on a thread inside
// a namespace (sockets made there stay there) and DialContext dials from
// one. Tests use addresses in reserved ranges only: 198.18.0.0/15 for
// links, 198.51.100.0/24, 203.0.113.0/24, 192.0.2.0/24 and 2001:db8::/32
// for what they announce.
//
// StartProcess runs a program, in a namespace or the host's, under the
// lab's control: its output goes to Dir/logs/<name>.log, it gets SIGKILL if
// the lab's process dies (Pdeathsig; the kernel clears it when a program
// changes its user, as FRR's daemons do when they drop to frr: those the
// next lab's sweep kills, by the record), and Close stops it (SIGTERM,
// SIGKILL after DefaultGrace), layer by layer (ProcessSpec.Layer).
//
// NewFRR prepares an FRR router in a namespace; FRR.Start writes a
// daemon's configuration (zebra, bgpd, bfdd, staticd) and runs it in the
// foreground as the frr user, with pid file, vty socket and log in the
// router's directory. FRR.Vtysh, JSON and Configure talk to it through
// vtysh; View, Sessions, Paths, KernelRoutes and BFDPeers read what it
// knows into Go values; Restart restarts a daemon, Kill kills one by its
// pid file.
//
// NewBIRD prepares a BIRD 2 router in a namespace instead: BIRD.Start
// writes bird.conf and runs bird in the foreground, with control socket
// and pid file in the router's directory; Birdc and Configure talk to it
// through birdc; Sessions, Paths, View, KernelRoutes and BFDPeers parse
// birdc's text into the same types as FRR's (BIRD has no JSON);
// BIRDBFDProtocol renders the bfd protocol of a lab BIRD (speaker/bgp's
// and test/lab's). Router is what both routers answer, for tests that run
// against either;
// ReadKernelRoutes is the one kernel-route reader (proto bgp for FRR,
// proto bird for BIRD).
//
// # Cleanliness
//
// Every name a run makes starts with its prefix: "pyl" and six hex digits
// for a lab that holds the machine's lab lock (Options.Lock: test/lab,
// whose host link and addresses exist once per machine, so one such lab
// runs at a time, waiters in turn; the kernel drops the lock if its holder
// dies), "pyn" for a network-only lab, which keeps everything inside its
// own namespaces and runs beside any other. A lab writes its record (its
// owner process, directory and processes, each PID with its start time)
// before it makes a namespace. A starting lab removes what dead runs left:
// with the lock, every other locked run and every network-only run whose
// owner is gone; without it, only network-only runs whose owner is gone.
// It kills their recorded processes (PID and start time must match), any
// process whose command line names a dead run's directory and any process
// inside their namespaces, deletes the namespaces (and, with the lock, host
// links) and calls Options.CleanDir. A namespace of the family without a
// record is a dead run's. Close stops the processes, runs what AfterStop
// registered, deletes the namespaces and host links, the record and Dir;
// Start keeps Dir after a failed test and logs its path. Status and Down
// report and remove leftovers by hand (cmd/pylonlab).
//
// # Imports
//
// This package is for tests and cmd/pylonlab only; pylon's components must
// not import it. It may import the standard library, golang.org/x/sys and,
// of pylon's, test/poll (the one poller, over apimachinery's wait) and
// test/procfs (the one /proc reader); no Kubernetes client or API types and
// not the testing package: Start takes a TB, which *testing.T satisfies. It needs Linux, root,
// iproute2 and procps; a router needs frr or bird2.
package netlab
