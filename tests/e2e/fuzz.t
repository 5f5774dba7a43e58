#!/bin/sh
# fuzz.t - replays every saved fuzz input through its target: each
# directory fuzz/corpus/TARGET and fuzz/crashers/TARGET goes through
# fuzz/replay-TARGET (the target built against fuzz/replay.c, see
# doc/fuzzing.md).  Under the sanitizer build a crasher that comes back
# fails here.  When a target fails, each of its inputs is run alone to name
# the ones that fail.  REPLAY_WRAPPER, when set, is put before each replay
# command (make check-valgrind sets it to valgrind).
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_setup
plan_lazy

corpus=$top_srcdir/fuzz/corpus
crashers=$top_srcdir/fuzz/crashers
replays=$top_builddir/fuzz

for dir in "$corpus"/*/; do
	name=$(basename "$dir")
	replay=$replays/replay-$name
	if [ ! -x "$replay" ]; then
		t_fail "$name: fuzz/replay-$name is built (make check builds it)"
		continue
	fi
	set -- "$dir"
	[ -d "$crashers/$name" ] && set -- "$@" "$crashers/$name"
	files=$(find "$@" -type f | wc -l)
	# shellcheck disable=SC2086
	if TMPDIR=$T ${REPLAY_WRAPPER:-} "$replay" "$@" >"$T/out" 2>"$T/err"; then
		t_pass "$name: $files inputs replayed"
		continue
	fi
	t_fail "$name: $files inputs replayed"
	diag_file "$T/err" 30
	find "$@" -type f | while read -r f; do
		# shellcheck disable=SC2086
		TMPDIR=$T ${REPLAY_WRAPPER:-} "$replay" "$f" >/dev/null 2>&1 ||
			diag "$name: fails: $f"
	done
done

for replay in "$replays"/replay-*; do
	name=${replay##*/replay-}
	[ -d "$corpus/$name" ]
	ok $? "$name: has a seed corpus in fuzz/corpus/$name"
done

done_testing
