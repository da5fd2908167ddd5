#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Chaos: SPEC.md "The relay" rules 1-4 against a hostile peer. test/chaos.py
# is a scripted peer that delivers its stream in random-sized pieces from
# 1 byte up, with random pauses, reads sock's stream the same way, and
# ends with a FIN, a half-close at a random point, or a reset after a
# random byte count. The soak runs many such scenarios, 8 at a time, across
# connect and listen, TCP and Unix, the splice and the read/write paths
# (SOCK_NOSPLICE=1), files and pipes on stdin and stdout, and -k; every one
# must keep the invariant: sock exits 0 and every byte arrived in order
# both ways, or it exits non-zero with a "sock: " message (chaos.py's
# docstring has the exact checks).
#
# Besides sock alone (plain, about 8 in 17 scenarios), three variants
# where bugs have lived, about 3 in 17 each: -w 2, with a fourth ending,
# a peer that stalls without closing (exit 3 with "idle timeout" and every
# byte it sent on stdout); --forward, the peer and sock on either side of
# a "sock -l --forward" (which is held to the same invariant); and --tls,
# sock --tls through "sock -l --tls --forward" to the peer.
#
# The soak runs every one of its scenarios: it fails when they do not all
# start within SOCK_SOAK_SECONDS (default 120 s, the limit, not a budget to
# pass with fewer). Its count is sized to take under half of that where CI
# runs it: 400 scenarios take about 15 s on two cores with nothing else
# running, and 40 s against the sanitizer build (make sanitize), where
# CI runs another suite beside it.
#
# Every scenario derives from one seed, printed in the soak's name:
#   SOCK_CHAOS_SEED=N test/run test/chaos.bats      the same soak again
#   SOCK_CHAOS_ONE=SEED test/run test/chaos.bats    one failed scenario
#   SOCK_SOAK_SCENARIOS=N                           how many (default 400)
#   SOCK_SOAK_SECONDS=S                             limit (default 120 s)
# Against the sanitizer build (make sanitize) the soak is run as it is: its
# scenarios are small.
#
# Each @test body runs in a subshell (SC2030/SC2031); run sets status and
# output.
# shellcheck disable=SC2030,SC2031

load helper
bats_require_minimum_version 1.5.0

# Sourced once per test: a seed from the hour, not from the second, so
# that the name and the run agree.
CHAOS_SEED=${SOCK_CHAOS_SEED:-$(date -u +%Y%m%d%H)}
CHAOS_COUNT=${SOCK_SOAK_SCENARIOS:-400}
CHAOS_PY=$BATS_TEST_DIRNAME/chaos.py
CHAOS_KINDS="plain, -w, --forward, --tls"
if "$SOCK" --tls --tls-insecure 127.0.0.1 1 </dev/null 2>&1 |
    grep -q 'built without TLS'; then
	CHAOS_KINDS="plain, -w, --forward; no TLS in this build"
fi

# chaos_tls: the chaos.py option for a sock built without TLS (no tls
# scenarios then; every CI build has TLS).
chaos_tls() {
	if [[ $CHAOS_KINDS == *"no TLS"* ]]; then
		echo "sock has no TLS: the soak leaves out its tls scenarios" >&2
		echo --no-tls
	fi
}

# Scenarios kept as fixed cases. Each is a seed of chaos.py; the list says
# what it once caught.
#   4        a "reset" on a Unix socket is a plain close (Unix sockets have
#            no reset): sock rightly exits 0 with every byte (the checker
#            once called that a failure)
#   9        -k whose client goes before stdin is read keeps serving, as
#            designed, and says why (the checker once called it a hang)
#   100026, 100047, 100053, 100061
#            streams through a pipe on stdout (the checker once read the
#            output before the cat behind the pipe had written it)
# They are run as plain scenarios, what they were before the variants.
REGRESSION_SEEDS=(4 9 100026 100047 100053 100061)

@test "chaos soak, seed $CHAOS_SEED: $CHAOS_COUNT scenarios ($CHAOS_KINDS), all run, each exit 0 with every byte or 1 or 3 with a message" {
	local tls
	need python3
	need openssl
	tls=$(chaos_tls)
	if [ -n "${SOCK_CHAOS_ONE:-}" ]; then
		# shellcheck disable=SC2086 # empty or one word
		run -0 python3 "$CHAOS_PY" run "$SOCK_CHAOS_ONE" "$T/one" --sock "$SOCK" $tls
		echo "$output"
		return
	fi
	# shellcheck disable=SC2086 # empty or one word
	run python3 "$CHAOS_PY" soak --seed "$CHAOS_SEED" --count "$CHAOS_COUNT" \
	    --jobs 8 --sock "$SOCK" --dir "$T/soak" \
	    --max-seconds "${SOCK_SOAK_SECONDS:-120}" $tls
	echo "$output"
	echo "replay: SOCK_CHAOS_SEED=$CHAOS_SEED test/run test/chaos.bats"
	[ "$status" -eq 0 ]
}

@test "chaos regression cases (fixed seeds) keep the invariant" {
	local seed
	need python3
	for seed in "${REGRESSION_SEEDS[@]}"; do
		run -0 python3 "$CHAOS_PY" run "$seed" "$T/r$seed" --sock "$SOCK" \
		    --variant plain
		echo "$output"
	done
}

@test "the chaos peer alone: a sock client gets its 1-byte pieces and its reset, exit 1 with a message" {
	local seed
	need python3
	# The first seed whose scenario is a TCP reset after the peer has sent
	# something, in pieces of at most 7 bytes.
	seed=$(python3 "$CHAOS_PY" describe 1 --count 2000 |
	    grep -E 'family=tcp .*end=reset cut=[1-9][0-9]* send_piece=(1|7) .*reset_on=sent' |
	    awk 'NR == 1 { print $1 }')
	[ -n "$seed" ]
	rm -f "$T/peer.sent"
	bg python3 "$CHAOS_PY" peer listen "$seed" "$T"
	wait_for 5 test -s "$T/port"
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -1 --separate-stderr timeout 20 sh -c 'exec "$0" 127.0.0.1 "$1" \
	    </dev/null >"$2"' "$SOCK" "$(cat "$T/port")" "$T/out"
	wait_for 5 test -s "$T/peer.verdict"
	echo "sock: $stderr; $(wc -c <"$T/out") bytes of $(wc -c <"$T/peer.sent")" >&2
	[ -s "$T/out" ]
	[[ $stderr == *"sock: read from 127.0.0.1 port "*": Connection reset by peer"* ]]
	# What arrived is what the peer sent, up to the reset.
	cmp "$T/out" <(head -c "$(wc -c <"$T/out")" "$T/peer.sent")
}
