#!/bin/sh
# terminal.t - a person at a terminal is told what happened; cron and
# scripts are not.  With standard error on a pseudo-terminal (run_tty):
# a message that is queued says so in one line with the reason and the
# next try, a held one names the account, the user and the fix, -odq says
# where the message is, a big send draws a progress bar that is erased at
# the end (a slow link: tests/server/throttle.py), so does a flush of many
# messages before its summary, a delivered message is silent, and -v -v times each transcript line.  The same submissions without a terminal print nothing new.
# --test logs in and out (steps on stdout, the failed step as the error,
# exit status of its class) and --test --send sends the account a test
# message.
#
# Untrusted data: none beyond the test's own files; the servers run on
# 127.0.0.1 inside this test's temp dir.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

start() {
	server_start "$@" || bail "server $1 did not start"
}

start plain
start slowdot --fault 'eod:sleep 0.06'
start auth --auth bob:secret --auth-no-tls
start st --mode starttls --cert "$CERT" --key "$KEY" --auth bob:secret \
	--auth-mech SCRAM-SHA-256,PLAIN
throttle_start slow "$(server_port plain)" 3000000 || bail "throttle did not start"
CLOSED=$(unused_port)

# conf NAME SETTING...: $T/NAME.conf, account default with its own queue.
conf() {
	_n=$1
	shift
	printf '%s\n' 'account default' 'host 127.0.0.1' 'from alice@example.org' \
		"queue_dir $T/q-$_n" "$@" | write_config "$T/$_n.conf"
}

printf '%s\n' 'To: x@example.net' 'Subject: hello' '' 'Hello.' >"$T/msg"
{
	printf '%s\n' 'To: x@example.net' 'Subject: big' ''
	"$E2E_PY" -c 'import sys
line = ("0123456789" * 7 + "\n").encode()
sys.stdout.buffer.write(line * (12 * 1024 * 1024 // len(line)))'
} >"$T/big"

# one_line DESC: $ERR is exactly one line.
one_line() {
	t_is "$1: one line" 1 "$(wc -l <"$ERR" | tr -d ' ')"
}

# ---- queued ------------------------------------------------------------

conf closed "port $CLOSED" 'tls off'
run_tty "$OUTBOX" -C "$T/closed.conf" x@example.net <"$T/msg"
t_is "closed port at a terminal: exit 0" 0 "$status"
t_like "it says queued, why and when next" "$ERR" \
	"^outbox: message [0-9a-f]+ queued: cannot connect to 127\\.0\\.0\\.1 port $CLOSED: .*; next try in [0-9]+ (s|min), or now with 'outbox -q'\$"
one_line "queued"
t_exit "closed port, no terminal: exit 0" 0 "$OUTBOX" -C "$T/closed.conf" x@example.net <"$T/msg"
t_is "no terminal: nothing said" "" "$(cat "$ERR")"

run_tty "$OUTBOX" -C "$T/closed.conf" -odq x@example.net <"$T/msg"
t_like "-odq at a terminal: where the message is" "$ERR" \
	"^outbox: message [0-9a-f]+ queued; the next queue run sends it \\('outbox -q' does it now\\)\$"
t_exit "-odq, no terminal: exit 0" 0 "$OUTBOX" -C "$T/closed.conf" -odq x@example.net <"$T/msg"
t_is "-odq, no terminal: nothing said" "" "$(cat "$ERR")"

# ---- held --------------------------------------------------------------

AUTH=$(server_port auth)
conf pw "port $AUTH" 'tls off' 'auth on' 'user bob' 'password wrong' 'allow_plaintext_auth on'
run_tty "$OUTBOX" -C "$T/pw.conf" x@example.net <"$T/msg"
t_is "refused password: exit 0 (held)" 0 "$status"
t_like "held: the server's answer, account, user and where to fix it" "$ERR" \
	"^outbox: message [0-9a-f]+ held: .*535.*; correct the password of account default \\(user bob\\) in the configuration, then run 'outbox -q'\$"
one_line "held"

conf eval "port $AUTH" 'tls off' 'auth on' 'user bob' 'passwordeval echo wrong' \
	'allow_plaintext_auth on'
run_tty "$OUTBOX" -C "$T/eval.conf" x@example.net <"$T/msg"
t_like "held, passwordeval: check the command" "$ERR" \
	"held: .*535.*; check what the passwordeval command of account default gives for user bob, then run 'outbox -q'\$"

printf 'machine 127.0.0.1 login bob password wrong\n' >"$HOME/.netrc"
chmod 600 "$HOME/.netrc"
conf netrc "port $AUTH" 'tls off' 'auth on' 'user bob' 'allow_plaintext_auth on'
run_tty "$OUTBOX" -C "$T/netrc.conf" x@example.net <"$T/msg"
t_like "held, password from elsewhere: store the right one" "$ERR" \
	"held: .*535.*; store the right password of user bob with 'outbox -a default --store-password', then run 'outbox -q'\$"
rm -f "$HOME/.netrc"

# ---- delivered, and the progress bar -----------------------------------

conf ok "port $(server_port plain)" 'tls off'
run_tty "$OUTBOX" -C "$T/ok.conf" x@example.net <"$T/msg"
t_is "delivered at a terminal: exit 0" 0 "$status"
t_is "delivered: nothing said" "" "$(cat "$ERR")"

conf slow "port $(server_port slow)" 'tls off'
run_tty "$OUTBOX" -C "$T/slow.conf" x@example.net <"$T/big"
t_is "12 MiB over a slow link at a terminal: exit 0" 0 "$status"
t_like "a progress bar is drawn" "$ERR" \
	'sending [0-9.]+ MiB / 12\.0 MiB \[[#-]+\] +[0-9]+%'
tr '\r' '\n' <"$ERR" >"$T/frames"
t_like "with the rate and the time left once known" "$T/frames" \
	'% +[0-9.]+ MiB/s +[0-9]+:[0-9][0-9] left$'
t_is "it is redrawn in place, never on new lines" 0 "$(tr -cd '\n' <"$ERR" | wc -c | tr -d ' ')"
t_like "and erased at the end" "$T/frames" '^ {60,}$'
t_is "at most 4 frames a second (~2 s of sending)" 1 \
	"$([ "$(grep -c '^sending' "$T/frames")" -le 12 ] && echo 1)"
t_exit "the same without a terminal: exit 0" 0 "$OUTBOX" -C "$T/slow.conf" x@example.net <"$T/big"
t_is "no terminal: no bar" "" "$(cat "$ERR")"
wait_messages plain 3
t_is "both big messages arrived whole" 2 \
	"$(for f in "$T"/plain/msg-*.eml; do wc -c <"$f"; done | awk '$1 > 12000000' | wc -l | tr -d ' ')"

# ---- a flush of many messages ------------------------------------------

conf many "port $(server_port slowdot)" 'tls off'
i=0
while [ $i -lt 30 ]; do
	"$OUTBOX" -C "$T/many.conf" -odq x@example.net <"$T/msg" || bail "-odq failed"
	i=$((i + 1))
done
run_tty "$OUTBOX" -C "$T/many.conf" -q
t_is "-q of 30 messages at a terminal: exit 0" 0 "$status"
tr '\r' '\n' <"$ERR" >"$T/frames"
t_like "a progress bar counts the messages" "$T/frames" '^flushing [0-9]+ / 30 messages \[[#-]+\] +[0-9]+%'
t_like "then the summary, on its own line" "$T/frames" '^outbox: queue flushed: 30 sent'
wait_messages slowdot 30
t_is "all 30 arrived" 30 "$(msg_count slowdot)"

# ---- -v -v: the timeline ----------------------------------------------

t_exit "-v -v: exit 0" 0 "$OUTBOX" -v -v -C "$T/ok.conf" x@example.net <"$T/msg"
t_like "-v -v: each transcript line has its time" "$ERR" '^\[ *0\.[0-9]{6}\] --> EHLO '
t_unlike "-v -v: no line without" "$ERR" '^(-->|<--)'
t_exit "-v: exit 0" 0 "$OUTBOX" -v -C "$T/ok.conf" x@example.net <"$T/msg"
t_like "-v: the transcript" "$ERR" '^--> EHLO '
t_unlike "-v: no times" "$ERR" '^\['

# ---- --test ------------------------------------------------------------

ST=$(server_port st)
conf st "port $ST" 'tls on' 'tls_starttls on' "tls_trust_file $CA" 'auth on' 'user bob' \
	'password secret'
t_exit "--test: exit 0" 0 "$OUTBOX" -C "$T/st.conf" --test
t_like "--test names the account and server" "$OUT" "^Testing account default: 127\\.0\\.0\\.1 port $ST\$"
t_like "--test shows the greeting" "$OUT" '^  greeting: localhost Python SMTP'
t_like "--test shows the TLS session, verified" "$OUT" '^  verification: .*(trusted|verified|valid)'
t_like "--test names the mechanism" "$OUT" '^Authenticated as bob with SCRAM-SHA-256\.$'
t_like "--test ends with the verdict" "$OUT" '^Disconnected\. Account default works\.$'
t_is "--test sends nothing" 0 "$(msg_count st)"
t_is "--test queues nothing" "" "$(ls "$T/q-st/msg" 2>/dev/null)"
t_unlike "the server saw no MAIL" "$(server_log st)" ' C: MAIL '

t_exit "--test --send: exit 0" 0 "$OUTBOX" -C "$T/st.conf" --test --send
t_like "--test --send says so" "$OUT" '^Sent a test message to alice@example\.org: 250'
wait_messages st 1
t_is "the test message went to the account's own address" "alice@example.org" \
	"$(env_field st 1 rcpt_tos)"
t_like "with a subject that says what it is" "$(msg_file st 1)" '^Subject: outbox test message'

conf stbad "port $ST" 'tls on' 'tls_starttls on' "tls_trust_file $CA" 'auth on' 'user bob' \
	'password wrong'
t_exit "--test, wrong password: exit 77" 77 "$OUTBOX" -C "$T/stbad.conf" --test
t_like "the steps that worked are shown" "$OUT" '^TLS session:'
t_like "the failed step is the error" "$ERR" \
	'^outbox: account default failed the test: .*535'
t_exit "--test, closed port: exit 75" 75 "$OUTBOX" -C "$T/closed.conf" --test
t_like "the connection is the failed step" "$ERR" \
	"^outbox: account default failed the test: cannot connect to 127\\.0\\.0\\.1 port $CLOSED"
t_exit "--test with one-off settings tests them" 0 "$OUTBOX" -C "$T/closed.conf" --test \
	--port="$(server_port plain)"
t_exit "--send without --test: exit 64" 64 "$OUTBOX" --send x@example.net
t_like "--send without --test says how" "$ERR" "^outbox: --send goes with --test"

done_testing
