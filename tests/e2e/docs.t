#!/bin/sh
# docs.t - the documentation moves with the code: both man pages are
# lint-clean, outbox.1 documents every short flag of the CLI table, the
# bash completion knows every long option, --help lists every flag of
# the CLI's tables, and every source file with user-facing strings is in
# po/POTFILES.in.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_setup
plan_lazy
TOP=$E2E_TOP

for page in doc/outbox.1 doc/outbox.conf.5; do
	if command -v groff >/dev/null 2>&1; then
		groff -man -ww -z "$TOP/$page" >"$T/groff.out" 2>&1
		t_is "$page: groff -man -ww reports nothing" "" "$(cat "$T/groff.out")"
	else
		t_skip "$page: groff" "groff not installed"
	fi
	if command -v mandoc >/dev/null 2>&1; then
		mandoc -Tlint "$TOP/$page" >"$T/mandoc.out" 2>&1
		t_is "$page: mandoc -Tlint reports nothing" "" "$(cat "$T/mandoc.out")"
	else
		t_skip "$page: mandoc" "mandoc not installed"
	fi
done

# The pages carry one real date (the release's), the same in both.
dates=$(sed -n 's/^\.TH [^ ]* [0-9] \([^ ]*\) .*/\1/p' "$TOP/doc/outbox.1" "$TOP/doc/outbox.conf.5")
t_is "both man pages have a .TH date" 2 "$(echo "$dates" | grep -c .)"
t_is "... the same one" 1 "$(echo "$dates" | sort -u | grep -c .)"
for d in $dates; do
	t_ok ".TH date $d is a real date" date -d "$d" +%F
	t_is ".TH date $d is written YYYY-MM-DD" "$d" "$(date -d "$d" +%F 2>/dev/null)"
done

# Short flags: the letters of cli.c's short_flags table.
flags=$(sed -n '/^} short_flags\[\] = {/,/^};/p;/short_flags\[\] = {/,/^};/p' "$TOP/src/cli.c" |
	grep -o "{'[A-Za-z]'" | cut -c3 | sort -u)
t_ok "the short flag table was found" test -n "$flags"
for f in $flags; do
	t_like "outbox.1 documents -$f" "$TOP/doc/outbox.1" "^\\.(B|BI|BR) \\\\-$f"
done

# Keywords: the names in conf.c's table, as long options in the completion.
keywords=$(grep -o '^[[:space:]]*\[KW_[A-Z0-9_]*\] = {"[a-z0-9_]*"' "$TOP/src/conf.c" |
	sed 's/.*{"\(.*\)"/\1/')
t_ok "the keyword table was found" test -n "$keywords"
# What bash really offers after "outbox --".
bash -c '. "$1"; COMP_WORDS=(outbox --); COMP_CWORD=1; _outbox; printf "%s\n" "${COMPREPLY[@]}"' \
	sh "$TOP/completions/outbox" >"$T/offered" 2>&1
for k in $keywords; do
	opt=$(echo "$k" | tr _ -)
	case $k in
	password | oauth2_client_secret | eval)
		t_unlike "completion never offers --$opt" "$T/offered" "^--$opt=?\$"
		;;
	*)
		t_like "completion offers --$opt" "$T/offered" "^--$opt=?\$"
		;;
	esac
done

# The fixed long options of cli.c's table: documented and completed.
longs=$(sed -n '/^static const struct option fixed_long\[\] = {/,/^};/p' "$TOP/src/cli.c" |
	grep -o '{"[a-z-]*"' | cut -c3- | tr -d '"')
t_ok "the long option table was found" test -n "$longs"
for o in $longs; do
	roff=$(printf '%s' "--$o" | sed 's/-/\\-/g')
	grep -qF -e "$roff" "$TOP/doc/outbox.1"
	ok $? "outbox.1 documents --$o"
	t_like "completion offers --$o" "$T/offered" "^--$o=?\$"
done

# Translations: every file with _("...") is in POTFILES.in.
for f in "$TOP"/src/*.c; do
	grep -q '_("' "$f" || continue
	rel=src/$(basename "$f")
	t_like "po/POTFILES.in lists $rel" "$TOP/po/POTFILES.in" "^$rel\$"
done

if [ -n "${OUTBOX:-}" ] && [ -x "$OUTBOX" ]; then
	"$OUTBOX" --help >"$T/help"
	t_ok "--help is short (under 25 lines)" test "$(wc -l <"$T/help")" -lt 25
	# Every flag of cli.c's tables is in --help, so the next one cannot
	# be forgotten there.
	for f in $flags; do
		t_like "--help lists -$f" "$T/help" "(^|[ ,])-$f"
	done
	for o in $longs; do
		t_like "--help lists --$o" "$T/help" "(^|[ ,(])--$o([ ,=]|\$)"
	done
	for o in -odi -odb -odq -bm -bs -bi -oi; do
		t_like "--help lists $o" "$T/help" "(^|[ ,])$o([ ,]|\$)"
	done
fi

done_testing
