#!/bin/sh
# oneoff.t - settings given on one command line belong to that one
# submission (DESIGN.md 2, step 6).  A setting that changes where or how
# mail travels (--host, --port, --tls-certcheck...) makes the message a
# one-off: sent at once, never queued, and never the carrier of other
# mail.  Checks: a message waiting for account A is not sent over a later
# `outbox --port=OTHER --tls-certcheck=off` connection, nor by the flush
# that follows it; a --host submission that cannot be delivered is exit
# 75 with nothing queued (never held for ever); -odq/-odb, -q and --watch
# with such a setting are refused; a setting that only shapes the message
# (--from) still queues.
#
# Untrusted data: none beyond the test's own files; both servers run on
# 127.0.0.1 inside this test's temp dir.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

FROM=bob@example.org
RCPT=alice@example.org

# mkmsg TAG: $T/TAG.in, a small message whose Subject is "[TAG]".
mkmsg() {
	printf '%s\n' "From: $FROM" "To: $RCPT" "Subject: [$1]" "" "Body of $1." \
		>"$T/$1.in"
}

# stored SRV TAG: how many messages tagged TAG the server SRV stored.
stored() {
	grep -l -F "Subject: [$2]" "$T/$1"/msg-*.eml 2>/dev/null | wc -l | tr -d ' '
}

# inq DIR: messages waiting in the queue (msg/).
inq() {
	# shellcheck disable=SC2012
	ls -A "$T/q/msg" 2>/dev/null | wc -l | tr -d ' '
}

server_start home --mode starttls --cert "$CERT" --key "$KEY" --auth bob:secret ||
	bail "the account's server does not start"
server_start other --mode starttls --cert "$OTHER_CERT" --key "$OTHER_KEY" \
	--auth bob:secret || bail "the other server does not start"
HOME_PORT=$(server_port home)
OTHER_PORT=$(server_port other)

write_config "$T/a.conf" <<EOC
account default
host 127.0.0.1
port $HOME_PORT
tls on
tls_trust_file $CA
user bob
password secret
from $FROM
timeout 3
queue_dir $T/q
EOC

# --- waiting mail never travels over a one-off connection ----------------
mkmsg waiting
t_exit "-odq queues a message for the account" 0 \
	"$OUTBOX" -C "$T/a.conf" -odq "$RCPT" <"$T/waiting.in"
t_is "it waits in msg/" 1 "$(inq)"

mkmsg oneoff
t_exit "--port=OTHER --tls-certcheck=off: the one-off message is sent" 0 \
	"$OUTBOX" -C "$T/a.conf" --port="$OTHER_PORT" --tls-certcheck=off "$RCPT" \
	<"$T/oneoff.in"
t_is "the other server got the one-off message" 1 "$(stored other oneoff)"
# A flush after a success would run in the background: give it time.
sleep 1
t_is "the other server never got the waiting message" 0 "$(stored other waiting)"
t_is "the waiting message still waits" 1 "$(inq)"
t_is "the account's server has nothing yet" 0 "$(stored home waiting)"

t_exit "-q sends it with the account's own configuration" 0 \
	"$OUTBOX" -C "$T/a.conf" -q </dev/null
t_is "the account's server got the waiting message" 1 "$(stored home waiting)"
t_is "the queue is empty" 0 "$(inq)"

# --- a one-off that cannot be delivered is not queued --------------------
DOWN=$(unused_port)
mkmsg down
t_exit "--host with no configuration, server down: exit 75" 75 \
	"$OUTBOX" --host=127.0.0.1 --port="$DOWN" --tls=off --queue-dir="$T/q" "$RCPT" \
	<"$T/down.in"
t_like "stderr says it was not queued and why" "$ERR" \
	'message not queued \(--host on the command line is for this attempt only\)'
t_is "nothing was queued" 0 "$(inq)"

mkmsg down2
t_exit "an account with --port=DOWN: exit 75" 75 \
	"$OUTBOX" -C "$T/a.conf" --port="$DOWN" "$RCPT" <"$T/down2.in"
t_like "stderr names --port" "$ERR" 'not queued \(--port on the command line'
t_is "nothing was queued" 0 "$(inq)"

# --- what cannot work is refused up front ----------------------------------
t_exit "-odq with --port: exit 64" 64 \
	"$OUTBOX" -C "$T/a.conf" -odq --port="$OTHER_PORT" "$RCPT" <"$T/down.in"
t_like "it says the setting is never queued" "$ERR" \
	'--port on the command line is never queued'
t_exit "-odb with --host: exit 64" 64 \
	"$OUTBOX" -odb --host=127.0.0.1 "$RCPT" <"$T/down.in"
t_exit "-q with --port: exit 64" 64 "$OUTBOX" -C "$T/a.conf" -q --port="$OTHER_PORT" </dev/null
t_like "it says queued mail keeps its configuration" "$ERR" \
	"queued messages travel only with their own account's configuration"
t_exit "--watch with --tls-certcheck=off: exit 64" 64 \
	timeout 20 "$OUTBOX" -C "$T/a.conf" --watch --tls-certcheck=off </dev/null
t_is "nothing was queued by the refusals" 0 "$(inq)"

# --- a setting that only shapes the message still queues -----------------
mkmsg shaped
t_exit "-odq --from=OTHER queues" 0 \
	"$OUTBOX" -C "$T/a.conf" -odq --from=carol@example.org "$RCPT" <"$T/shaped.in"
t_is "it waits in msg/" 1 "$(inq)"
t_like "with the envelope sender of that command line" "$T/q/msg/$(ls "$T/q/msg")" \
	'^from carol@example.org$'
t_exit "-q sends it" 0 "$OUTBOX" -C "$T/a.conf" -q </dev/null
t_is "the account's server got it" 1 "$(stored home shaped)"

done_testing
