#!/bin/sh
# SPDX-License-Identifier: ISC
# Grow the seed corpora kept in git: run each named harness for SECONDS on a
# copy of fuzz/corpus/NAME (through fuzz/run.sh, so the build, the sanitizers
# and the failure report are the same as for `make fuzz`), then merge the
# inputs it found back into fuzz/corpus/NAME with libFuzzer's -merge=1, which
# adds only the inputs that reach new coverage, named by their content hash.
# The harnesses run one after another, so one core is enough; run it under
# `nice -n 19` on a shared machine. Stops at the first failure, leaving the
# corpus as it was and the reproducer in fuzz/build/artifacts/ (keep it in
# the corpus once the bug is fixed). Commit the new corpus files.
#
# usage: fuzz/grow.sh SECONDS NAME...
# e.g.   nice -n 19 fuzz/grow.sh 600 http_reply telnet
set -eu

usage() {
	echo "usage: fuzz/grow.sh SECONDS NAME..." >&2
	exit 2
}

[ $# -ge 2 ] || usage
seconds=$1
case $seconds in
'' | *[!0-9]*) usage ;;
esac
shift

cd "$(dirname "$0")"

# The number of files in a corpus folder.
count() {
	find "$1" -type f | wc -l | tr -d ' '
}

for name; do
	mkdir -p "corpus/$name"
	before=$(count "corpus/$name")
	./run.sh "$seconds" "$name"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	    "build/$name" -merge=1 -timeout=10 "corpus/$name" \
	    "build/corpus/$name" >"build/log/$name.merge" 2>&1 || {
		echo "$name: MERGE FAILED; log: fuzz/build/log/$name.merge" >&2
		exit 1
	}
	printf '%-20s corpus %s -> %s files\n' "$name" "$before" \
	    "$(count "corpus/$name")"
done
