#!/usr/bin/env bash
# install-deps.sh installs, with apt-get, what a fresh Debian or Ubuntu
# machine lacks to build pylon and to run its network lab (test/lab): make,
# git, flock, iproute2, nftables, procps, arping, ndisc6, FRR and BIRD 2
# (bird2), and for the lab's node stack (hack/node-assets.sh) gcc and
# libseccomp-dev (runc's build), the CNI plugins
# (containernetworking-plugins, in /usr/lib/cni),
# conntrack (kube-proxy flushes conntrack entries with it) and iptables
# (kube-proxy in iptables mode, a variant the suite runs). It installs
# only what is missing, so on a prepared machine it does nothing. `.ci/run`
# and `make demo` call it. Go itself is not installed here: pylon needs Go
# 1.26 (see README.md).
#
# Installing needs root; run without root and with something missing, it
# names what is missing and exits non-zero.
set -euo pipefail

missing=()
command -v make >/dev/null || missing+=(make)
command -v git >/dev/null || missing+=(git)
command -v flock >/dev/null || missing+=(util-linux)
# The network lab (test/lab) behind the end-to-end tests and the demo.
command -v ip >/dev/null || missing+=(iproute2)
command -v nft >/dev/null || missing+=(nftables)
command -v sysctl >/dev/null || missing+=(procps)
command -v arping >/dev/null || missing+=(arping)
command -v ndisc6 >/dev/null || missing+=(ndisc6)
# The lab's node stack: runc is built with cgo and seccomp; the kubelet's pods
# are wired by the CNI plugins; kube-proxy calls conntrack, and in iptables
# mode iptables-restore (Debian's iptables, nf_tables backend; in /usr/sbin,
# which a non-root PATH may lack).
command -v gcc >/dev/null || missing+=(gcc)
[[ -f /usr/include/seccomp.h ]] || missing+=(libseccomp-dev)
(for p in bridge host-local loopback portmap; do [[ -x /usr/lib/cni/$p ]] || exit 1; done) || missing+=(containernetworking-plugins)
command -v conntrack >/dev/null || missing+=(conntrack)
{ command -v iptables-restore || [[ -x /usr/sbin/iptables-restore ]]; } >/dev/null || missing+=(iptables)
{ [[ -x /usr/lib/frr/bgpd && -x /usr/lib/frr/zebra ]] && command -v vtysh >/dev/null; } || missing+=(frr)
# The other lab router: BIRD 2 (bird and birdc, in /usr/sbin).
{ [[ -x /usr/sbin/bird && -x /usr/sbin/birdc ]] || command -v birdc >/dev/null; } || missing+=(bird2)

if ((${#missing[@]} == 0)); then
	exit 0
fi
if [[ $(id -u) != 0 ]]; then
	echo "install-deps.sh: missing ${missing[*]}; installing needs root: sudo $0" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null; then
	echo "install-deps.sh: missing ${missing[*]}, and there is no apt-get here: install them with your package manager" >&2
	exit 1
fi
echo "install-deps.sh: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
