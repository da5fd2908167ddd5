#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# shellcheck disable=SC2153,SC2154
# SC2153/SC2154: T and SOCK come from helper.bash (loaded by bats' load,
# which shellcheck cannot follow); stderr and stderr_lines from bats' run
# --separate-stderr.
# The option table: sock.c's options[] and rules[], read from the source
# between the "BEGIN OPTION TABLE" and "END OPTION TABLE" markers, so that
# these tests follow the table as it grows. Every rule holds, its message
# naming the options as they were typed; --help, man/sock.1, the table
# and the completions in completions/ name exactly the same options; and
# man/sock.1's CONFLICTS table states every rule, each pair once.

load helper
bats_require_minimum_version 1.5.0

SRC=$BATS_TEST_DIRNAME/..

# unquote WORD: UNQUOTED becomes a C string literal's text; NULL is empty.
# (A variable, not output: a subshell per field makes reading slow.)
unquote() {
	local w=$1
	[ "$w" = NULL ] && w=
	w=${w#\"}
	UNQUOTED=${w%\"}
}

# id_list TEXT: IDLIST becomes the OPT_ ids in a C initializer list
# ("{ 0 }" is none), space-separated.
id_list() {
	local w out=()
	for w in ${1//,/ }; do
		case $w in
		OPT_NONE | 0) ;;
		*) out+=("$w") ;;
		esac
	done
	IDLIST=${out[*]}
}

# read_table: from sock.c, fill SHORT, LONG, HASARG and VALUE (by id), IDS
# (in order), and RULE_OPT, RULE_REQ, RULE_EXC, RULE_WHY (by rule, in
# order; REQ and EXC are space-separated ids).
read_table() {
	# bats runs a DEBUG trap before every command, in functions too; the
	# loops over the table run tens of thousands of them, 10x slower
	# with it. A failure still ends the test by its status (set -e).
	trap - DEBUG
	set +T
	local line id rows re_opt re_rule sp='[[:space:]]*' str='(NULL|"[^"]*")'
	local cache=$BATS_FILE_TMPDIR/option-table
	# Read once per file: every test wants it.
	if [ -s "$cache" ]; then
		# shellcheck disable=SC1090
		source "$cache"
		return
	fi
	declare -gA SHORT=() LONG=() HASARG=() VALUE=()
	IDS=() RULE_OPT=() RULE_REQ=() RULE_EXC=() RULE_WHY=()
	re_opt="^$sp\\[(OPT_[A-Z0-9_]+)\\]$sp=$sp\\{$sp$str,$sp$str,$sp([a-z_]+),$sp$str$sp\\},"
	re_rule="^$sp\\{$sp(OPT_[A-Z0-9_]+),$sp\\{([^}]*)\\},$sp\\{([^}]*)\\},$sp$str$sp\\},"
	while IFS= read -r line; do
		if [[ $line =~ $re_opt ]]; then
			id=${BASH_REMATCH[1]}
			IDS+=("$id")
			unquote "${BASH_REMATCH[2]}"
			SHORT[$id]=$UNQUOTED
			unquote "${BASH_REMATCH[3]}"
			LONG[$id]=$UNQUOTED
			HASARG[$id]=${BASH_REMATCH[4]}
			unquote "${BASH_REMATCH[5]}"
			VALUE[$id]=$UNQUOTED
		elif [[ $line =~ $re_rule ]]; then
			RULE_OPT+=("${BASH_REMATCH[1]}")
			id_list "${BASH_REMATCH[2]}"
			RULE_REQ+=("$IDLIST")
			id_list "${BASH_REMATCH[3]}"
			RULE_EXC+=("$IDLIST")
			unquote "${BASH_REMATCH[4]}"
			RULE_WHY+=("$UNQUOTED")
		fi
	done < <(sed -n '/BEGIN OPTION TABLE/,/END OPTION TABLE/p' "$SRC/sock.c")
	# A table this test cannot read must fail it, not pass it empty or
	# short: every line that starts a row must have been read as one.
	rows=$(sed -n '/BEGIN OPTION TABLE/,/END OPTION TABLE/p' "$SRC/sock.c" |
	    grep -cE '^[[:space:]]*(\[OPT_|\{ *OPT_)')
	if [ "${#IDS[@]}" -lt 30 ] || [ "${#RULE_OPT[@]}" -lt 20 ] ||
	    [ "$rows" -ne $(( ${#IDS[@]} + ${#RULE_OPT[@]} )) ]; then
		echo "read ${#IDS[@]} options and ${#RULE_OPT[@]} rules of $rows rows in sock.c" >&2
		return 1
	fi
	declare -p SHORT LONG HASARG VALUE IDS RULE_OPT RULE_REQ RULE_EXC \
	    RULE_WHY | sed 's/^declare -\([aA]\)/declare -g\1/' >"$cache"
}

# spellings ID: the ways to type option ID, one a line.
spellings() {
	[ -z "${SHORT[$1]}" ] || printf '%s\n' "${SHORT[$1]}"
	[ -z "${LONG[$1]}" ] || printf '%s\n' "${LONG[$1]}"
}

# sample METAVAR: a valid value for an option whose value is METAVAR.
sample() {
	case $1 in
	secs) echo 1 ;;
	len) echo 1024 ;;
	ttl) echo 64 ;;
	port) echo 1 ;;
	n) echo 2 ;;
	addr | list) echo 127.0.0.1 ;;
	tos) echo lowdelay ;;
	file) echo /dev/null ;;
	command | 'prog args') echo cat ;;
	minttl) echo 1 ;;
	user) echo alice ;;
	count) echo 2 ;;
	4\|4a\|5\|connect) echo 5 ;;
	proxy) echo 127.0.0.1 ;;
	rate) echo 1M ;;
	target) echo 127.0.0.1:1 ;;
	fingerprint) printf 'SHA256'; printf ':%s' AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB AB; echo ;;
	name) echo localhost ;;
	1.2\|1.3) echo 1.2 ;;
	fd) echo 0 ;;
	*)
		echo "no sample value for \"$1\": add one to sample() in test/options.bats" >&2
		return 1
		;;
	esac
}

# add_arg ID SPELLING: append SPELLING, and a value if ID takes one, to ARGS.
declare -gA SAMPLES=()
add_arg() {
	local v=${VALUE[$1]}
	ARGS+=("$2")
	if [ "${HASARG[$1]}" = required_argument ]; then
		# Each value once: a subshell per argument makes the loops slow.
		if [ -z "${SAMPLES[$v]+set}" ]; then
			SAMPLES[$v]=$(sample "$v") || return 1
		fi
		ARGS+=("${SAMPLES[$v]}")
	fi
}

# with_requirements SKIP ID...: the ids plus, for each of them, the first
# option of every rule it must meet (transitively), except rule SKIP.
with_requirements() {
	local skip=$1 changed=1 r id req met
	shift
	HAVE=" $* "
	while [ -n "$changed" ]; do
		changed=
		for r in "${!RULE_OPT[@]}"; do
			if [ "$r" = "$skip" ] || [ -z "${RULE_REQ[r]}" ]; then
				continue
			fi
			[[ $HAVE == *" ${RULE_OPT[r]} "* ]] || continue
			met=
			for req in ${RULE_REQ[r]}; do
				[[ $HAVE == *" $req "* ]] && met=1
			done
			if [ -z "$met" ]; then
				id=${RULE_REQ[r]%% *}
				HAVE+="$id "
				changed=1
			fi
		done
	done
}

# first_rule A B: the first rule in which A excludes B or B excludes A.
first_rule() {
	local r
	for r in "${!RULE_OPT[@]}"; do
		if { [ "${RULE_OPT[r]}" = "$1" ] && [[ " ${RULE_EXC[r]} " == *" $2 "* ]]; } ||
		    { [ "${RULE_OPT[r]}" = "$2" ] && [[ " ${RULE_EXC[r]} " == *" $1 "* ]]; }; then
			echo "$r"
			return
		fi
	done
}

# excludes A B: some rule of A excludes B.
excludes() {
	local r
	for r in "${!RULE_OPT[@]}"; do
		[ "${RULE_OPT[r]}" = "$1" ] && [[ " ${RULE_EXC[r]} " == *" $2 "* ]] && return 0
	done
	return 1
}

# expect_usage EXPECTED: sock ARGS (with operands that are bad in every
# mode, so that a rule that does not hold still ends in a usage error,
# only another one) is a usage error whose first line is EXPECTED; else
# add the difference to FAILS.
expect_usage() {
	local st=0 l1='' l2=''
	# Not bats' run: this is called hundreds of times, and run costs more
	# than sock does.
	timeout 5 "$SOCK" "${ARGS[@]}" 127.0.0.1 70000 </dev/null >/dev/null \
	    2>"$T/usage.err" || st=$?
	{ read -r l1 && read -r l2; } <"$T/usage.err" || true
	if [ "$st" -ne 2 ] || [ "$l1" != "$1" ] ||
	    [ "$l2" != "sock: see 'sock --help' for usage" ]; then
		FAILS+=("sock ${ARGS[*]}: expected \"$1\", got status $st: $l1")
	fi
}

# report_fails: fail, listing FAILS, if there are any.
report_fails() {
	if [ "${#FAILS[@]}" -gt 0 ]; then
		printf '%s\n' "${FAILS[@]}" >&2
		return 1
	fi
}

# table_options: every spelling in the table, sorted, one a line.
table_options() {
	local id
	for id in "${IDS[@]}"; do
		spellings "$id"
	done | LC_ALL=C sort -u
}

# help_options: the options usage() lists: the first column of each line
# that starts with an option.
help_options() {
	"$SOCK" --help | sed -n 's/^  \(-[^ ].*\)$/\1/p' | sed 's/   *.*//' |
	    grep -oE -- '--?[A-Za-z0-9][A-Za-z0-9-]*' | LC_ALL=C sort -u
}

# man_options: the options man/sock.1's OPTIONS tag list has an entry for.
man_options() {
	awk '/^\.Sh / { inopts = ($2 == "OPTIONS") }
	    inopts && /^\.It Fl / {
		for (i = 2; i < NF; i++)
			if ($i == "Fl")
				print "-" $(i + 1)
	    }' "$SRC/man/sock.1" | LC_ALL=C sort -u
}

# bash_complete WORD...: COMPREPLY of completions/sock.bash for the
# command line "sock WORD..." (the cursor on the last word), one a line.
bash_complete() {
	# shellcheck source=completions/sock.bash
	source "$SRC/completions/sock.bash"
	COMP_WORDS=(sock "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	_sock
	[ "${#COMPREPLY[@]}" -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}"
}

bash_options() {
	bash_complete - | LC_ALL=C sort -u
}

# zsh_specs: the option specs of completions/_sock: NAME ARG, where ARG is
# none, required or optional.
zsh_specs() {
	local line re="^[[:space:]]*'(\\([^)]*\\))?\\*?(-[^=[]+)(=-?)?\\[[^]]*\\]([^']*)'"
	while IFS= read -r line; do
		[[ $line =~ $re ]] || continue
		case ${BASH_REMATCH[4]} in
		::*) echo "${BASH_REMATCH[2]} optional" ;;
		:*) echo "${BASH_REMATCH[2]} required" ;;
		*) echo "${BASH_REMATCH[2]} none" ;;
		esac
	done <"$SRC/completions/_sock"
}

zsh_options() {
	zsh_specs | awk '{ print $1 }' | LC_ALL=C sort -u
}

# fish_specs: NAME ARG (none or required) for each spelling in
# completions/sock.fish.
fish_specs() {
	awk '$1 == "complete" {
		a = "none"
		for (i = 1; i <= NF; i++)
			if ($i == "-r" || $i == "-x")
				a = "required"
		for (i = 1; i < NF; i++) {
			if ($i == "-s") print "-" $(i + 1), a
			if ($i == "-l") print "--" $(i + 1), a
		}
	    }' "$SRC/completions/sock.fish"
}

fish_options() {
	fish_specs | awk '{ print $1 }' | LC_ALL=C sort -u
}

# man_conflict_cells: the rows of the table in man/sock.1's CONFLICTS
# section, one statement a line, options as spelled there: "needs OPT
# ALT..." for each group of Needs (any one ALT will do; groups are joined
# by "and") and "excludes OPT OTHER" for each option it cannot be used with.
man_conflict_cells() {
	awk '/^\.Sh / { insec = ($2 == "CONFLICTS"); next }
	    insec && /^\.Bl / { intable = !done; next }
	    insec && /^\.El/ { if (intable) done = 1; intable = 0; next }
	    intable && /^\.It Fl / {
		# Cells are separated by Ta: the option, Needs, Cannot be
		# used with. In a cell, words after Fl are options until
		# another macro (No, Pq) starts text.
		nt = split($0, t, /[ \t]+/)
		c = 0
		opt = ""
		for (i = 2; i <= nt + 1; i++) {
			if (i == nt + 1 || t[i] == "Ta") {
				if (c == 1 && group != "")
					print "needs " opt group
				c++
				flag = 0
				group = ""
				continue
			}
			if (t[i] == "Fl") { flag = 1; continue }
			if (t[i] ~ /^[A-Z][a-z]$/) { flag = 0; continue }
			if (!flag && t[i] == "and" && c == 1) {
				print "needs " opt group
				group = ""
				continue
			}
			if (!flag || t[i] ~ /^[,;:.()]$/)
				continue
			if (c == 0)
				opt = "-" t[i]
			else if (c == 1)
				group = group " -" t[i]
			else
				print "excludes " opt " -" t[i]
		}
		if (c != 3)
			print "row " $0
	    }' "$SRC/man/sock.1"
}

# id_of SPELLING: ID becomes the option id typed as SPELLING, or empty.
id_of() {
	local id
	ID=
	for id in "${IDS[@]}"; do
		if [ "${SHORT[$id]}" = "$1" ] || [ "${LONG[$id]}" = "$1" ]; then
			ID=$id
			return
		fi
	done
}

# same_set NAME EXTRACTOR: EXTRACTOR lists exactly the table's options.
same_set() {
	local d
	if ! d=$(diff <(table_options) <("$2")); then
		echo "$1 and the table in sock.c disagree (< only in the table, > only in $1):" >&2
		echo "$d" >&2
		return 1
	fi
}

# ---------------------------------------------------------------- rules

@test "every option excluded by a rule is refused with the options as typed" {
	local r a b sa sb first pair req ids=0
	read_table
	FAILS=()
	for r in "${!RULE_OPT[@]}"; do
		a=${RULE_OPT[r]}
		for b in ${RULE_EXC[r]}; do
			first=$(first_rule "$a" "$b")
			# A pair that excludes each other is reported from its
			# first rule, in the order typed; else from this rule.
			if excludes "$b" "$a"; then
				pair=1
			else
				pair=
				first=$r
			fi
			for sa in $(spellings "$a"); do
				for sb in $(spellings "$b"); do
					ARGS=()
					add_arg "$a" "$sa"
					add_arg "$b" "$sb"
					with_requirements -1 "$a" "$b"
					for req in $HAVE; do
						[ "$req" = "$a" ] || [ "$req" = "$b" ] ||
						    add_arg "$req" "${SHORT[$req]:-${LONG[$req]}}"
					done
					if [ -n "$pair" ]; then
						msg="sock: $sa and $sb cannot be used together"
					else
						msg="sock: $sa cannot be used with $sb"
					fi
					[ -z "${RULE_WHY[first]}" ] || msg+=": ${RULE_WHY[first]}"
					expect_usage "$msg"
					ids=$((ids + 1))
				done
			done
		done
	done
	report_fails
	[ "$ids" -gt 50 ]
}

@test "every option a rule requires is asked for, and any one of them will do" {
	local r a sa req list n i x got
	read_table
	FAILS=()
	for r in "${!RULE_OPT[@]}"; do
		[ -n "${RULE_REQ[r]}" ] || continue
		a=${RULE_OPT[r]}
		# "-k", "-k or -l", "-k, --broker or --chat"
		# shellcheck disable=SC2086 # a list of words
		set -- ${RULE_REQ[r]}
		n=$#
		list=
		i=0
		for req in "$@"; do
			i=$((i + 1))
			if [ "$i" -eq 1 ]; then
				list=${SHORT[$req]:-${LONG[$req]}}
			elif [ "$i" -eq "$n" ]; then
				list+=" or ${SHORT[$req]:-${LONG[$req]}}"
			else
				list+=", ${SHORT[$req]:-${LONG[$req]}}"
			fi
		done
		for sa in $(spellings "$a"); do
			ARGS=()
			add_arg "$a" "$sa"
			with_requirements "$r" "$a"
			for x in $HAVE; do
				[ "$x" = "$a" ] || add_arg "$x" "${SHORT[$x]:-${LONG[$x]}}"
			done
			msg="sock: $sa needs $list"
			[ -z "${RULE_WHY[r]}" ] || msg+=": ${RULE_WHY[r]}"
			expect_usage "$msg"
			# Each one of the options it lists meets the rule.
			for req in ${RULE_REQ[r]}; do
				ARGS=()
				add_arg "$a" "$sa"
				with_requirements -1 "$a" "$req"
				for x in $HAVE; do
					[ "$x" = "$a" ] || add_arg "$x" "${SHORT[$x]:-${LONG[$x]}}"
				done
				run --separate-stderr timeout 5 "$SOCK" "${ARGS[@]}" 127.0.0.1 70000 </dev/null
				got=${stderr_lines[0]:-}
				if [[ $got == "sock: $sa needs "* ]]; then
					FAILS+=("sock ${ARGS[*]}: still $got")
				fi
			done
		done
	done
	report_fails
}

@test "the man page's CONFLICTS table states each rule of the table once" {
	local kind a rest w ids pair page_pairs=() page_needs=() table_pairs=()
	local table_needs=() r b d
	read_table
	FAILS=()
	while read -r kind a rest; do
		id_of "$a"
		[ -n "$ID" ] || { FAILS+=("man: unknown option $a in: $kind $a $rest"); continue; }
		a=$ID
		ids=()
		for w in $rest; do
			id_of "$w"
			[ -n "$ID" ] || { FAILS+=("man: unknown option $w in: $kind $a $rest"); continue; }
			ids+=("$ID")
		done
		case $kind in
		needs)
			page_needs+=("$a needs $(printf '%s\n' "${ids[@]}" | LC_ALL=C sort | tr '\n' ' ')")
			;;
		excludes)
			page_pairs+=("$(printf '%s\n' "$a" "${ids[0]}" | LC_ALL=C sort | tr '\n' ' ')")
			;;
		*) FAILS+=("man: $kind $a $rest") ;;
		esac
	done < <(man_conflict_cells)
	for r in "${!RULE_OPT[@]}"; do
		a=${RULE_OPT[r]}
		if [ -n "${RULE_REQ[r]}" ]; then
			# shellcheck disable=SC2086 # a list of words
			table_needs+=("$a needs $(printf '%s\n' ${RULE_REQ[r]} | LC_ALL=C sort | tr '\n' ' ')")
		fi
		for b in ${RULE_EXC[r]}; do
			table_pairs+=("$(printf '%s\n' "$a" "$b" | LC_ALL=C sort | tr '\n' ' ')")
		done
	done
	# Each pair once on the page, however many rules of the table name it.
	pair=$(printf '%s\n' "${page_pairs[@]}" | LC_ALL=C sort | uniq -d)
	[ -z "$pair" ] || FAILS+=("man: stated more than once: $pair")
	if ! d=$(diff <(printf '%s\n' "${table_pairs[@]}" | LC_ALL=C sort -u) \
	    <(printf '%s\n' "${page_pairs[@]}" | LC_ALL=C sort -u)); then
		FAILS+=("pairs that exclude each other (< only in sock.c, > only in man/sock.1):" "$d")
	fi
	if ! d=$(diff <(printf '%s\n' "${table_needs[@]}" | LC_ALL=C sort) \
	    <(printf '%s\n' "${page_needs[@]}" | LC_ALL=C sort)); then
		FAILS+=("requirements (< only in sock.c, > only in man/sock.1):" "$d")
	fi
	report_fails
	# Not vacuous: the page was read.
	[ "${#page_pairs[@]}" -gt 100 ]
	[ "${#page_needs[@]}" -gt 20 ]
}

@test "-k conflicts with the relay's options on a stream socket only" {
	local o
	for o in -C -t '-i 1' '-o /dev/null' '--hex-dump /dev/null' --progress; do
		# shellcheck disable=SC2086 # word splitting wanted
		run -2 --separate-stderr timeout 5 "$SOCK" -l -k $o 127.0.0.1 70000 </dev/null
		[ "${stderr_lines[0]}" = "sock: -k cannot be used with ${o%% *} on a stream socket" ]
		# With -u, -k is no reason to refuse (-t is, on its own).
		# shellcheck disable=SC2086 # word splitting wanted
		run -2 --separate-stderr timeout 5 "$SOCK" -l -k -u $o 127.0.0.1 70000 </dev/null
		[[ ${stderr_lines[0]} != 'sock: -k cannot be used with'* ]]
	done
}

@test "-c with -k -u is a usage error, as -e is" {
	run -2 --separate-stderr timeout 5 "$SOCK" -l -k -u -c cat 0 </dev/null
	[ "${stderr_lines[0]}" = "sock: -c cannot be used with -k -u: a datagram socket has no connections to hand out" ]
}

@test "the table is read whole: every option in enum optid has a row" {
	local n
	read_table
	n=$(sed -n '/^enum optid {/,/^};/p' "$SRC/sock.h" |
	    grep -cE '^[[:space:]]+OPT_[A-Z0-9_]+,?$')
	# OPT_NONE and OPT_COUNT have no row.
	[ "$n" -eq $(( ${#IDS[@]} + 2 )) ]
}

# ---------------------------------------------------------------- agreement

@test "--help lists exactly the options in the table" {
	read_table
	same_set "sock --help" help_options
}

@test "the man page has an entry for exactly the options in the table" {
	read_table
	same_set man/sock.1 man_options
}

@test "the bash completion offers exactly the options in the table" {
	read_table
	same_set completions/sock.bash bash_options
}

@test "the zsh completion has a spec for exactly the options in the table" {
	read_table
	same_set completions/_sock zsh_options
}

@test "the fish completion has a line for exactly the options in the table" {
	read_table
	same_set completions/sock.fish fish_options
}

@test "the completions know which options take a value" {
	local id s want got
	read_table
	FAILS=()
	for id in "${IDS[@]}"; do
		want=none
		[ "${HASARG[$id]}" = required_argument ] && want=required
		for s in $(spellings "$id"); do
			# bash: after an option without a value, "-" completes
			# to options; after one with a value, it does not.
			got=none
			bash_complete "$s" - | grep -qx -- -4 || got=required
			[ "$got" = "$want" ] || FAILS+=("bash: $s takes $got, the table says $want")
			got=$(zsh_specs | awk -v s="$s" '$1 == s { print $2 }')
			[ "${HASARG[$id]}" = optional_argument ] && want=optional
			[ "$got" = "$want" ] || FAILS+=("zsh: $s takes $got, the table says $want")
			[ "$want" = optional ] && want=none
			got=$(fish_specs | awk -v s="$s" '$1 == s { print $2 }')
			[ "$got" = "$want" ] || FAILS+=("fish: $s takes $got, the table says $want")
		done
	done
	report_fails
}

# ---------------------------------------------------------------- completions

@test "the bash completion completes values and operands" {
	run -0 bash_complete -T low
	[ "$output" = lowdelay ]
	run -0 bash_complete --progress = al
	[ "$output" = always ]
	run -0 bash_complete --max-conns-p
	[ "$output" = --max-conns-per-source ]
	: >"$T/sockpath"
	run -0 bash_complete -U -l "$T/sockp"
	[ "$output" = "$T/sockpath" ]
	run -0 bash_complete -o "$T/sockp"
	[ "$output" = "$T/sockpath" ]
}

@test "the zsh completion parses" {
	need zsh
	zsh -n "$SRC/completions/_sock"
}

@test "the fish completion parses" {
	need fish
	fish -n "$SRC/completions/sock.fish"
}

@test "make install puts the completions under DESTDIR and PREFIX, and uninstall removes them" {
	local root=$T/root f
	run -0 make -s -C "$SRC" install DESTDIR="$root" PREFIX=/usr
	cmp "$root/usr/share/bash-completion/completions/sock" "$SRC/completions/sock.bash"
	cmp "$root/usr/share/zsh/site-functions/_sock" "$SRC/completions/_sock"
	cmp "$root/usr/share/fish/vendor_completions.d/sock.fish" "$SRC/completions/sock.fish"
	[ -x "$root/usr/bin/sock" ]
	[ -f "$root/usr/share/man/man1/sock.1" ]
	run -0 make -s -C "$SRC" uninstall DESTDIR="$root" PREFIX=/usr
	f=$(find "$root" -type f)
	[ -z "$f" ]
}
