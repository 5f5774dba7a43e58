#!/bin/sh
# wire.t - how outbox uses the network: one write for a pipelined command
# group, 64 KiB pieces (four full TLS records in one send) for the message,
# never one system call per line.  Counted with strace; not a benchmark.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
command -v strace >/dev/null 2>&1 || skip_all "strace not installed"
e2e_setup
e2e_certs
plan_lazy

server_start plain --mode plain --pipelining || bail "server did not start"
server_start tls --mode starttls --cert "$CERT" --key "$KEY" --auth bob:secret ||
	bail "server did not start"

write_config "$T/plain.conf" <<EOC
account default
host 127.0.0.1
port $(server_port plain)
tls off
from bob@example.org
EOC
write_config "$T/tls.conf" <<EOC
account default
host 127.0.0.1
port $(server_port tls)
tls_trust_file $CA
user bob
password secret
from bob@example.org
EOC

# A 1 MiB message of 64-byte lines: 16384 lines.
/usr/bin/python3 -c '
import sys
sys.stdout.write("Subject: big\n\n")
for i in range(16384):
    sys.stdout.write("%063d\n" % i)' >"$T/big"

# (LeakSanitizer cannot run under ptrace: leaks are checked by every other
# test of the sanitizer build.)
# The syscalls that put bytes on a socket (outbox's own send() and GnuTLS's
# sendmsg(); write() is only used for the spool file).
SENDS='trace=sendto,sendmsg,writev'
# With CRLF the 1 MiB is 1.0625 MiB on the wire: 17 pieces of 64 KiB (four
# full TLS records each), plus the commands before DATA and the TLS
# handshake.  msmtp makes one per line: 16384.
MAX_SENDS=36

ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e "$SENDS" -s 256 -o "$T/plain.trace" \
	"$OUTBOX" -C "$T/plain.conf" a@example.net b@example.net <"$T/big"
ok $? "plain: delivered under strace"
wait_messages plain 1
t_like "plain: MAIL, both RCPTs and DATA in one write" "$T/plain.trace" \
	'MAIL FROM:<bob@example.org>.*\\r\\nRCPT TO:<a@example.net>\\r\\nRCPT TO:<b@example.net>\\r\\nDATA\\r\\n"'
sends=$(grep -c -E '^[0-9]+ +(sendto|sendmsg|writev)\(' "$T/plain.trace")
diag "plain: $sends send calls for 1 MiB"
ok "$( [ "$sends" -le $MAX_SENDS ]; echo $?)" "plain: at most $MAX_SENDS send calls for 16384 lines (64 KiB each)"

ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e "$SENDS" -o "$T/tls.trace" \
	"$OUTBOX" -C "$T/tls.conf" a@example.net <"$T/big"
ok $? "TLS: delivered under strace"
wait_messages tls 1
sends=$(grep -c -E '^[0-9]+ +(sendto|sendmsg|writev)\(' "$T/tls.trace")
diag "TLS: $sends send calls for 1 MiB"
ok "$( [ "$sends" -le $MAX_SENDS ]; echo $?)" "TLS: at most $MAX_SENDS send calls for 16384 lines (four records each)"
t_is "TLS: the server got all 16384 lines" 16384 "$(grep -c '^[0-9]\{63\}.$' "$(msg_file tls 1)")"

done_testing
