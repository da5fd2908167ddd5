# SPDX-License-Identifier: ISC
# Network namespaces for test/netloss.bats: two namespaces of the test's
# own, joined by a veth pair, with iptables rules that drop or reset a
# share of their packets. Loaded after helper.bash.
#
#   NS_A 10.231.0.1 <-- veth --> 10.231.0.2 NS_B
#
# Only these private addresses, inside namespaces created here and deleted
# in teardown_file, are ever used. Each side's route has rto_min 10ms, so a
# lost segment is sent again within milliseconds rather than 200 ms (the
# loss is real, the waiting is not what is tested), and gso_max_segs 1, so
# iptables sees (and drops) single segments, not 64 kB GSO bursts: a veth
# that refuses it fails the setup (a 20 % loss of bursts would be another
# test). Each test asserts from the rules' counters (dropped) that its
# packets were lost.

NS_A_ADDR=10.231.0.1
NS_B_ADDR=10.231.0.2

# netns_reason: why namespaces cannot be made here (empty when they can).
netns_reason() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "needs root for network namespaces"
	elif ! command -v ip >/dev/null || ! command -v iptables >/dev/null; then
		echo "needs ip (iproute2) and iptables"
	elif ! ip netns add "sock-probe-$$" 2>/dev/null; then
		echo "ip netns add fails here"
	else
		ip netns del "sock-probe-$$"
	fi
}

# netns_up: create NS_A and NS_B (names unique to this run) and the veth
# pair; exported for the tests. Fails if anything fails.
netns_up() {
	export NS_A="sockA-$$" NS_B="sockB-$$"
	local va="skA$$" vb="skB$$"
	ip netns add "$NS_A"
	ip netns add "$NS_B"
	ip link add "$va" netns "$NS_A" type veth peer name "$vb" netns "$NS_B"
	ip -n "$NS_A" addr add "$NS_A_ADDR/24" dev "$va"
	ip -n "$NS_B" addr add "$NS_B_ADDR/24" dev "$vb"
	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
	gso_one "$NS_A" "$va" || return 1
	gso_one "$NS_B" "$vb" || return 1
	ip -n "$NS_A" link set "$va" up
	ip -n "$NS_B" link set "$vb" up
	ip -n "$NS_A" route replace 10.231.0.0/24 dev "$va" rto_min 10ms
	ip -n "$NS_B" route replace 10.231.0.0/24 dev "$vb" rto_min 10ms
}

# gso_one NS DEV: DEV in NS sends single segments (gso_max_segs 1), or
# fail: the setting must be set and read back.
gso_one() {
	if ! ip -n "$1" link set "$2" gso_max_segs 1; then
		echo "netns: ip link set $2 gso_max_segs 1 failed" >&2
		return 1
	fi
	if ! ip -d -n "$1" link show "$2" | grep -q ' gso_max_segs 1 '; then
		echo "netns: $2 does not report gso_max_segs 1" >&2
		return 1
	fi
}

# netns_down: delete both namespaces (and with them the veth pair).
netns_down() {
	[ -n "${NS_A:-}" ] && ip netns del "$NS_A" 2>/dev/null
	[ -n "${NS_B:-}" ] && ip netns del "$NS_B" 2>/dev/null
	true
}

# need_netns: skip the test (fail in CI) when netns_up could not run.
need_netns() {
	if [ -n "${NETNS_SKIP:-}" ]; then
		if [ "${CI:-}" = true ]; then
			echo "CI must run the network-namespace tests: $NETNS_SKIP" >&2
			return 1
		fi
		skip "$NETNS_SKIP"
	fi
}

# in_ns NS CMD...: run CMD inside NS (ip netns exec execs CMD, so a
# background one's PID is CMD's own).
in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# drop NS PERCENT [MATCH...]: drop PERCENT % of the packets that arrive in
# NS (and match MATCH, iptables match options), at random.
drop() {
	local ns=$1 p=$2
	shift 2
	in_ns "$ns" iptables -w -A INPUT "$@" -m statistic --mode random \
	    --probability "$(awk -v p="$p" 'BEGIN { printf "%.4f", p / 100 }')" -j DROP
}

# drop_every NS N [MATCH...]: drop every Nth packet that arrives in NS
# and matches MATCH (the Nth, the 2Nth, ...): a loss rate of exactly 1/N
# that small flows (a few dozen packets) cannot escape by chance, and
# never two of the matched packets in a row.
drop_every() {
	local ns=$1 n=$2
	shift 2
	in_ns "$ns" iptables -w -A INPUT "$@" -m statistic --mode nth \
	    --every "$n" --packet "$((n - 1))" -j DROP
}

# cut_tcp NS: answer every TCP segment that arrives in NS with a reset, so
# that a connection through it is cut at once.
cut_tcp() {
	in_ns "$1" iptables -w -A INPUT -p tcp -j REJECT --reject-with tcp-reset
}

# dropped NS: how many packets the rules in NS have dropped or rejected.
dropped() {
	in_ns "$1" iptables -w -L INPUT -v -n -x | awk 'NR > 2 { n += $1 } END { print n + 0 }'
}

# counters_zero: set the rules' counters in both namespaces to 0.
counters_zero() {
	in_ns "$NS_A" iptables -w -Z INPUT
	in_ns "$NS_B" iptables -w -Z INPUT
}

# lost_at_least MIN [EACH]: the rules of both namespaces together have
# dropped (or rejected) at least MIN packets since the last counters_zero,
# and those of each namespace at least EACH; says how many, for the
# test's log.
lost_at_least() {
	local a b each=${2:-0}
	a=$(dropped "$NS_A")
	b=$(dropped "$NS_B")
	echo "dropped or reset by the rules: $a packets in A, $b in B" \
	    "(at least $1 wanted, $each in each)" >&2
	[ $((a + b)) -ge "$1" ] && [ "$a" -ge "$each" ] && [ "$b" -ge "$each" ]
}

# rules_clear: remove every rule from both namespaces.
rules_clear() {
	in_ns "$NS_A" iptables -w -F INPUT 2>/dev/null || true
	in_ns "$NS_B" iptables -w -F INPUT 2>/dev/null || true
}
