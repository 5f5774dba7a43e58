#!/bin/sh
# postfix.t - AUTH against an independent MTA: a private Postfix instance
# with Cyrus SASL (sasldb), started and stopped by this test as root on
# 127.0.0.1 and a port chosen at run time, offering STARTTLS and, after it,
# every mechanism Cyrus has here among PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1
# and SCRAM-SHA-256.  For each, outbox (tls_starttls on, the test CA, user
# bob) must deliver with exit 0 a message that Postfix stores in a maildir
# with the right envelope sender (Return-Path:) and recipient
# (Delivered-To:), having logged that mechanism for bob; with a wrong
# password it must exit 77 showing the server's reply and send no RCPT.
# `auth on` must pick SCRAM-SHA-256, the strongest both sides have.
# Setup and teardown are in tests/server/postfix-setup.sh; the instance
# never touches /etc/postfix or the system's own Postfix.  Skipped unless
# root with postfix and sasl2-bin installed (and python3-aiosmtpd, which
# lib.sh uses to find a free port).
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
PATH=$PATH:/usr/sbin:/sbin
[ "$(id -u)" -eq 0 ] || skip_all "a private Postfix instance needs root"
for _p in postfix saslpasswd2 script; do
	command -v "$_p" >/dev/null 2>&1 ||
		skip_all "$_p not installed (postfix, sasl2-bin)"
done
e2e_setup
e2e_certs
plan_lazy

# ------------------------------------------------------------ instance ---

PF=$T/postfix
PF_SETUP=$E2E_TOP/tests/server/postfix-setup.sh
LOG=$PF/maillog
# The virtual transport writes the maildirs as nobody.
chmod 711 "$T"

# log_tail: the end of Postfix's log, as diagnostics.
log_tail() {
	diag "the end of $LOG:"
	tail -n 15 "$LOG" | sed 's/^/#   /'
}

# shellcheck disable=SC2317
postfix_stop() {
	sh "$PF_SETUP" stop "$PF"
	_e2e_cleanup
}
trap postfix_stop EXIT

# Another process may take the port between unused_port and Postfix's bind.
# The set-up runs in the foreground (no pipeline), so that a signal's trap
# runs after it, when there is a master to stop.
for _try in 1 2 3; do
	PORT=$(unused_port) || bail "no free port"
	sh "$PF_SETUP" start "$PF" "$PORT" "$CERT" "$KEY" bob \
		>"$T/setup.out" 2>&1 <<EOF && break
secret
EOF
	diag_file "$T/setup.out" 40
	log_tail
	sh "$PF_SETUP" stop "$PF"
	[ "$_try" -lt 3 ] || bail "the private Postfix did not start"
	rm -rf "$PF"
done

# The mechanisms Postfix offers after STARTTLS, asked without outbox.
offered() {
	"$(e2e_python)" - "$PORT" "$CA" <<'EOF'
import smtplib, ssl, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.starttls(context=ssl.create_default_context(cafile=sys.argv[2]))
s.ehlo()
print(s.esmtp_features.get("auth", "").upper().strip())
s.quit()
EOF
}
OFFERED=$(offered 2>"$T/offered.err") || {
	diag_file "$T/offered.err"
	log_tail
	bail "cannot read the private Postfix's EHLO reply"
}
OFFERED=" $OFFERED "
diag "Postfix offers AUTH$OFFERED"
case $OFFERED in
*" PLAIN "*) t_pass "Postfix offers AUTH after STARTTLS" ;;
*) skip_all "Cyrus SASL offers no PLAIN here (libsasl2-modules)" ;;
esac

# --------------------------------------------------------------- helpers ---

# mkconf NAME AUTH PASSWORD: $T/NAME.conf, STARTTLS to the instance as bob.
mkconf() {
	printf '%s\n' defaults 'hold_on_account_error off' 'queue off' \
		'timeout 5' 'from alice@example.org' '' 'account default' \
		'host 127.0.0.1' "port $PORT" 'tls on' 'tls_starttls on' \
		"tls_trust_file $CA" "auth $2" 'user bob' "password $3" |
		write_config "$T/$1.conf"
}

# send NAME: one message through $T/NAME.conf to NAME@example.net.
# shellcheck disable=SC2317
send() {
	printf '%s\n' 'From: alice@example.org' "To: $1@example.net" \
		"Subject: postfix $1" '' "hello from $1" |
		timeout 20 "$OUTBOX" -C "$T/$1.conf" "$1@example.net"
}

# delivered_file RCPT: wait up to 10 s for the message Postfix delivered
# to RCPT@example.net and print its path.
delivered_file() {
	_i=0
	until grep -l -x -F "Delivered-To: $1@example.net" \
		"$PF/mail/example.net/new"/* 2>/dev/null; do
		[ "$_i" -lt 200 ] || return 1
		sleep 0.05
		_i=$((_i + 1))
	done
}

# sasl_method RCPT: the mechanism Postfix logged for the session that
# queued the message delivered to RCPT@example.net.
sasl_method() {
	_q=$(sed -n "s/.* postfix\/virtual\[[0-9]*\]: \([0-9A-F]*\): \
to=<$1@example\.net>.*status=sent.*/\1/p" "$LOG")
	[ -n "$_q" ] || return 0
	sed -n "s/.* $_q: client=.*, sasl_method=\([^,]*\), \
sasl_username=bob@localhost\$/\1/p" "$LOG"
}

# check NAME AUTH MECH: deliver with `auth AUTH` to NAME@example.net and
# check the delivered message, its envelope and the mechanism used (MECH).
check() {
	mkconf "$1" "$2" secret
	t_exit "$1: exit 0" 0 send "$1"
	[ "$status" -eq 0 ] || return 0
	if _m=$(delivered_file "$1"); then
		t_pass "$1: delivered"
	else
		t_fail "$1: delivered"
		log_tail
		return 0
	fi
	t_like "$1: envelope sender" "$_m" '^Return-Path: <alice@example\.org>$'
	t_like "$1: envelope recipient" "$_m" "^Delivered-To: $1@example\\.net\$"
	t_like "$1: authenticated as bob" "$_m" \
		'\(Authenticated sender: bob@localhost\)'
	t_like "$1: subject" "$_m" "^Subject: postfix $1\$"
	t_like "$1: body" "$_m" "^hello from $1\$"
	t_is "$1: Postfix saw AUTH $3" "$3" "$(sasl_method "$1")"
}

# refused NAME AUTH: a wrong password with `auth AUTH` exits 77 with the
# server's reply on stderr, and no RCPT for NAME reached Postfix.
refused() {
	mkconf "$1" "$2" wrong-password
	t_exit "$1: exit 77" 77 send "$1"
	t_like "$1: the server's reply on stderr" "$ERR" \
		'535.*authentication failed'
	t_unlike "$1: no password on stderr" "$ERR" 'wrong-password'
	sleep 0.2
	t_unlike "$1: no RCPT after the failed AUTH" "$LOG" \
		"to=<$1@example\\.net>"
}

# ----------------------------------------------------------------- tests ---

for MECH in PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
	name=$(echo "$MECH" | tr '[:upper:]' '[:lower:]')
	case $OFFERED in
	*" $MECH "*) ;;
	*)
		t_skip "AUTH $MECH" "Cyrus SASL does not offer it here"
		continue
		;;
	esac
	check "$name" "$MECH" "$MECH"
	refused "bad-$name" "$MECH"
done

case $OFFERED in
*" SCRAM-SHA-256 "*) check auto on SCRAM-SHA-256 ;;
*) t_skip "auth on picks SCRAM-SHA-256" "Cyrus SASL does not offer it" ;;
esac
refused bad-auto on

done_testing
