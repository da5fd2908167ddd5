#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# The build explains itself: without a C11 compiler or OpenSSL's
# development files, make stops before compiling anything and says what to
# do (in a scratch copy of the sources, so the tree under test is left
# alone); and the sources say their licence.

bats_require_minimum_version 1.5.0

load helper

# The sources make needs, copied into $T/src.
copy_sources() {
	local top=$BATS_TEST_DIRNAME/..
	mkdir -p "$T/src"
	cp "$top"/*.c "$top"/*.h "$top/Makefile" "$top/VERSION" "$T/src/"
}

@test "make without OpenSSL's pkg-config file stops before compiling with both answers" {
	need make
	copy_sources
	mkdir "$T/empty"
	cd "$T/src"
	run -2 --separate-stderr env PKG_CONFIG_LIBDIR="$T/empty" \
	    PKG_CONFIG_PATH="$T/empty" timeout 60 make TLS=yes
	[[ "$stderr" == *"apt-get install libssl-dev pkg-config"* ]]
	[[ "$stderr" == *"make TLS=no"* ]]
	# One message, not one per object: the two lines of it and make's.
	[ "$(grep -c '^sock: ' <<<"$stderr")" -eq 2 ]
	[[ "$stderr" != *"undefined reference"* ]]
	run -0 find . -name '*.o' -o -name sock -o -name '.check-tls-*'
	[ -z "$output" ]
}

@test "make without pkg-config itself gives the same message" {
	need make
	copy_sources
	# A PATH with make and a shell but no pkg-config.
	mkdir "$T/bin"
	local p
	for p in make sh cat touch; do
		ln -s "$(command -v "$p")" "$T/bin/$p"
	done
	cd "$T/src"
	run -2 --separate-stderr timeout 60 env PATH="$T/bin" make TLS=yes
	[[ "$stderr" == *"apt-get install libssl-dev pkg-config"* ]]
	[[ "$stderr" == *"make TLS=no"* ]]
	run -0 find . -name '*.o' -o -name sock
	[ -z "$output" ]
}

@test "the licence is ISC: LICENSE says it and every source file carries its SPDX line" {
	local top=$BATS_TEST_DIRNAME/.. f missing=()
	# The ISC licence's grant and disclaimer, as OpenBSD's netcat has them.
	grep -q '^Permission to use, copy, modify, and distribute this software for any$' "$top/LICENSE"
	grep -q 'THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES' "$top/LICENSE"
	while IFS= read -r f; do
		head -n 3 "$f" | grep -q 'SPDX-License-Identifier: ISC' ||
		    missing+=("$f")
	done < <(cd "$top" && find . -path ./fuzz/corpus -prune -o -path ./.bats -prune \
	    -o -path ./fuzz/build -prune -o -type f \( -name '*.c' -o -name '*.h' \
	    -o -name '*.bats' -o -name '*.bash' -o -name '*.py' -o -name '*.sh' \
	    -o -name '*.fish' -o -name '_sock' -o -name '*.1' -o -name Makefile \) -print)
	[ "${#missing[@]}" -eq 0 ] || { printf 'no SPDX line: %s\n' "${missing[@]}" >&2; return 1; }
}

@test "make with a compiler that is missing stops before compiling and says what to do" {
	need make
	copy_sources
	cd "$T/src"
	run -2 --separate-stderr timeout 60 make TLS=no CC="$T/no-such-cc"
	[[ "$stderr" == *"sock: the C compiler \"$T/no-such-cc\" is missing or cannot build C11;"* ]]
	[[ "$stderr" == *"apt-get install build-essential"* ]]
	[[ "$stderr" == *"make CC=clang"* ]]
	run -0 find . -name '*.o' -o -name sock
	[ -z "$output" ]
}
