#!/bin/sh
# send.t - outbox delivers through STARTTLS + AUTH to a real server and the
# server stores exactly what DESIGN.md promises: the envelope, the headers
# outbox adds or removes, and the body byte for byte (CRLF on the wire,
# dot-stuffing undone by the server, NUL and 8-bit bytes intact).
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

server_start srv --mode starttls --cert "$CERT" --key "$KEY" --auth bob:secret \
	--pipelining --dsn --smtputf8 --size 10000000 || bail "server did not start"
PORT=$(server_port srv)

write_config "$XDG_CONFIG_HOME/outbox/config" <<EOC
defaults
tls on
tls_starttls on
tls_trust_file $CA
timeout 10
logfile $T/outbox.log

account default
host 127.0.0.1
port $PORT
user bob
password secret
from bob@example.org
EOC

n=0
# send DESC ARGS...: stdin is the message; expects exit 0 and one more
# stored message, whose number ends up in $n.
send() {
	_desc=$1
	shift
	t_exit "$_desc: exit 0" 0 "$OUTBOX" "$@"
	n=$((n + 1))
	wait_messages srv "$n" || diag "message $n did not arrive"
	M=$(msg_file srv "$n")
}

# --- bytes -------------------------------------------------------------
printf 'From: bob@example.org\nTo: alice@example.net\nDate: Thu, 26 Nov 2026 10:00:00 +0000\nMessage-ID: <fixed@example.org>\nSubject: exact\n\nline one\n.\n..two dots\n.leading dot\n\ntrailing blank\n' >"$T/in1"
printf 'From: bob@example.org\r\nTo: alice@example.net\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <fixed@example.org>\r\nSubject: exact\r\n\r\nline one\r\n.\r\n..two dots\r\n.leading dot\r\n\r\ntrailing blank\r\n' >"$T/want1"
send "plain message" alice@example.net <"$T/in1"
t_ok "stored bytes are the input with CRLF line endings" cmp "$T/want1" "$M"
t_is "envelope sender" "bob@example.org" "$(env_field srv "$n" mail_from)"
t_is "envelope recipient" "alice@example.net" "$(env_field srv "$n" rcpt_tos)"
t_is "session was TLS" "true" "$(env_field srv "$n" tls)"
t_is "authenticated as bob" "bob" "$(env_field srv "$n" auth)"
t_like "SIZE= sent when offered" "$(server_dir srv)/msg-$n.env" 'SIZE='

send "CRLF input" alice@example.net <"$T/want1"
t_ok "CRLF input stored unchanged" cmp "$T/want1" "$M"

printf 'Subject: nul\n\na\000b\377c\nno final newline' >"$T/in2"
printf 'Subject: nul\r\n' >"$T/want2"
send "NUL and 8-bit body" -f bob@example.org alice@example.net <"$T/in2"
sed -n '/^\r$/,$p' "$M" >"$T/body2"
printf '\r\na\000b\377c\r\nno final newline\r\n' >"$T/wantbody2"
t_ok "body with NUL and 0xff kept, final CRLF added" cmp "$T/wantbody2" "$T/body2"
t_like "BODY=8BITMIME for 8-bit content" "$(server_dir srv)/msg-$n.env" 'BODY=8BITMIME'

/usr/bin/python3 -c 'import sys; sys.stdout.write("Subject: long\n\n" + "x" * 2500 + "\nend\n")' >"$T/in3"
send "2500-octet line" alice@example.net <"$T/in3"
# Long lines go out whole (they used to be broken after 998 octets).
t_is "the 2500-octet line arrives whole, unbroken" 1 "$(grep -c '^x\{2500\}.$' "$M")"
t_is "the long line's octets all arrive" 2500 "$(sed -n '/^\r$/,$p' "$M" | tr -d '\r\n' | sed 's/end$//' | wc -c | tr -d ' ')"

# --- headers outbox adds and removes ------------------------------------
printf 'To: alice@example.net\nSubject: bare\n\nhi\n' >"$T/in4"
send "message without From, Date, Message-ID" alice@example.net <"$T/in4"
t_like "From added from the account" "$M" '^From: bob@example.org'
t_like "Date added" "$M" '^Date: [A-Z][a-z][a-z], [0-9]+ [A-Z][a-z][a-z] [0-9]{4} [0-9:]{8} [+-][0-9]{4}'
t_like "Message-ID added" "$M" '^Message-ID: <[0-9a-f]+@example.org>'
t_like "log names the generated Message-ID" "$T/outbox.log" "msgid=$(sed -n 's/^Message-ID: \(<[^>]*>\).*/\1/p' "$M")"

send "-F names the generated From" -F "Bob Builder" alice@example.net <"$T/in4"
t_like "From carries the full name" "$M" '^From: Bob Builder <bob@example.org>'

printf 'From: a@example.net\nTo: to@example.net\nCc: cc@example.net\nBcc: hidden@example.net,\n  hidden2@example.net\nSubject: t\n\nbody\n' >"$T/in5"
send "-t with To, Cc and folded Bcc" -t <"$T/in5"
t_is "-t recipients" "to@example.net cc@example.net hidden@example.net hidden2@example.net" "$(env_field srv "$n" rcpt_tos | tr '\n' ' ' | sed 's/ $//')"
t_unlike "Bcc header not sent" "$M" '^Bcc|hidden'
t_like "log hides Bcc recipients but counts them" "$T/outbox.log" 'recipients=to@example.net,cc@example.net bcc=2 '
t_unlike "log never names a Bcc recipient" "$T/outbox.log" 'hidden'

printf 'Resent-To: new@example.net\nResent-From: r@example.net\nTo: old@example.net\nSubject: r\n\nbody\n' >"$T/in6"
send "-t with a Resent- block" -t <"$T/in6"
t_is "-t uses the Resent- block" "new@example.net" "$(env_field srv "$n" rcpt_tos)"

send "-t plus an argv recipient" -t extra@example.net <"$T/in4"
t_is "argv recipients are added to -t's" "extra@example.net alice@example.net" "$(env_field srv "$n" rcpt_tos | tr '\n' ' ' | sed 's/ $//')"

# --- envelope ------------------------------------------------------------
send "null sender" -f '<>' alice@example.net <"$T/in1"
t_is "MAIL FROM:<>" "" "$(env_field srv "$n" mail_from)"

send "-r like -f" -r other@example.org alice@example.net <"$T/in1"
t_is "-r sets the envelope sender" "other@example.org" "$(env_field srv "$n" mail_from)"

send "--read-envelope-from" --read-envelope-from alice@example.net <"$T/in5"
t_is "envelope sender from the From header" "a@example.net" "$(env_field srv "$n" mail_from)"

send "IDN recipient" 'user@bücher.example' <"$T/in4"
t_is "domain converted to A-labels" "user@xn--bcher-kva.example" "$(env_field srv "$n" rcpt_tos)"

send "UTF-8 local part" 'jürgen@example.net' <"$T/in4"
t_like "SMTPUTF8 requested" "$(server_dir srv)/msg-$n.env" 'SMTPUTF8'

send "DSN parameters" -N failure,delay -R hdrs -V env-1 alice@example.net <"$T/in4"
t_like "RET=HDRS" "$(server_dir srv)/msg-$n.env" 'RET=HDRS'
t_like "ENVID" "$(server_dir srv)/msg-$n.env" 'ENVID=env-1'
t_like "NOTIFY" "$(server_dir srv)/msg-$n.env" 'NOTIFY=FAILURE,DELAY'

server_start nodsn --mode starttls --cert "$CERT" --key "$KEY" --auth bob:secret ||
	bail "server did not start"
t_exit "DSN asked of a server without DSN: still delivered" 0 "$OUTBOX" \
	--port="$(server_port nodsn)" -N success -R full -V e1 alice@example.net <"$T/in4"
t_like "a warning says DSN was dropped" "$ERR" 'warning: .*DSN'
wait_messages nodsn 1
t_unlike "no DSN parameters sent" "$(server_dir nodsn)/msg-1.env" 'NOTIFY|RET=|ENVID'

send "unqualified recipient" root <"$T/in4"
t_is "local name takes the sender's domain" "root@example.org" "$(env_field srv "$n" rcpt_tos)"

printf 'root: admin@example.org, ops@example.org\ndefault: catchall@example.org\n' >"$T/aliases"
send "aliases file" --aliases="$T/aliases" root nobody <"$T/in4"
t_is "aliases expanded" "admin@example.org ops@example.org catchall@example.org" "$(env_field srv "$n" rcpt_tos | tr '\n' ' ' | sed 's/ $//')"

# --- refusals before any network activity --------------------------------
before=$(grep -c ' \* connect' "$(server_log srv)")
printf 'Subject: x\n\nbody\n' >"$T/in7"
t_exit "CR/LF in an argv recipient: 65" 65 "$OUTBOX" "$(printf 'a@example.net\r\nRCPT TO:<evil@example.net>')" <"$T/in7"
t_like "the error names the address" "$ERR" 'a@example.net'
t_exit "no recipients: 64" 64 "$OUTBOX" <"$T/in7"
/usr/bin/python3 -c 'import sys; sys.stdout.write("Subject: big\n\n" + ("y" * 99 + "\n") * 30)' >"$T/big"
t_exit "over max_message_size: 65" 65 "$OUTBOX" --max-message-size=2k alice@example.net <"$T/big"
t_like "the error names the limit" "$ERR" 'max_message_size'
t_is "no connection was made for refused input" "$before" "$(grep -c ' \* connect' "$(server_log srv)")"

# The whole message is read before the first network byte: the producer
# checks the server log while still writing.
cp "$(server_log srv)" "$T/srv.log.before"
{
	printf 'Subject: slow\n\nfirst\n'
	sleep 1
	c=$(grep -c ' \* connect' "$(server_log srv)")
	[ "$c" = "$(grep -c ' \* connect' "$T/srv.log.before")" ] || echo CONNECTED-EARLY
	printf 'last\n'
} | "$OUTBOX" alice@example.net 2>"$T/slow.err"
ok $? "slow producer: exit 0"
n=$((n + 1))
wait_messages srv "$n"
t_unlike "no connection while stdin was still open" "$(msg_file srv "$n")" 'CONNECTED-EARLY'
t_like "the slow producer's whole message arrived" "$(msg_file srv "$n")" '^last'

done_testing
