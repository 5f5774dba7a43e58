#!/bin/sh
# End-to-end tests against a hostile server: tests/server/hostile.py, on raw
# sockets, plays one scenario per server (trickled replies, endless and
# over-long replies, control bytes in replies, malformed reply codes,
# replies that are wrong for their command, implicit TLS where STARTTLS is
# expected, a listener that never greets, a close after each line).  Each
# case checks outbox's exit status, that stderr is one line without raw
# control bytes, what the server stored, and the queue afterwards: the
# message still in msg/ with a reason in state/ID, or gone.  Configs use
# timeout 2, so every deadline is short; each run is also wrapped in
# timeout(1) so a regression fails instead of hanging.
#
# Untrusted data: none beyond the test's own files; every server runs on
# 127.0.0.1 port 0 inside this test's temp dir.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

FROM=bob@example.org
R1=alice@example.org
MSG=$T/message
printf '%s\n' "From: $FROM" "To: $R1" "Subject: hostile" \
	"Date: Mon, 01 Jan 2024 00:00:00 +0000" \
	"Message-ID: <hostile@example.org>" "" "Hello." >"$MSG"
# Any byte that is neither a tab nor printable ASCII.
RAW=$(printf '[^\t -~]')

# hostile NAME SCENARIO [tls|implicit]: start the server and write
# $T/NAME.conf (plain SMTP, STARTTLS with "tls", implicit TLS with
# "implicit"), timeout $TIMEOUT (default 2), queue in $T/NAME.q.
hostile() {
	if ! hostile_start "$1" "$2" --cert "$CERT" --key "$KEY"; then
		t_fail "$1: the hostile server starts"
		return 1
	fi
	{
		echo "account default"
		echo "host 127.0.0.1"
		echo "port $(server_port "$1")"
		if [ -n "${3:-}" ]; then
			echo "tls on"
			if [ "$3" = tls ]; then
				echo "tls_starttls on"
			else
				echo "tls_starttls off"
			fi
			echo "tls_trust_file $CA"
		else
			echo "tls off"
		fi
		echo "from $FROM"
		echo "timeout ${TIMEOUT:-2}"
		echo "logfile $T/$1.olog"
		echo "queue_dir $T/$1.q"
	} | write_config "$T/$1.conf"
}

# send NAME [outbox arguments...]: one submission, at most 20 s.
send() {
	_n=$1
	shift
	run timeout -k 2 20 "$OUTBOX" -C "$T/$_n.conf" "$@" "$R1" <"$MSG"
}

# qcount NAME DIR: files in the queue's DIR.
qcount() {
	find "$T/$1.q/$2" -type f 2>/dev/null | wc -l | tr -d ' '
}

# field NAME KEY: KEY of the (only) state file.
field() {
	sed -n "s/^$2 //p" "$T/$1.q"/state/* 2>/dev/null | sed -n 1p
}

# clean NAME FILE DESC: FILE has no raw control byte or invalid UTF-8.
clean() {
	if [ -f "$2" ] && ! LC_ALL=C grep -q "$RAW" "$2"; then
		t_pass "$1: $3 has no raw control bytes"
	else
		t_fail "$1: $3 has no raw control bytes"
		LC_ALL=C grep "$RAW" "$2" 2>/dev/null | od -c | sed -n 1,5p |
			sed 's/^/#   /'
	fi
}

# one_line NAME: stderr is exactly one clean line.
one_line() {
	t_is "$1: one line on stderr" 1 "$(wc -l <"$ERR" | tr -d ' ')"
	clean "$1" "$ERR" stderr
}

# queued NAME STORED REGEX: exit 0, at most one clean line on stderr (a
# message queued in the foreground is reported only with -v; a recipient
# refused for now is), STORED messages at the server,
# the message still in msg/ and a clean one-line reason in state/ matching
# REGEX.
queued() {
	t_is "$1: exit status 0 (queued)" 0 "$status"
	t_is "$1: at most one line on stderr" yes \
		"$([ "$(wc -l <"$ERR")" -le 1 ] && echo yes)"
	clean "$1" "$ERR" stderr
	t_is "$1: $2 message(s) stored" "$2" "$(msg_count "$1")"
	t_is "$1: the message is still in msg/" 1 "$(qcount "$1" msg)"
	field "$1" reason >"$T/$1.reason"
	t_like "$1: state/ gives the reason" "$T/$1.reason" "$3"
	clean "$1" "$T/$1.reason" "the reason"
	[ "$status" -eq 0 ] || _t_diag_run
}

# ---- deadlines (issue "edges" item 6) ----

hostile trickle-greeting trickle-greeting
start=$(date +%s)
send trickle-greeting
took=$(($(date +%s) - start))
queued trickle-greeting 0 'greeting within 2 s'
t_is "trickle-greeting: given up long before the 20 s kill (took $took s)" \
	yes "$([ "$took" -le 15 ] && echo yes)"
# The same with queue off: exit 75 and the reason as one line on stderr.
{ cat "$T/trickle-greeting.conf" && echo "queue off"; } |
	write_config "$T/trickle-greeting-noq.conf"
run timeout -k 2 20 "$OUTBOX" -C "$T/trickle-greeting-noq.conf" "$R1" <"$MSG"
t_is "trickle-greeting, queue off: exit status 75" 75 "$status"
one_line "trickle-greeting, queue off"
t_like "trickle-greeting, queue off: stderr says what happened" "$ERR" \
	'timed out: .*greeting within 2 s'

hostile trickle-rcpt trickle-rcpt
start=$(date +%s)
send trickle-rcpt
took=$(($(date +%s) - start))
queued trickle-rcpt 0 'RCPT within 2 s'
t_is "trickle-rcpt: given up long before the 20 s kill (took $took s)" \
	yes "$([ "$took" -le 15 ] && echo yes)"

# Replies 0.5 s late each, timeout 1: every reply is on time, but MAIL and
# 25 RCPTs need 13 s, past the session's 10 x timeout.
TIMEOUT=1
hostile slow-steady slow-steady
TIMEOUT=
rcpts=$(seq 1 24 | sed 's/.*/r&@example.org/')
start=$(date +%s)
# shellcheck disable=SC2086 # one recipient a word
send slow-steady $rcpts
took=$(($(date +%s) - start))
queued slow-steady 0 'session with 127.0.0.1 took longer than 10 s'
t_is "slow-steady: given up before the 20 s kill (took $took s)" \
	yes "$([ "$took" -le 18 ] && echo yes)"

# ---- reply limits ----

hostile endless-ehlo endless-ehlo
send endless-ehlo
queued endless-ehlo 0 'more than 128 lines'

hostile long-line long-line
send long-line
queued long-line 0 'longer than 2048 bytes'

hostile nul-greeting nul-greeting
send nul-greeting
queued nul-greeting 0 'NUL'

# ---- malformed replies and wrong replies per command (item 11) ----

for sc in code-2x0 code-999 code-short code-nospace; do
	hostile "$sc" "$sc"
	send "$sc"
	queued "$sc" 0 'malformed reply'
done

hostile code-mismatch code-mismatch
send code-mismatch
queued code-mismatch 0 'changed the reply code'

for sc in mail-354:MAIL rcpt-354:RCPT data-250:DATA eod-354:END-OF-DATA; do
	name=${sc%%:*}
	cmd=${sc#*:}
	hostile "$name" "$name"
	send "$name"
	stored=0
	[ "$name" = eod-354 ] && stored=1
	queued "$name" "$stored" "protocol error.*$cmd"
	t_is "$name: nothing in failed/ (no bounce)" 0 "$(qcount "$name" failed)"
done

# ---- control bytes in server text (item 13) ----

hostile ctl-greeting ctl-greeting
send ctl-greeting -v
t_is "ctl-greeting: exit status 0" 0 "$status"
t_is "ctl-greeting: delivered" 1 "$(msg_count ctl-greeting)"
clean ctl-greeting "$ERR" "the -v transcript"
t_like "ctl-greeting: the transcript shows ESC escaped" "$ERR" \
	'<-- 220 hostile.test \\x1b\]0;pwned\\x07'
t_like "ctl-greeting: C1 controls and invalid UTF-8 escaped" "$ERR" \
	'\\x7f\\xc2\\x9b\\xff\\xfe'

hostile ctl-rcpt ctl-rcpt
send ctl-rcpt
queued ctl-rcpt 0 '\\x1b\]0;pwned\\x07'
clean ctl-rcpt "$T/ctl-rcpt.olog" "the log file"
state=$(find "$T/ctl-rcpt.q/state" -type f | sed -n 1p)
clean ctl-rcpt "$state" "the state file"
run "$OUTBOX" -C "$T/ctl-rcpt.conf" -bp
t_like "ctl-rcpt: mailq shows the reply" "$OUT" 'pwned'
clean ctl-rcpt "$OUT" "mailq"
run "$OUTBOX" -C "$T/ctl-rcpt.conf" -bp --json
t_like "ctl-rcpt: mailq --json shows the reply" "$OUT" 'pwned'
clean ctl-rcpt "$OUT" "mailq --json"
t_unlike "ctl-rcpt: mailq --json has no \\u001b" "$OUT" '\\u001b'
# A state file written before server text was escaped on arrival.
esc=$(printf '\033')
sed "s/^reason .*/reason old $esc]0;raw\a text/; s/^last-reply .*/last-reply 450 ${esc}[31m/" \
	"$state" >"$state.new" && mv "$state.new" "$state"
run "$OUTBOX" -C "$T/ctl-rcpt.conf" -bp
t_like "ctl-rcpt: mailq shows an old raw reason" "$OUT" 'old \\x1b\]0;raw'
clean ctl-rcpt "$OUT" "mailq of an old state file"
run "$OUTBOX" -C "$T/ctl-rcpt.conf" -bp --json
clean ctl-rcpt "$OUT" "mailq --json of an old state file"

# ---- TLS where plain SMTP is expected, silence, drops (item 14) ----

hostile implicit-tls implicit-tls tls
start=$(date +%s)
send implicit-tls
took=$(($(date +%s) - start))
t_is "implicit-tls: exit status 0 (held)" 0 "$status"
one_line implicit-tls
t_like "implicit-tls: says to set tls_starttls off" "$ERR" \
	'speaks implicit TLS.*tls_starttls off'
t_is "implicit-tls: the message is still in msg/" 1 "$(qcount implicit-tls msg)"
t_is "implicit-tls: held" 1 "$(field implicit-tls held)"
t_is "implicit-tls: reached (expiry counts)" yes \
	"$([ "$(field implicit-tls first-contact)" -gt 0 ] 2>/dev/null && echo yes)"
t_is "implicit-tls: done long before the 20 s kill (took $took s)" \
	yes "$([ "$took" -le 15 ] && echo yes)"

# The reverse: an implicit-TLS account on a port that speaks plain SMTP.
hostile plain-port ok implicit
send plain-port
t_is "plain-port: exit status 0 (held)" 0 "$status"
one_line plain-port
t_like "plain-port: says to set tls_starttls on" "$ERR" \
	'does not speak TLS on this port.*tls_starttls on'
t_is "plain-port: held" 1 "$(field plain-port held)"
t_is "plain-port: reached (expiry counts)" yes \
	"$([ "$(field plain-port first-contact)" -gt 0 ] 2>/dev/null && echo yes)"

hostile silent silent
send silent
queued silent 0 'greeting within 2 s'
t_is "silent: reached (expiry counts)" yes \
	"$([ "$(field silent first-contact)" -gt 0 ] 2>/dev/null && echo yes)"

hostile close-each-line close-each-line
send close-each-line
queued close-each-line 0 'closed the connection|reset by peer'

# ---- and a well-behaved run of the same server ----

hostile ok ok
send ok
t_is "ok: exit status 0" 0 "$status"
t_is "ok: delivered" 1 "$(msg_count ok)"
t_is "ok: msg/ empty" 0 "$(qcount ok msg)"

done_testing
