#!/bin/sh
# demo.sh - the one-command demonstration: installs what is missing, builds
# outbox, starts a local SMTP server (aiosmtpd, STARTTLS + AUTH PLAIN, a
# certificate made just now) and sends one message through it, showing the
# transcript, the exit status and where the server stored the message.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh tests/deps.sh
[ -x configure ] || autoreconf -fi >/dev/null 2>&1
mkdir -p _build
(cd _build && { [ -f Makefile ] || ../configure --enable-werror >/dev/null; } &&
	make -j"$(nproc 2>/dev/null || echo 2)" src/outbox >/dev/null)

OUTBOX=$top/_build/src/outbox
top_srcdir=$top
export OUTBOX top_srcdir
. "$top/tests/e2e/lib.sh"
E2E_KEEP=1
e2e_setup
e2e_certs
server_start demo --mode starttls --cert "$CERT" --key "$KEY" --auth demo:demo-password ||
	{ echo "demo: the test server did not start" >&2; exit 1; }

write_config "$XDG_CONFIG_HOME/outbox/config" <<EOC
account default
host 127.0.0.1
port $(server_port demo)
tls on
tls_starttls on
tls_trust_file $CA
user demo
password demo-password
from demo@example.org
logfile $T/outbox.log
EOC

echo "== outbox -v alice@example.net  (STARTTLS + AUTH PLAIN to 127.0.0.1:$(server_port demo))"
status=0
printf 'To: alice@example.net\nSubject: Hello from outbox\n\nThis message went through STARTTLS and AUTH.\n' |
	"$OUTBOX" -v alice@example.net || status=$?
echo "== exit status: $status"
if [ "$status" -eq 0 ] && wait_messages demo 1; then
	echo "== the server stored the message in $(msg_file demo 1):"
	cat "$(msg_file demo 1)" | tr -d '\r'
	echo "== envelope: $(tr -d '\n ' <"$(server_dir demo)/msg-1.env")"
	echo "== outbox's log line:"
	cat "$T/outbox.log"
fi
echo "== (files kept in $T)"
exit "$status"
