#!/bin/sh
# bs.t - `outbox -bs`: SMTP on stdin/stdout, as symfony/mailer and some PHP
# code use it.  Scripted sessions (printf into `outbox -bs`) and Python's
# smtplib over a socketpair talk to outbox, outbox hands each message to a
# real server (tests/server/smtpd.py), and the test checks the replies
# outbox gave, what the server stored (envelope and exact bytes,
# dot-unstuffing included), and that each message was handled like a stdin
# submission: refused with 5xx, deferred with 4xx (queue off) or queued
# (queue on), never half-submitted when the input breaks off in DATA.
#
# Untrusted data: none beyond the test's own files; every server runs on
# 127.0.0.1 port 0 inside this test's temp dir.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
plan_lazy

# config NAME PORT [LINES...]: $T/NAME.conf for a plain server on PORT.
config() {
	_c_name=$1
	_c_port=$2
	shift 2
	{
		printf '%s\n' "account default" "host 127.0.0.1" "port $_c_port" \
			"tls off" "timeout 5" "from bob@example.org" \
			"logfile $T/outbox.log" "$@"
	} | write_config "$T/$_c_name.conf"
}

# session CONF [OPTIONS...]: runs `outbox -C CONF -bs OPTIONS` with stdin
# the caller's, replies in $OUT, stderr in $ERR, exit status in $status.
session() {
	_s_conf=$1
	shift
	run "$OUTBOX" -C "$T/$_s_conf.conf" -bs "$@"
}

# codes: the reply codes in $OUT, one line, continuation lines left out.
codes() {
	sed -n 's/^\([0-9][0-9][0-9]\) .*/\1/p' "$OUT" | tr '\n' ' ' | sed 's/ $//'
}

server_start srv --mode plain --pipelining --size 10000000 || bail "server did not start"
config srv "$(server_port srv)"

# --- 1: a scripted session, two messages, RSET between ------------------
printf '%s\r\n' "EHLO client.example" \
	"MAIL FROM:<alice@example.org>" "RCPT TO:<carol@example.net>" \
	"RCPT TO:<dave@example.com>" "DATA" \
	"From: alice@example.org" "To: carol@example.net" \
	"Date: Thu, 26 Nov 2026 10:00:00 +0000" "Message-ID: <bs-1@example.org>" \
	"Subject: first" "" "one" ".." "..two dots" ".leading dot" "" "last" "." \
	"MAIL FROM:<mallory@example.org>" "RCPT TO:<eve@example.net>" "RSET" \
	"MAIL FROM:<> BODY=8BITMIME SIZE=300" "RCPT TO:<erin@example.net>" "DATA" \
	"From: bob@example.org" "Date: Thu, 26 Nov 2026 10:00:00 +0000" \
	"Message-ID: <bs-2@example.org>" "Subject: second" "" "two" "." \
	"QUIT" >"$T/script1"
session srv <"$T/script1"
t_is "scripted session: exit 0" 0 "$status"
cp "$OUT" "$T/replies1"
H=$(sed -n '1s/^220 \([^ ]*\) outbox ESMTP\r$/\1/p' "$T/replies1")
t_is "greeting names the host" 1 "$([ -n "$H" ] && echo 1)"
printf '%s\r\n' "220 $H outbox ESMTP" "250-$H" "250-PIPELINING" "250-SIZE 52428800" \
	"250-8BITMIME" "250 ENHANCEDSTATUSCODES" "250 2.1.0 Ok" "250 2.1.5 Ok" \
	"250 2.1.5 Ok" "354 End data with <CR><LF>.<CR><LF>" "250 2.0.0 Ok: queued" \
	"250 2.1.0 Ok" "250 2.1.5 Ok" "250 2.0.0 Ok" "250 2.1.0 Ok" "250 2.1.5 Ok" \
	"354 End data with <CR><LF>.<CR><LF>" "250 2.0.0 Ok: queued" \
	"221 2.0.0 $H closing connection" >"$T/want-replies1"
t_ok "scripted session: the exact replies" cmp "$T/want-replies1" "$T/replies1" ||
	diag_file "$T/replies1" 30
wait_messages srv 2 || diag "the messages did not arrive"
t_is "two messages stored" 2 "$(msg_count srv)"
printf '%s\r\n' "From: alice@example.org" "To: carol@example.net" \
	"Date: Thu, 26 Nov 2026 10:00:00 +0000" "Message-ID: <bs-1@example.org>" \
	"Subject: first" "" "one" "." ".two dots" "leading dot" "" "last" >"$T/want1"
t_ok "first message: exact bytes, dot-unstuffed once" cmp "$T/want1" "$(msg_file srv 1)"
t_is "first message: envelope sender from MAIL" alice@example.org \
	"$(env_field srv 1 mail_from)"
t_is "first message: both recipients" "carol@example.net
dave@example.com" "$(env_field srv 1 rcpt_tos)"
t_is "second message: null sender" "" "$(env_field srv 2 mail_from)"
t_is "second message: only the recipient after RSET" erin@example.net \
	"$(env_field srv 2 rcpt_tos)"
t_like "second message: its own body" "$(msg_file srv 2)" '^Subject: second'
t_unlike "RSET dropped the first transaction" "$T/srv.log" 'mallory|eve@'
t_like "each message logged like a stdin submission" "$T/outbox.log" 'msgid=<bs-2@example.org>'

# --- 2: Python's smtplib over a socketpair -------------------------------
cat >"$T/client.py" <<'EOF'
import smtplib, socket, subprocess, sys

outbox, conf = sys.argv[1], sys.argv[2]
ours, theirs = socket.socketpair()
child = subprocess.Popen([outbox, "-C", conf, "-bs"], stdin=theirs, stdout=theirs)
theirs.close()
s = smtplib.SMTP(local_hostname="client.example")
s.sock = ours
code, _ = s.getreply()
assert code == 220, code
s.ehlo()
assert s.has_extn("pipelining") and s.has_extn("8bitmime"), s.esmtp_features
assert int(s.esmtp_features["size"]) > 0
first = ("From: alice@example.org\r\nTo: carol@example.net\r\n"
         "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <py-1@example.org>\r\n"
         "Subject: smtplib\r\n\r\n.starts with a dot\r\n.\r\nend\r\n")
refused = s.sendmail("alice@example.org", ["carol@example.net"], first)
assert refused == {}, refused
second = ("From: bob@example.org\r\nTo: dave@example.com\r\n"
          "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <py-2@example.org>\r\n"
          "Subject: 8bit\r\n\r\ncaf\xc3\xa9\r\n").encode("latin-1")
s.sendmail("bob@example.org", ["dave@example.com", "erin@example.net"], second,
           mail_options=["BODY=8BITMIME"])
code, _ = s.noop()
assert code == 250, code
s.quit()
ours.close()
sys.exit(child.wait())
EOF
t_ok "smtplib: two messages in one session, outbox exits 0" \
	"$E2E_PY" "$T/client.py" "$OUTBOX" "$T/srv.conf"
wait_messages srv 4 || diag "the smtplib messages did not arrive"
printf '%s\r\n' "From: alice@example.org" "To: carol@example.net" \
	"Date: Thu, 26 Nov 2026 10:00:00 +0000" "Message-ID: <py-1@example.org>" \
	"Subject: smtplib" "" ".starts with a dot" "." "end" >"$T/want3"
t_ok "smtplib: first message stored byte for byte" cmp "$T/want3" "$(msg_file srv 3)"
printf 'From: bob@example.org\r\nTo: dave@example.com\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <py-2@example.org>\r\nSubject: 8bit\r\n\r\ncaf\303\251\r\n' >"$T/want4"
t_ok "smtplib: 8-bit message stored byte for byte" cmp "$T/want4" "$(msg_file srv 4)"
t_is "smtplib: second envelope" "bob@example.org dave@example.com
erin@example.net" "$(env_field srv 4 mail_from) $(env_field srv 4 rcpt_tos)"
t_like "smtplib: BODY=8BITMIME passed on" "$(server_dir srv)/msg-4.env" 'BODY=8BITMIME'

# --- 3: a message the server refuses (queue off): 5xx, session goes on ----
server_start perm --mode plain --fault 'eod#1:554 5.7.1 refused as spam' ||
	bail "server did not start"
config perm "$(server_port perm)" "queue off"
printf '%s\r\n' "EHLO c" "MAIL FROM:<bob@example.org>" "RCPT TO:<carol@example.net>" \
	"DATA" "Subject: spam" "" "buy" "." "NOOP" \
	"MAIL FROM:<bob@example.org>" "RCPT TO:<carol@example.net>" \
	"DATA" "Subject: ham" "" "hello" "." "QUIT" >"$T/script3"
session perm <"$T/script3"
t_is "refused message: exit 0 all the same" 0 "$status"
t_is "refused message: 554 after the dot, the next message 250" \
	"220 250 250 250 354 554 250 250 250 354 250 221" "$(codes)"
t_like "refused message: the reply carries the server's words" "$OUT" \
	'^554 5\.0\.0 Error: .*refused as spam'
t_like "refused message: reported on stderr too" "$ERR" 'refused as spam'
wait_messages perm 1 || diag "the second message did not arrive"
t_is "refused message: only the second one stored" 1 "$(msg_count perm)"
t_like "refused message: stored the second" "$(msg_file perm 1)" '^Subject: ham'

# --- 4: a temporary failure: 4xx with queue off, 250 and queued with it --
server_start temp --mode plain --fault 'eod:451 4.3.0 try later' ||
	bail "server did not start"
config temp "$(server_port temp)" "queue off"
printf '%s\r\n' "MAIL FROM:<bob@example.org>" "RCPT TO:<carol@example.net>" \
	"DATA" "Subject: later" "" "body" "." "QUIT" >"$T/script4"
session temp <"$T/script4"
t_is "temporary failure, queue off: exit 0" 0 "$status"
t_is "temporary failure, queue off: 451 after the dot" "220 250 250 354 451 221" "$(codes)"
t_like "temporary failure, queue off: the server's words" "$OUT" '^451 4\.0\.0 Error: .*try later'
config tempq "$(server_port temp)" "queue on" "queue_dir $T/tempq-queue"
session tempq <"$T/script4"
t_is "temporary failure, queue on: 250, the message is queued" "220 250 250 354 250 221" \
	"$(codes)"
run "$OUTBOX" -C "$T/tempq.conf" -bp
t_like "temporary failure, queue on: mailq lists it" "$OUT" 'carol@example.net'
t_is "temporary failure: nothing stored" 0 "$(msg_count temp)"

# --- 5: malformed commands and bad sequences ----------------------------
{
	printf '%s\r\n' "" "BOGUS" "RCPT TO:<carol@example.net>" "DATA" "EHLO" \
		"MAIL FROM:<bad address@x>" "MAIL FROM:<bob@example.org> FOO=BAR" \
		"MAIL FROM:<bob@example.org>" "MAIL FROM:<bob@example.org>" \
		"RCPT TO:<>" "RCPT TO:<carol@example.net> NOTIFY=NEVER" "DATA" "AUTH PLAIN" \
		"STARTTLS"
	printf 'NO\000OP\r\n'
	"$E2E_PY" -c 'print("NOOP " + "x" * 5000, end="\r\n")'
	printf '%s\r\n' "VRFY root" "RCPT TO:<carol@example.net>" "DATA" \
		"Subject: after the noise" "" "fine" "." "QUIT"
} >"$T/script5"
session srv <"$T/script5"
t_is "malformed input: exit 0" 0 "$status"
t_is "malformed input: each command answered" \
	"220 500 500 503 503 501 501 555 250 503 501 555 503 502 502 500 500 252 250 354 250 221" \
	"$(codes)"
wait_messages srv 5 || diag "the message after the noise did not arrive"
t_like "malformed input: the valid message still goes out" "$(msg_file srv 5)" \
	'^Subject: after the noise'

# --- 6: the input ends in the middle of DATA ----------------------------
printf '%s\r\n' "MAIL FROM:<bob@example.org>" "RCPT TO:<carol@example.net>" "DATA" \
	"Subject: cut off" "" "half a mess" >"$T/script6"
session srv <"$T/script6"
t_is "EOF in DATA: exit 65" 65 "$status"
t_like "EOF in DATA: says so" "$ERR" 'ended inside DATA'
t_is "EOF in DATA: replies up to 354 only" "220 250 250 354" "$(codes)"
t_is "EOF in DATA: nothing submitted" 5 "$(msg_count srv)"
t_unlike "EOF in DATA: nothing logged as sent" "$T/outbox.log" 'cut off|half a mess'
run "$OUTBOX" -C "$T/srv.conf" -bp
t_like "EOF in DATA: nothing queued" "$OUT" 'queue is empty'

# --- 7: `logfile -` cannot write into the SMTP channel -------------------
config dash "$(server_port srv)" "logfile -"
printf '%s\r\n' "MAIL FROM:<bob@example.org>" "RCPT TO:<carol@example.net>" "DATA" \
	"Subject: dash" "" "x" "." "QUIT" >"$T/script7"
session dash <"$T/script7"
t_is "logfile -: exit 0" 0 "$status"
t_unlike "logfile -: only SMTP replies on stdout" "$OUT" '^[^0-9]|^[0-9]{3}[^ -]'
t_like "logfile -: the record went to stderr" "$ERR" 'smtpstatus=250 .*action=delivered'

# --- 8: -odq: queued, not sent -------------------------------------------
printf '%s\r\n' "MAIL FROM:<bob@example.org>" "RCPT TO:<frank@example.net>" "DATA" \
	"Subject: later" "" "x" "." "QUIT" >"$T/script8"
session srv -odq <"$T/script8"
t_is "-bs -odq: 250 for the queued message" "220 250 250 354 250 221" "$(codes)"
run "$OUTBOX" -C "$T/srv.conf" -bp
t_like "-bs -odq: the message waits in the queue" "$OUT" 'frank@example.net'

# --- 9: a background flush does not hold the client's pipe open ----------
# A message for a slow server waits in the queue; delivering a -bs message
# to srv starts a background flush of it.  The client must see EOF as soon
# as the session ends, not when the flush does.
server_start slow --mode plain --fault 'greeting:sleep 6' || bail "server did not start"
write_config "$T/two.conf" <<EOC
defaults
tls off
timeout 10
queue_dir $T/two-queue
logfile $T/outbox.log

account default
host 127.0.0.1
port $(server_port srv)
from bob@example.org

account slowpoke
host 127.0.0.1
port $(server_port slow)
from bob@example.org
EOC
printf 'Subject: slow\n\nx\n' >"$T/slow.eml"
t_exit "a message for the slow server is queued" 0 \
	"$OUTBOX" -C "$T/two.conf" -a slowpoke -odq grace@example.net <"$T/slow.eml"
printf '%s\r\n' "MAIL FROM:<bob@example.org>" "RCPT TO:<heidi@example.net>" "DATA" \
	"Subject: quick" "" "x" "." "QUIT" >"$T/script9"
start=$(date +%s%N)
"$OUTBOX" -C "$T/two.conf" -bs <"$T/script9" 2>"$T/err9" | cat >"$T/out9"
elapsed=$((($(date +%s%N) - start) / 1000000))
t_is "background flush: the session was answered" "220 250 250 354 250 221" \
	"$(sed -n 's/^\([0-9][0-9][0-9]\) .*/\1/p' "$T/out9" | tr '\n' ' ' | sed 's/ $//')"
ok "$([ "$elapsed" -lt 4000 ] && echo 0 || echo 1)" \
	"background flush: EOF on the client's pipe at once (${elapsed} ms)"
wait_messages slow 1 15
t_is "background flush: the queued message went out after all" 1 "$(msg_count slow)"

done_testing
