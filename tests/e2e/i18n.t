#!/bin/sh
# i18n.t - the translations are complete and reach the user, and nothing
# that programs parse is translated: po/de.po and po/fr.po pass msgfmt -c
# with nothing untranslated or fuzzy and cover every string of a template
# made afresh from the sources (a new _() string fails this test until it
# is translated); the built outbox, pointed at catalogs compiled here
# through TEXTDOMAINDIR, prints its errors and --help in German and French;
# under LANGUAGE=de the -v transcript keeps the SMTP verbs and the logfile
# keeps its field names, exit names and C-locale timestamps.
#
# Untrusted data: none; the catalogs are compiled from the source tree.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_setup
TOP=$E2E_TOP
for tool in msgfmt msgcmp xgettext; do
	command -v "$tool" >/dev/null 2>&1 ||
		skip_all "$tool (gettext) not installed"
done
plan_lazy

LINGUAS="de fr"

# --- the catalogs ------------------------------------------------------
# A fresh template with the xgettext options of po/Makevars, over the
# files po/POTFILES.in lists (comments and blank lines skipped).
xopts=$(sed -n 's/^XGETTEXT_OPTIONS[[:space:]]*=//p' "$TOP/po/Makevars")
sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TOP/po/POTFILES.in" >"$T/potfiles"
# shellcheck disable=SC2086 # $xopts is a list of options
(cd "$TOP" && xgettext --default-domain=outbox --language=C $xopts \
	--files-from="$T/potfiles" --output="$T/fresh.pot") 2>"$T/xgettext.err"
t_ok "xgettext makes a template from po/POTFILES.in" test -s "$T/fresh.pot" ||
	diag_file "$T/xgettext.err"
t_like "the template has the --help text" "$T/fresh.pot" '^"Usage: outbox'

for ll in $LINGUAS; do
	po=$TOP/po/$ll.po
	t_like "po/LINGUAS lists $ll" "$TOP/po/LINGUAS" "(^|[[:space:]])$ll([[:space:]]|\$)"
	t_ok "$ll.po: msgfmt -c accepts it" \
		msgfmt -c --statistics -o "$T/$ll.mo" "$po"
	cp "$ERR" "$T/$ll.stats"
	t_like "$ll.po: msgfmt counts translated messages" "$T/$ll.stats" \
		'^[0-9]+ translated messages?\.$'
	t_unlike "$ll.po: nothing untranslated" "$T/$ll.stats" 'untranslated'
	t_unlike "$ll.po: nothing fuzzy" "$T/$ll.stats" 'fuzzy'
	# msgcmp treats untranslated and fuzzy entries as missing.
	t_ok "$ll.po: every msgid of the sources is translated (msgcmp)" \
		msgcmp "$po" "$T/fresh.pot"
	mkdir -p "$T/locale/$ll/LC_MESSAGES"
	cp "$T/$ll.mo" "$T/locale/$ll/LC_MESSAGES/outbox.mo"
done

# --- the binary speaks them ----------------------------------------------
# have_locale NAME: locale -a lists NAME (de_DE.UTF-8 is listed de_DE.utf8).
have_locale() {
	_want=$(echo "$1" | tr '[:upper:]' '[:lower:]' | sed 's/utf-8$/utf8/')
	locale -a 2>/dev/null | tr '[:upper:]' '[:lower:]' | sed 's/utf-8$/utf8/' |
		grep -qx -e "$_want"
}

nls=yes
if [ -z "${OUTBOX:-}" ] || [ ! -x "$OUTBOX" ]; then
	nls="the outbox binary is not built"
elif [ -f "${top_builddir:-.}/config.h" ] &&
	! grep -q '^#define ENABLE_NLS 1' "${top_builddir:-.}/config.h"; then
	nls="outbox was configured with --disable-nls"
fi

# speaks LL LOCALE EXPECTED-REGEX: -Y is an unknown option, exit 64, and
# the message is in language LL; --help is too and fits in 80 columns.
speaks() {
	_ll=$1
	_loc=$2
	if [ "$nls" != yes ]; then
		t_skip "$_ll: translated error for -Y" "$nls"
		return 0
	fi
	if ! have_locale "$_loc"; then
		t_skip "$_ll: translated error for -Y" "$_loc locale not generated"
		return 0
	fi
	t_exit "$_ll: -Y exits 64" 64 env LANGUAGE="$_ll" LC_ALL="$_loc" \
		TEXTDOMAINDIR="$T/locale" "$OUTBOX" -Y
	t_like "$_ll: the unknown-option error is translated" "$ERR" "$3"
	t_unlike "$_ll: and not in English" "$ERR" 'unknown option'
	t_exit "$_ll: --help exits 0" 0 env LANGUAGE="$_ll" LC_ALL="$_loc" \
		TEXTDOMAINDIR="$T/locale" "$OUTBOX" --help
	t_unlike "$_ll: --help is translated" "$OUT" '^Usage: outbox'
	t_like "$_ll: --help still names the man pages" "$OUT" \
		'man outbox, man outbox\.conf$'
	_width=$(LC_ALL=$_loc wc -L <"$OUT")
	t_ok "$_ll: --help fits in 80 columns ($_width)" test "$_width" -lt 80
}

speaks de de_DE.UTF-8 "^outbox: unbekannte Option -Y; siehe 'outbox --help'\$"
speaks fr fr_FR.UTF-8 "^outbox: option -Y inconnue ; voir 'outbox --help'\$"

# --- what programs parse stays untranslated ------------------------------
# One delivery under LANGUAGE=de, a recipient refused: the error is German,
# the transcript's commands and the logfile's fields are not.
protocol_stays_english() {
	if [ "$nls" != yes ]; then
		t_skip "-v transcript under LANGUAGE=de" "$nls"
		return 0
	fi
	if ! have_locale de_DE.UTF-8; then
		t_skip "-v transcript under LANGUAGE=de" "de_DE.UTF-8 locale not generated"
		return 0
	fi
	if ! e2e_python >/dev/null; then
		t_skip "-v transcript under LANGUAGE=de" "no python3 with aiosmtpd"
		return 0
	fi
	server_start srv --mode plain --pipelining \
		--fault 'rcpt=bad@example.net:550 5.1.1 no such user' || {
		t_fail "the test server starts"
		return 0
	}
	write_config "$T/de.conf" <<EOC
account default
host 127.0.0.1
port $(server_port srv)
tls off
from bob@example.org
timeout 10
queue off
logfile $T/de.log
logfile_time_format %a %b
EOC
	printf 'From: bob@example.org\nTo: good@example.net\nSubject: i18n\n\nhallo\n' \
		>"$T/msg"
	t_exit "de: delivery to the accepted recipient exits 0" 0 \
		env LANGUAGE=de LC_ALL=de_DE.UTF-8 TEXTDOMAINDIR="$T/locale" \
		"$OUTBOX" -C "$T/de.conf" -v good@example.net bad@example.net <"$T/msg"
	t_like "de: the refused recipient is reported in German" "$ERR" \
		'^outbox: Empfänger bad@example\.net abgelehnt: 550 5\.1\.1 no such user$'
	for line in 'EHLO ' 'MAIL FROM:<bob@example\.org>' \
		'RCPT TO:<good@example\.net>' 'RCPT TO:<bad@example\.net>' 'DATA$' \
		'QUIT$'; do
		t_like "de: transcript has --> $line" "$ERR" "^--> $line"
	done
	t_like "de: transcript has the server's reply as sent" "$ERR" \
		'^<-- 550 5\.1\.1 no such user$'
	t_is "de: every command in the transcript is an SMTP verb" "" \
		"$(grep '^--> ' "$ERR" | grep -Ev \
			'^--> (EHLO |MAIL FROM:<|RCPT TO:<|DATA$|QUIT$|<message>$)')"
	t_like "de: the log line keeps its field names" "$T/de.log" \
		' host=127\.0\.0\.1 tls=off auth=off from=bob@example\.org .* exitcode=EX_OK$'
	# strftime names days and months after LC_TIME: a log grammar that
	# depends on the reader's locale would not parse.
	t_like "de: logfile times use C-locale names" "$T/de.log" \
		'^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) host='
	server_stop srv
}

protocol_stays_english

# --- the queue's reasons: stored as codes, shown in the reader's language --
# A message queued under LANGUAGE=de (the server is down): a French mailq
# shows the French sentence, not the German detail stored with it; mailq
# --json is the same bytes in every language, with the English code.
queue_reasons() {
	if [ "$nls" != yes ]; then
		t_skip "reasons in the reader's language" "$nls"
		return 0
	fi
	if ! have_locale de_DE.UTF-8 || ! have_locale fr_FR.UTF-8; then
		t_skip "reasons in the reader's language" "de_DE/fr_FR locales not generated"
		return 0
	fi
	write_config "$T/q.conf" <<EOC
account default
host 127.0.0.1
port $(unused_port)
tls off
from bob@example.org
timeout 5
queue_dir $T/q
EOC
	printf 'From: bob@example.org\nTo: a@example.net\nSubject: i18n\n\nhallo\n' >"$T/qmsg"
	t_exit "de: queued while the server is down" 0 env LANGUAGE=de LC_ALL=de_DE.UTF-8 \
		TEXTDOMAINDIR="$T/locale" "$OUTBOX" -C "$T/q.conf" a@example.net <"$T/qmsg"
	t_like "the state stores the code" "$(echo "$T"/q/state/*)" '^reason-code connect-failed$'
	t_like "and the language of the detail" "$(echo "$T"/q/state/*)" '^reason-lang de$'
	for ll in de fr; do
		loc=$(if [ $ll = de ]; then echo de_DE.UTF-8; else echo fr_FR.UTF-8; fi)
		run env LANGUAGE=$ll LC_ALL=$loc TEXTDOMAINDIR="$T/locale" \
			"$OUTBOX" -C "$T/q.conf" -bp
		cp "$OUT" "$T/mailq.$ll"
		run env LANGUAGE=$ll LC_ALL=$loc TEXTDOMAINDIR="$T/locale" \
			"$OUTBOX" -C "$T/q.conf" -bp --json
		cp "$OUT" "$T/json.$ll"
	done
	run "$OUTBOX" -C "$T/q.conf" -bp --json
	cp "$OUT" "$T/json.C"
	detail=$(sed -n 's/^reason //p' "$T"/q/state/*)
	t_like "de: mailq shows the German detail" "$T/mailq.de" "$detail"
	t_like "fr: mailq shows the reason in French" "$T/mailq.fr" \
		'^    [a-z]+ .*: le serveur était injoignable$'
	t_is "fr: and not the German detail" 0 "$(grep -c -F -e "$detail" "$T/mailq.fr")"
	t_is "--json: the same bytes in German and in English" "$(cat "$T/json.C")" \
		"$(cat "$T/json.de")"
	t_is "--json: the same bytes in French and in English" "$(cat "$T/json.C")" \
		"$(cat "$T/json.fr")"
	t_like "--json: the reason is the English code" "$T/json.fr" \
		'"reason": "connect-failed"'
	/usr/bin/python3 "$TOP/tests/e2e/mailq-json.py" "$T/json.fr" >/dev/null 2>"$T/json.err"
	t_is "--json under fr follows the documented schema" 0 "$?"
	diag_file "$T/json.err"
}

queue_reasons

done_testing
