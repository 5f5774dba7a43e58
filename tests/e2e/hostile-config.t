#!/bin/sh
# hostile-config.t - configuration files written by someone else, or by
# mistake: each row is a crafted file (or something that is not a file)
# and what outbox must do with it: the exit status, a fragment of the one
# line it prints (never a raw control byte), whether it returns at all
# (every run is bounded by timeout(1): a hang fails the row), and what the
# queue holds afterwards (nothing for an error found before the message is
# read; a held message for account trouble found while talking to the
# server, never a message in failed/).
#
# Untrusted data: the crafted files are the test's own; the one server runs
# on 127.0.0.1 inside this test's temp dir.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

RCPT=alice@example.org
ESC=$(printf '\033')
printf '%s\n' "From: bob@example.org" "To: $RCPT" "Subject: [cfg]" "" "body" >"$T/msg.in"

server_start srv --mode starttls --cert "$CERT" --key "$KEY" --auth bob:secret ||
	bail "the test server does not start"
PORT=$(server_port srv)

# base: the lines of a working account (more lines follow per row).
base() {
	cat <<EOC
account default
host 127.0.0.1
port $PORT
tls on
tls_trust_file $CA
from bob@example.org
timeout 3
queue_dir $T/q
EOC
}

# count DIR: entries in the queue's subdirectory DIR.
count() {
	# shellcheck disable=SC2012
	ls -A "$T/q/$1" 2>/dev/null | wc -l | tr -d ' '
}

# row NAME EXIT PATTERN QUEUE [outbox arguments...]: run outbox -C
# $T/NAME.conf (written by the caller) with the message, and check the
# exit status, that stderr matches PATTERN and has no ESC, and the queue:
# QUEUE is "none" (msg/ and failed/ empty) or "held" (one message in msg/,
# held, and failed/ empty).
row() {
	_r_name=$1
	_r_exit=$2
	_r_pat=$3
	_r_queue=$4
	shift 4
	rm -rf "$T/q"
	run timeout 30 "$OUTBOX" -C "$T/$_r_name.conf" "$@" "$RCPT" <"$T/msg.in"
	if [ "$status" -eq "$_r_exit" ]; then
		t_pass "$_r_name: exit status $_r_exit"
	else
		t_fail "$_r_name: exit status $_r_exit"
		_t_diag_run
	fi
	t_like "$_r_name: stderr says what is wrong" "$ERR" "$_r_pat"
	t_is "$_r_name: stderr is one line" 1 "$(wc -l <"$ERR" | tr -d ' ')"
	t_unlike "$_r_name: no raw ESC on stderr" "$ERR" "$ESC"
	t_is "$_r_name: nothing in failed/" 0 "$(count failed)"
	case $_r_queue in
	none) t_is "$_r_name: nothing queued" 0 "$(count msg)" ;;
	held)
		t_is "$_r_name: the message waits in msg/" 1 "$(count msg)"
		t_like "$_r_name: it is held" "$T/q/state/$(ls "$T/q/msg")" '^held 1$'
		;;
	esac
	t_is "$_r_name: the server stored nothing" 0 "$(msg_count srv)"
}

# long N CHAR: N copies of CHAR.
long() {
	head -c "$1" /dev/zero | tr '\0' "$2"
}

# --- values that would put something odd on the wire ------------------------
{ base; echo "domain $(long 70000 a)"; } | write_config "$T/domain-70k.conf"
row domain-70k 78 "invalid argument 'a+' for domain: expected a host name" none

{ base; echo "domain mail host.example"; } | write_config "$T/domain-space.conf"
row domain-space 78 "invalid argument 'mail host.example' for domain" none

{ base; echo "domain a${ESC}[2Jb"; } | write_config "$T/domain-esc.conf"
row domain-esc 78 "for domain: expected a host name" none

{ base; echo "domain [192.0.2.1"; } | write_config "$T/domain-bracket.conf"
row domain-bracket 78 "for domain: expected a host name" none

# A user name that makes AUTH longer than any command outbox sends: found
# while talking to the server, so the message is held (account trouble),
# never failed as a bad message.
{
	base
	echo "auth plain"
	echo "user $(long 60000 u)"
	echo "password secret"
} | write_config "$T/user-huge.conf"
row user-huge 0 "held: .*check the account's domain, user and password" held

# --- files that are not what they seem ---------------------------------------
mkfifo "$T/fifo.conf"
row fifo 78 "" none
t_unlike "fifo: outbox did not wait for a writer (timeout 30)" "$ERR" 'Terminated'

ln -s /dev/zero "$T/zero.conf"
row zero 78 "is larger than 4 MiB" none

mkdir "$T/dir.conf"
row dir 78 "cannot read .*dir.conf" none

{ base; printf 'domain a\000b\n'; } >"$T/nul.conf"
chmod 600 "$T/nul.conf"
row nul 78 "NUL" none

{ base; printf 'port 587\r\n'; } | write_config "$T/crlf.conf"
t_exit "crlf: a file with CRLF line ends is read" 0 \
	"$OUTBOX" -C "$T/crlf.conf" --pretend </dev/null

{ base; echo "tls_fingerprint 00:11"; } | write_config "$T/fpr.conf"
row fpr 78 "for tls_fingerprint: expected a SHA-256 fingerprint" none

{ base; echo "port 0"; } | write_config "$T/port0.conf"
row port0 78 "expected a number from 1 to 65535" none

{ base; echo "port 65536"; } | write_config "$T/port-big.conf"
row port-big 78 "expected a number from 1 to 65535" none

{ base; echo "timeout 99999999999999999999"; } | write_config "$T/timeout-big.conf"
row timeout-big 78 "for timeout: expected off or seconds" none

printf '%s\n' "account a : b" "host x" "account b : a" "host y" |
	write_config "$T/loop.conf"
row loop 78 "" none -a a

{ base; echo "eval printf 'domain x\\033]0;owned\\007'"; } | write_config "$T/eval-esc.conf"
row eval-esc 78 "for domain" none

{ base; echo "password secret"; } >"$T/open.conf"
chmod 644 "$T/open.conf"
row open 78 "chmod 600" none

done_testing
