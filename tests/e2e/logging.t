#!/bin/sh
# logging.t - the delivery log: every line parses with the grammar in
# outbox(1) LOGGING, the log file survives rotation (opened per line,
# O_APPEND), Bcc recipients never appear, and `syslog FACILITY` reaches
# syslog(3) with that facility (as root, through a private /dev/log).
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

server_start srv --mode starttls --cert "$CERT" --key "$KEY" --auth bob:secret \
	--fault 'rcpt=refused@example.net:550 5.1.1 no such user' || bail "server did not start"
PORT=$(server_port srv)
LOG=$T/outbox.log

write_config "$T/conf" <<EOC
account default
host 127.0.0.1
port $PORT
tls_trust_file $CA
user bob
password secret
from bob@example.org
logfile $LOG
timeout 3
EOC

printf 'To: alice@example.net\nSubject: log\n\nbody\n' >"$T/msg"
t_exit "a delivery" 0 "$OUTBOX" -C "$T/conf" alice@example.net hidden@example.net <"$T/msg"
printf 'To: alice@example.net, refused@example.net\nSubject: log\n\nbody\n' >"$T/msg2"
t_exit "a partly refused delivery" 0 "$OUTBOX" -C "$T/conf" alice@example.net \
	refused@example.net <"$T/msg2"
printf "To: o'brien@example.net\nSubject: quote\n\nbody\n" >"$T/quote"
t_exit "a recipient with a quote" 0 "$OUTBOX" -C "$T/conf" "o'brien@example.net" <"$T/quote"
write_config "$T/down" <<EOC
account default
host 127.0.0.1
port $(unused_port)
tls_trust_file $CA
from bob@example.org
logfile $LOG
timeout 3
EOC
t_exit "a queued message (server down)" 0 "$OUTBOX" -C "$T/down" alice@example.net <"$T/msg"
t_is "four lines logged" 4 "$(wc -l <"$LOG" | tr -d ' ')"

# The grammar of outbox(1): time, then name=value fields; quoted values
# only for smtpmsg and errormsg.
GRAMMAR="^[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}( [a-z]+=('[^']*'|[^ ']*))+\$"
bad=$(grep -c -v -E "$GRAMMAR" "$LOG")
t_is "every line parses with the documented grammar" 0 "$bad"
[ "$bad" = 0 ] || diag_file "$LOG"
t_is "quoted values only for smtpmsg and errormsg" "errormsg smtpmsg" \
	"$(grep -o " [a-z]*='" "$LOG" | tr -d " ='" | sort -u | tr '\n' ' ' | sed 's/ $//')"
t_like "field order as in msmtp" "$LOG" \
	'host=127\.0\.0\.1 tls=on auth=on user=bob from=bob@example\.org recipients=alice@example\.net bcc=1 msgid=<[^ ]*> mailsize=[0-9]+ smtpstatus=250 smtpmsg=.* exitcode=EX_OK id=[0-9a-f]{23} action=delivered$'
t_unlike "a Bcc recipient is never logged" "$LOG" 'hidden@'
t_like "a refused recipient is named in errormsg" "$LOG" "errormsg='recipient refused@example.net rejected: 550 5.1.1 no such user'"
t_like "a quote in a plain value becomes _" "$LOG" "recipients=o_brien@example.net"
t_like "the queued attempt" "$LOG" "exitcode=EX_TEMPFAIL id=[0-9a-f]{23} action=retry-soon\$"

# Rotation: the file is opened for each line.
mv "$LOG" "$LOG.1"
t_exit "a delivery after rotation" 0 "$OUTBOX" -C "$T/conf" alice@example.net <"$T/msg"
t_is "the new line went to a new file" 1 "$(wc -l <"$LOG" | tr -d ' ')"
t_is "the rotated file kept its lines" 4 "$(wc -l <"$LOG.1" | tr -d ' ')"
t_is "the new file is private" 600 "$(stat -c %a "$LOG")"

# syslog: a private /dev/log in a mount namespace (root only).
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1; then
	t_skip "syslog with a facility" "needs root and unshare for a private /dev/log"
else
	mkdir "$T/dev"
	for node in null zero urandom random; do
		touch "$T/dev/$node"
	done
	cat >"$T/sink.py" <<'EOP'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2], "w").close()
s.settimeout(20)
with open(sys.argv[3], "ab") as out:
    for _ in range(2):
        data, _ = s.recvfrom(65536)
        out.write(data + b"\n")
        out.flush()
EOP
	write_config "$T/sys" <<EOC
account default
host 127.0.0.1
port $PORT
tls_trust_file $CA
user bob
password secret
from bob@example.org
syslog LOG_MAIL

account local3 : default
syslog LOG_LOCAL3
EOC
	unshare --mount --propagation private sh -c '
		for node in null zero urandom random; do
			mount --bind /dev/$node "$1/dev/$node"
		done
		mount --bind "$1/dev" /dev || exit 1
		/usr/bin/python3 "$1/sink.py" /dev/log "$1/sink.ready" "$1/syslog.out" &
		sink=$!
		i=0
		while [ ! -f "$1/sink.ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
		"$2" -C "$1/sys" alice@example.net <"$1/msg"
		"$2" -C "$1/sys" -a local3 alice@example.net <"$1/msg"
		wait $sink
	' sh "$T" "$OUTBOX" >"$T/ns.out" 2>&1
	t_is "syslog: two messages arrived at /dev/log" 2 "$(grep -c 'host=' "$T/syslog.out" 2>/dev/null || echo 0)"
	# <PRI> = facility * 8 + severity: mail.info 22, local3.info 158.
	t_like "syslog LOG_MAIL: facility mail, priority info" "$T/syslog.out" '^<22>.*outbox\[[0-9]+\]: host=127\.0\.0\.1 .*action=delivered'
	t_like "syslog LOG_LOCAL3: facility local3" "$T/syslog.out" '^<158>.*outbox\[[0-9]+\]: host='
	t_unlike "syslog lines carry no time of their own" "$T/syslog.out" 'outbox\[[0-9]+\]: [A-Z][a-z][a-z] [ 0-9][0-9] '
	[ -s "$T/ns.out" ] && diag_file "$T/ns.out"
fi

done_testing
