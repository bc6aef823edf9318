#!/bin/bash
# Namespace testbed for sluice: client <-> edge <-> {blue, green}.
#
#   tools/testbed.sh up [--prefix P]     build it, print eval-able variables
#   tools/testbed.sh down --prefix P     tear it down (idempotent, quiet)
#   tools/testbed.sh dsr-vip --prefix P  make the backends own the VIPs
#
# Sourced, it defines testbed_up, testbed_down, testbed_dsr_vip and
# testbed_vars, so a test can `trap testbed_down EXIT INT TERM`.
#
#   client e0 198.18.0.2   fd00:0::2   --- c0 198.18.0.1 fd00:0::1  edge
#   blue   e0 198.18.1.10,.11 fd00:1::10,::11 --- b0 198.18.1.1 fd00:1::1
#   green  e0 198.18.2.10,.11 fd00:2::10,::11 --- g0 198.18.2.1 fd00:2::1
#
# VIPs (198.18.100.0/24, fd00:100::/64) are on no interface: the client
# sends them to the edge by its default route, where the XDP program
# (when loaded) takes them. Extra client sources come from 198.18.64.0/18
# and fd00:64::/48, which the edge routes back to the client.
#
# Namespaces are entered with nsenter, not `ip netns exec`: the latter
# remounts /sys, which hides the bpffs the sluice tools pin to.

TESTBED_NETNS_DIR=/var/run/netns

# Names only, so a prefix can never smuggle options or paths into ip(8).
_tb_check_prefix() {
	case $1 in
	'' | *[!A-Za-z0-9_-]*)
		echo "testbed: bad prefix '$1' (letters, digits, _ and - only)" >&2
		return 2
		;;
	esac
	if [ ${#1} -gt 16 ]; then
		echo "testbed: prefix '$1' is longer than 16 characters" >&2
		return 2
	fi
}

_tb_in() {
	local ns=$1
	shift
	nsenter --net="$TESTBED_NETNS_DIR/$ns" "$@"
}

_tb_set_names() {
	P=$1
	NS_CLIENT=${P}client
	NS_EDGE=${P}edge
	NS_BLUE=${P}blue
	NS_GREEN=${P}green
}

# One veth pair between two namespaces: both ends get two queues (so
# XDP redirect has a queue per CPU), tx checksum offload off (a partial
# checksum is not completed across XDP_REDIRECT) and GRO on (a veth that
# XDP redirects into drops frames unless its peer has XDP or GRO).
_tb_veth() {
	local ns_a=$1 if_a=$2 ns_b=$3 if_b=$4
	ip -n "$ns_a" link add "$if_a" numtxqueues 2 numrxqueues 2 type veth \
		peer name "$if_b" netns "$ns_b" numtxqueues 2 numrxqueues 2 ||
		return 1
	_tb_in "$ns_a" ethtool -K "$if_a" tx off gro on >/dev/null || return 1
	_tb_in "$ns_b" ethtool -K "$if_b" tx off gro on >/dev/null || return 1
	ip -n "$ns_a" link set "$if_a" up && ip -n "$ns_b" link set "$if_b" up
}

_tb_sysctls() {
	local ns=$1
	shift
	_tb_in "$ns" sysctl -q -w \
		net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.dad_transmits=0 \
		net.ipv6.conf.default.dad_transmits=0 \
		"$@"
}

# A backend namespace (blue or green) on subnet index $2.
_tb_backend() {
	local ns=$1 n=$2 edge_if=$3
	_tb_sysctls "$ns" || return 1
	_tb_veth "$NS_EDGE" "$edge_if" "$ns" e0 || return 1
	ip -n "$NS_EDGE" addr add "198.18.$n.1/24" dev "$edge_if" &&
		ip -n "$NS_EDGE" addr add "fd00:$n::1/64" dev "$edge_if" nodad &&
		ip -n "$ns" addr add "198.18.$n.10/24" dev e0 &&
		ip -n "$ns" addr add "198.18.$n.11/24" dev e0 &&
		ip -n "$ns" addr add "fd00:$n::10/64" dev e0 nodad &&
		ip -n "$ns" addr add "fd00:$n::11/64" dev e0 nodad &&
		ip -n "$ns" route add default via "198.18.$n.1" &&
		ip -n "$ns" -6 route add default via "fd00:$n::1"
}

_tb_build() {
	local ns
	for ns in "$NS_CLIENT" "$NS_EDGE" "$NS_BLUE" "$NS_GREEN"; do
		ip netns add "$ns" || return 1
		ip -n "$ns" link set lo up || return 1
	done
	_tb_sysctls "$NS_EDGE" net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 || return 1
	_tb_sysctls "$NS_CLIENT" || return 1

	_tb_veth "$NS_EDGE" c0 "$NS_CLIENT" e0 || return 1
	ip -n "$NS_EDGE" addr add 198.18.0.1/24 dev c0 &&
		ip -n "$NS_EDGE" addr add fd00:0::1/64 dev c0 nodad &&
		ip -n "$NS_CLIENT" addr add 198.18.0.2/24 dev e0 &&
		ip -n "$NS_CLIENT" addr add fd00:0::2/64 dev e0 nodad &&
		ip -n "$NS_CLIENT" route add default via 198.18.0.1 &&
		ip -n "$NS_CLIENT" -6 route add default via fd00:0::1 &&
		ip -n "$NS_EDGE" route add 198.18.64.0/18 via 198.18.0.2 &&
		ip -n "$NS_EDGE" -6 route add fd00:64::/48 via fd00:0::2 ||
		return 1

	_tb_backend "$NS_BLUE" 1 b0 || return 1
	_tb_backend "$NS_GREEN" 2 g0 || return 1

	# Interfaces created after the "default" sysctl inherit rp_filter=0,
	# but set each one anyway: the kernel uses max(all, iface).
	local ifc
	for ifc in c0 b0 g0; do
		_tb_in "$NS_EDGE" sysctl -q -w "net.ipv4.conf.$ifc.rp_filter=0" ||
			return 1
	done
}

# testbed_up [--prefix P]: build the testbed and set its variables in the
# calling shell. On failure, whatever was built is torn down again.
# shellcheck disable=SC2034 # the variables are for the caller
testbed_up() {
	local prefix=""
	while [ $# -gt 0 ]; do
		case $1 in
		--prefix)
			[ $# -ge 2 ] || {
				echo "testbed: --prefix needs a value" >&2
				return 2
			}
			prefix=$2
			shift 2
			;;
		*)
			echo "testbed: unknown argument '$1'" >&2
			return 2
			;;
		esac
	done
	if [ -z "$prefix" ]; then
		# Unique per run; a stale testbed from a crashed run whose pid
		# came round again must not be reused, so probe for it.
		prefix="sl$$-"
		while [ -e "$TESTBED_NETNS_DIR/${prefix}edge" ]; do
			prefix="sl$$$((RANDOM % 100))-"
		done
	fi
	_tb_check_prefix "$prefix" || return
	if [ -e "$TESTBED_NETNS_DIR/${prefix}edge" ] ||
		[ -e "$TESTBED_NETNS_DIR/${prefix}client" ]; then
		echo "testbed: prefix '$prefix' is already in use" >&2
		return 1
	fi
	_tb_set_names "$prefix"
	EDGE_IFS="c0 b0 g0"
	EDGE_CLIENT_IF=c0
	EDGE_BLUE_IF=b0
	EDGE_GREEN_IF=g0
	CLIENT_IF=e0
	VIP4=198.18.100.10
	VIP6=fd00:100::10
	EDGE4=198.18.0.1
	EDGE6=fd00::1
	CLIENT4=198.18.0.2
	CLIENT6=fd00::2
	CLIENT_BASE4=198.18.64.1
	CLIENT_BASE6=fd00:64::1
	BLUE4=198.18.1.10
	BLUE4B=198.18.1.11
	BLUE6=fd00:1::10
	BLUE6B=fd00:1::11
	GREEN4=198.18.2.10
	GREEN4B=198.18.2.11
	GREEN6=fd00:2::10
	GREEN6B=fd00:2::11
	if ! _tb_build; then
		echo "testbed: setup failed, tearing down '$prefix'" >&2
		testbed_down --prefix "$prefix"
		return 1
	fi
}

# testbed_vars: print the variables testbed_up set, eval-able.
testbed_vars() {
	local v
	for v in P NS_CLIENT NS_EDGE NS_BLUE NS_GREEN EDGE_IFS EDGE_CLIENT_IF \
		EDGE_BLUE_IF EDGE_GREEN_IF CLIENT_IF VIP4 VIP6 EDGE4 EDGE6 \
		CLIENT4 CLIENT6 CLIENT_BASE4 CLIENT_BASE6 BLUE4 BLUE4B BLUE6 \
		BLUE6B GREEN4 GREEN4B GREEN6 GREEN6B; do
		printf '%s=%q\n' "$v" "${!v}"
	done
}

# testbed_down [--prefix P]: kill whatever runs inside the testbed's
# namespaces, then delete them (which deletes the veths). Processes must
# go first: a namespace outlives `ip netns del` while a process holds it,
# and its veths with it. Quiet and successful when already gone.
testbed_down() {
	local prefix=${P:-}
	if [ "${1:-}" = --prefix ]; then
		prefix=${2:-}
	fi
	[ -n "$prefix" ] || return 0
	_tb_check_prefix "$prefix" || return
	local ns pids=""
	local all="${prefix}client ${prefix}edge ${prefix}blue ${prefix}green"
	for ns in $all; do
		[ -e "$TESTBED_NETNS_DIR/$ns" ] || continue
		pids="$pids $(ip netns pids "$ns" 2>/dev/null)"
	done
	if [ -n "${pids// /}" ]; then
		# shellcheck disable=SC2086 # a list of pids
		kill -TERM $pids 2>/dev/null
		for _ in $(seq 20); do
			# shellcheck disable=SC2086
			kill -0 $pids 2>/dev/null || break
			sleep 0.1
		done
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null
	fi
	for ns in $all; do
		[ -e "$TESTBED_NETNS_DIR/$ns" ] || continue
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

# testbed_dsr_vip [--prefix P]: put the VIPs on lo in blue and green, so
# backends accept what a MAC-rewriting (dsr) edge hands them and answer
# from the VIP directly.
testbed_dsr_vip() {
	local prefix=${P:-}
	if [ "${1:-}" = --prefix ]; then
		prefix=${2:-}
	fi
	_tb_check_prefix "$prefix" || return
	local ns
	for ns in "${prefix}blue" "${prefix}green"; do
		[ -e "$TESTBED_NETNS_DIR/$ns" ] || {
			echo "testbed: no namespace '$ns'" >&2
			return 1
		}
		ip -n "$ns" addr replace 198.18.100.10/32 dev lo &&
			ip -n "$ns" addr replace fd00:100::10/128 dev lo nodad ||
			return 1
	done
}

_tb_main() {
	local cmd=${1:-}
	[ $# -gt 0 ] && shift
	case $cmd in
	up)
		testbed_up "$@" || exit
		testbed_vars
		;;
	down)
		if [ "${1:-}" != --prefix ] || [ -z "${2:-}" ]; then
			echo "usage: $0 down --prefix P" >&2
			exit 2
		fi
		testbed_down "$@" || exit
		;;
	dsr-vip)
		if [ "${1:-}" != --prefix ] || [ -z "${2:-}" ]; then
			echo "usage: $0 dsr-vip --prefix P" >&2
			exit 2
		fi
		testbed_dsr_vip "$@" || exit
		;;
	*)
		echo "usage: $0 up [--prefix P] | down --prefix P |" \
			"dsr-vip --prefix P" >&2
		exit 2
		;;
	esac
}

# Run as a command only when executed, not when sourced.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	_tb_main "$@"
fi
