#!/bin/sh
# SPDX-License-Identifier: ISC
# Build every libFuzzer harness in fuzz/ (fuzz_*.c) into fuzz/build/ and run
# each for its share of SECONDS_TOTAL (default 60) on a copy of its seed
# corpus (fuzz/corpus/NAME/), so the seeds in git stay as they are.
# Exits non-zero if a harness does not build, or if a run ends in a crash,
# a sanitizer report, a leak, a timeout or a broken contract (the
# reproducer is left in fuzz/build/artifacts/). Prints the number of
# executions per harness.
#
# usage: fuzz/run.sh [SECONDS_TOTAL [NAME...]]
# NAME (e.g. http_reply) runs only those harnesses, the time shared among them.
# environment: FUZZ_CC (default clang), FUZZ_FLAGS (extra compiler flags).
set -eu

total=${1:-60}
case $total in
'' | *[!0-9]*)
	echo "usage: fuzz/run.sh [SECONDS_TOTAL [NAME...]]" >&2
	exit 2
	;;
esac
[ $# -gt 0 ] && shift

cd "$(dirname "$0")"
cc=${FUZZ_CC:-clang}
build=build
flags="-g -O1 -std=c11 -D_GNU_SOURCE -fno-omit-frame-pointer
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
    ${FUZZ_FLAGS:-}"

# The sources each harness links besides itself.
sources() {
	case $1 in
	# scan.c probes through proxies too (scan_proxied); proxy.c asks
	# for UDP associations (socks5udp.c).
	parse_port_list)
		echo "../scan.c ../proxy.c ../socks5udp.c ../connect.c ../util.c ../loop.c" ;;
	socks4_reply | socks5_reply | http_reply | proxy_url)
		echo "../proxy.c ../socks5udp.c ../connect.c ../util.c ../loop.c" ;;
	# The parsers alone: tls.c built without HAVE_TLS needs no OpenSSL.
	tls_pin | tls_alpn) echo "../tls.c ../util.c ../loop.c" ;;
	proxyd_*) echo "../proxyd.c ../util.c ../loop.c" ;;
	socks5_udp) echo "../socks5udp.c ../util.c ../loop.c" ;;
	sources) echo "../sources.c" ;;
	proxyhdr_parse) echo "../proxyhdr.c" ;;
	*) echo "../util.c ../loop.c" ;;
	esac
}

rm -rf "$build/corpus" "$build/artifacts" "$build/log"
mkdir -p "$build/corpus" "$build/artifacts" "$build/log"

names=
for src in fuzz_*.c; do
	name=${src#fuzz_}
	names="$names ${name%.c}"
done
if [ $# -gt 0 ]; then
	for name; do
		if [ ! -f "fuzz_$name.c" ]; then
			echo "fuzz/run.sh: no harness fuzz/fuzz_$name.c" >&2
			exit 2
		fi
	done
	names=$*
fi
# shellcheck disable=SC2086 # word splitting of the names is intended
set -- $names
share=$((total / $#))
[ "$share" -ge 1 ] || share=1

failed=0
for name; do
	# shellcheck disable=SC2046,SC2086 # flags and sources are word lists
	if ! "$cc" $flags -o "$build/$name" "fuzz_$name.c" $(sources "$name") \
	    >"$build/log/$name.build" 2>&1; then
		echo "$name: BUILD FAILED" >&2
		cat "$build/log/$name.build" >&2
		failed=1
		continue
	fi
	mkdir -p "$build/corpus/$name"
	if [ -d "corpus/$name" ]; then
		cp corpus/"$name"/* "$build/corpus/$name/" 2>/dev/null || true
	fi
	status=0
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	    "$build/$name" -max_total_time="$share" -timeout=10 \
	    -print_final_stats=1 -artifact_prefix="$build/artifacts/$name-" \
	    "$build/corpus/$name" >"$build/log/$name.log" 2>&1 || status=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
	    "$build/log/$name.log" | tail -n 1)
	if [ -z "$execs" ]; then
		execs=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]]*DONE.*/\1/p' \
		    "$build/log/$name.log" | tail -n 1)
	fi
	if [ "$status" -ne 0 ]; then
		echo "$name: FAILED (status $status) after ${execs:-?} executions;" \
		    "log: fuzz/$build/log/$name.log" >&2
		grep -E 'ERROR|contract violated|runtime error|SUMMARY' \
		    "$build/log/$name.log" | head -n 20 >&2 || true
		for f in "$build/artifacts/$name-"*; do
			[ -e "$f" ] && echo "reproduce: fuzz/$build/$name fuzz/$f" >&2
		done
		failed=1
		continue
	fi
	printf '%-20s %12s executions in %s s\n' "$name" "${execs:-?}" "$share"
done
exit "$failed"
