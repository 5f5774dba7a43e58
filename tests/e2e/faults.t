#!/bin/sh
# End-to-end fault tests: outbox against tests/server/smtpd.py with a
# scripted fault at every stage of the session (greeting, EHLO/HELO,
# STARTTLS, AUTH, MAIL, RCPT, DATA, end of data): 4xx and 5xx replies, 421,
# dropped and hanging connections, refused connections, with and without
# PIPELINING.  Each case checks outbox's exit status (DESIGN.md 1.4), what
# the server stored (count, envelope, exact bytes) and what outbox said on
# stderr, in its logfile and in the -v transcript (never the password).
# The accounts run with `queue off` and `hold_on_account_error off`, so the
# exit status shows the class of each fault directly; what the queue does
# with each class is tests/e2e/queue.t's subject.
#
# Untrusted data: none beyond the test's own files; every server runs on
# 127.0.0.1 port 0 inside this test's temp dir.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

R1=alice@example.org
R2=carol@example.net
R3=dave@example.com
PASS_B64=AGJvYgBzZWNyZXQ=       # AUTH PLAIN of bob / secret
PASS_LOGIN_B64=c2VjcmV0         # base64 of "secret" (AUTH LOGIN)

# The input (LF line ends, a line starting with a dot) and the bytes the
# server must store: CRLF, dot-unstuffed, headers unchanged (the message has
# its own Date and Message-ID, and a From that matches the envelope).
MSG=$T/message
WANT=$T/want.eml
printf '%s\n' "From: bob@example.org" "To: $R1, $R2, $R3" \
	"Subject: fault test" "Date: Mon, 01 Jan 2024 00:00:00 +0000" \
	"Message-ID: <fault-test@example.org>" "" "Hello." \
	".a line that starts with a dot" "Bye." >"$MSG"
sed 's/$/\r/' "$MSG" >"$WANT"

TIMEOUT=3

# setup NAME MODE [smtpd.py options...]: start server NAME and write
# $T/NAME.conf for it.  MODE starttls or tls: verified TLS and AUTH
# bob:secret; plain: no TLS, no AUTH.  The config's timeout is $TIMEOUT.
setup() {
	_s_name=$1
	_s_mode=$2
	shift 2
	case $_s_mode in
	plain) server_start "$_s_name" --mode plain "$@" ;;
	*)
		server_start "$_s_name" --mode "$_s_mode" --cert "$CERT" \
			--key "$KEY" --auth bob:secret "$@"
		;;
	esac || {
		t_fail "$_s_name: the test server starts"
		return 1
	}
	write_config_for "$_s_name" "$_s_mode" "$(server_port "$_s_name")"
}

# write_config_for NAME MODE PORT
write_config_for() {
	{
		echo "account default"
		echo "host 127.0.0.1"
		echo "port $3"
		case $2 in
		plain) echo "tls off" ;;
		*)
			echo "tls on"
			if [ "$2" = tls ]; then
				echo "tls_starttls off"
			else
				echo "tls_starttls on"
			fi
			echo "tls_trust_file $CA"
			echo "user bob"
			echo "password secret"
			;;
		esac
		echo "from bob@example.org"
		echo "timeout $TIMEOUT"
		echo "logfile $T/$1.olog"
		echo "queue off"
		echo "hold_on_account_error off"
	} | write_config "$T/$1.conf"
}

# send NAME [outbox arguments...]: run outbox with NAME's config and the
# test message; $status, $OUT, $ERR as run() sets them, and a copy of
# stderr in $T/NAME.err for the global checks at the end.
send() {
	_send_name=$1
	shift
	run "$OUTBOX" -C "$T/$_send_name.conf" "$@" <"$MSG"
	cp "$ERR" "$T/$_send_name.err"
}

# check NAME STATUS STORED [STDERR-REGEX]: exit status, number of messages
# the server stored, and (when given) a line of stderr.
check() {
	if [ "$status" -eq "$2" ]; then
		t_pass "$1: exit status $2"
	else
		t_fail "$1: exit status $2"
		diag "got exit status $status; stderr:"
		diag_file "$ERR"
	fi
	t_is "$1: $3 message(s) stored" "$3" "$(msg_count "$1")"
	[ -z "${4:-}" ] || t_like "$1: stderr says what happened" "$ERR" "$4"
}

# same_bytes NAME N: the Nth stored message is exactly the expected bytes.
same_bytes() {
	if cmp -s "$WANT" "$(msg_file "$1" "$2")"; then
		t_pass "$1: stored message $2 is byte for byte what was sent"
	else
		t_fail "$1: stored message $2 is byte for byte what was sent"
		diag_file "$(msg_file "$1" "$2")"
	fi
}

# rcpts_are NAME N ADDR...: the Nth stored message's envelope recipients.
rcpts_are() {
	_r_name=$1
	_r_n=$2
	shift 2
	t_is "$_r_name: envelope recipients of message $_r_n" \
		"$(printf '%s\n' "$@")" "$(env_field "$_r_name" "$_r_n" rcpt_tos)"
}

# quit_sent NAME: outbox ended the session with QUIT.
quit_sent() {
	if wait_log "$1" ' C: QUIT$' 5; then
		t_pass "$1: outbox sent QUIT"
	else
		t_fail "$1: outbox sent QUIT"
		diag_file "$(server_log "$1")" 40
	fi
}

# never_sent NAME REGEX WHAT: the server never saw a client line matching
# REGEX (checked after the session ended).
never_sent() {
	t_unlike "$1: $3 never sent" "$(server_log "$1")" " C: $2"
}

# logged NAME REGEX: outbox's logfile for NAME has a line matching REGEX.
logged() {
	t_like "$1: logfile matches /$2/" "$T/$1.olog" "$2"
}

# line_no FILE REGEX: number of the first line matching REGEX, 0 if none.
line_no() {
	_l=$(grep -n -E -e "$2" "$1" | sed -n '1s/:.*//p')
	echo "${_l:-0}"
}

# before NAME FILE REGEX1 REGEX2: a line matching REGEX1 comes before the
# first one matching REGEX2.
before() {
	_b1=$(line_no "$2" "$3")
	_b2=$(line_no "$2" "$4")
	if [ "$_b1" -gt 0 ] && [ "$_b2" -gt 0 ] && [ "$_b1" -lt "$_b2" ]; then
		t_pass "$1: /$3/ comes before /$4/"
	else
		t_fail "$1: /$3/ comes before /$4/"
		diag_file "$2" 40
	fi
}

# within NAME START END [SECONDS]: a hang ended within SECONDS (default 15;
# a bound, not a benchmark).
within() {
	[ $(($3 - $2)) -lt "${4:-15}" ]
	ok $? "$1: gave up within ${4:-15} s (took $(($3 - $2)) s)"
}

done_with() {
	server_stop "$1"
}

# ------------------------------------------------------------- greeting ---

n=greeting-421
setup $n starttls --fault 'greeting:421 4.3.2 too busy, come back later'
send $n $R1
check $n 75 0 '421 4\.3\.2 too busy, come back later'
never_sent $n 'EHLO' "EHLO after a 421 greeting"
logged $n 'exitcode=EX_TEMPFAIL'
done_with $n

n=greeting-450
setup $n starttls --fault 'greeting:450 4.3.2 try again later'
send $n $R1
check $n 75 0 '450 4\.3\.2 try again later'
quit_sent $n
never_sent $n 'EHLO' "EHLO after a 450 greeting"
done_with $n

n=greeting-554
setup $n starttls --fault 'greeting:554 5.3.2 no service here'
send $n $R1
check $n 75 0 '554 5\.3\.2 no service here'
quit_sent $n
never_sent $n 'EHLO' "EHLO after a 554 greeting"
logged $n 'exitcode=EX_TEMPFAIL'
done_with $n

n=greeting-drop
setup $n starttls --fault 'greeting:drop'
send $n $R1
check $n 75 0 'closed|connection|reset'
done_with $n

# ----------------------------------------------------------- EHLO, HELO ---

n=ehlo-451
setup $n starttls --fault 'ehlo:451 4.3.0 local problem'
send $n $R1
check $n 75 0 '451 4\.3\.0 local problem'
quit_sent $n
never_sent $n 'HELO' "HELO (no STARTTLS without EHLO)"
never_sent $n 'MAIL' "MAIL"
done_with $n

n=ehlo-554
setup $n starttls --fault 'ehlo:554 5.7.1 not welcome'
send $n $R1
check $n 75 0 '554 5\.7\.1 not welcome'
quit_sent $n
never_sent $n 'HELO' "HELO (no STARTTLS without EHLO)"
never_sent $n 'MAIL' "MAIL"
done_with $n

n=ehlo-421
setup $n starttls --fault 'ehlo:421 4.3.2 shutting down'
send $n $R1
check $n 75 0 '421 4\.3\.2 shutting down'
done_with $n

n=ehlo-421-plain
setup $n plain --fault 'ehlo:421 4.3.2 shutting down'
send $n $R1
check $n 75 0 '421 4\.3\.2 shutting down'
never_sent $n 'HELO' "HELO after a 421"
done_with $n

n=ehlo-drop
setup $n starttls --fault 'ehlo:drop'
send $n $R1
check $n 75 0
done_with $n

n=helo-fallback
setup $n plain --no-ehlo
send $n $R1 $R2
check $n 0 1
same_bytes $n 1
rcpts_are $n 1 $R1 $R2
t_is "$n: delivered over HELO (not ESMTP)" false "$(env_field $n 1 esmtp)"
t_like "$n: HELO was sent" "$(server_log $n)" ' C: HELO localhost$'
logged $n 'exitcode=EX_OK'
done_with $n

n=helo-fallback-554
setup $n plain --no-ehlo --fault 'helo:554 5.7.1 go away'
send $n $R1
check $n 75 0 '554 5\.7\.1 go away'
quit_sent $n
never_sent $n 'MAIL' "MAIL"
done_with $n

n=helo-fallback-451
setup $n plain --no-ehlo --fault 'helo:451 4.3.0 try later'
send $n $R1
check $n 75 0 '451 4\.3\.0 try later'
never_sent $n 'MAIL' "MAIL"
done_with $n

# -------------------------------------------------------------- STARTTLS ---

n=starttls-454
setup $n starttls --fault 'starttls:454 4.7.0 TLS not available now'
send $n $R1
check $n 75 0 '454 4\.7\.0 TLS not available now'
quit_sent $n
never_sent $n 'AUTH' "AUTH in clear"
never_sent $n 'MAIL' "MAIL in clear"
logged $n 'exitcode=EX_TEMPFAIL'
done_with $n

n=starttls-554
setup $n starttls --fault 'starttls:554 5.7.0 no TLS for you'
send $n $R1
check $n 78 0 '554 5\.7\.0 no TLS for you'
quit_sent $n
never_sent $n 'AUTH' "AUTH in clear"
never_sent $n 'MAIL' "MAIL in clear"
logged $n 'exitcode=EX_CONFIG'
done_with $n

n=starttls-drop
setup $n starttls --fault 'starttls:drop'
send $n $R1
check $n 75 0
never_sent $n 'MAIL' "MAIL"
done_with $n

# The account wants STARTTLS; the server does not offer it.
n=starttls-missing
setup $n plain
write_config_for $n starttls "$(server_port $n)"
send $n $R1
check $n 78 0 'STARTTLS'
never_sent $n 'AUTH' "AUTH in clear"
never_sent $n 'MAIL' "MAIL in clear"
done_with $n

# ------------------------------------------------------------------ AUTH ---

n=auth-454
setup $n starttls --fault 'auth:454 4.7.0 temporary authentication failure'
send $n $R1
check $n 75 0 '454 4\.7\.0 temporary authentication failure'
quit_sent $n
never_sent $n 'MAIL' "MAIL"
logged $n 'exitcode=EX_TEMPFAIL'
done_with $n

n=auth-535
setup $n starttls --fault 'auth:535 5.7.8 bad credentials'
send $n $R1
check $n 77 0 '535 5\.7\.8 bad credentials'
quit_sent $n
never_sent $n 'MAIL' "MAIL"
logged $n 'exitcode=EX_NOPERM'
done_with $n

# A real refusal by the server (not a scripted one): wrong password.
n=auth-wrong-password
setup $n starttls
sed 's/^password secret$/password wrongpass/' "$T/$n.conf" |
	write_config "$T/$n.conf.new" && mv "$T/$n.conf.new" "$T/$n.conf"
send $n -v $R1
check $n 77 0 '535'
never_sent $n 'MAIL' "MAIL"
logged $n 'exitcode=EX_NOPERM'
t_unlike "$n: transcript hides the wrong password" "$ERR" 'wrongpass'
t_unlike "$n: logfile hides the wrong password" "$T/$n.olog" 'wrongpass'
done_with $n

n=auth-drop
setup $n starttls --fault 'auth:drop'
send $n $R1
check $n 75 0
done_with $n

# ------------------------------------------------------------------ MAIL ---

n=mail-451
setup $n starttls --fault 'mail:451 4.3.0 try again later'
send $n $R1
check $n 75 0 '451 4\.3\.0 try again later'
quit_sent $n
never_sent $n 'RCPT' "RCPT after a refused MAIL"
logged $n 'exitcode=EX_TEMPFAIL'
logged $n "smtpmsg='451 4\\.3\\.0 try again later'"
done_with $n

n=mail-550
setup $n starttls --fault 'mail:550 5.7.1 sender not allowed'
send $n $R1
check $n 69 0 '550 5\.7\.1 sender not allowed'
quit_sent $n
never_sent $n 'RCPT' "RCPT after a refused MAIL"
logged $n 'exitcode=EX_UNAVAILABLE'
done_with $n

n=mail-421
setup $n starttls --fault 'mail:421 4.3.2 shutting down'
send $n $R1
check $n 75 0 '421 4\.3\.2 shutting down'
done_with $n

# A drop before the message went out: nothing stored, try again later.
n=mail-drop
setup $n starttls --fault 'mail:drop'
send $n $R1
check $n 75 0
t_unlike "$n: not called uncertain" "$ERR" 'uncertain'
logged $n 'exitcode=EX_TEMPFAIL'
done_with $n

# ------------------------------------------------------------------ RCPT ---

n=rcpt-one-550
setup $n starttls --fault "rcpt=$R3:550 5.1.1 no such user"
send $n $R1 $R2 $R3
check $n 0 1 "$R3.*550 5\\.1\\.1 no such user"
same_bytes $n 1
rcpts_are $n 1 $R1 $R2
t_unlike "$n: stderr does not call $R1 rejected" "$ERR" "$R1"
t_unlike "$n: stderr does not call $R2 rejected" "$ERR" "$R2"
logged $n 'exitcode=EX_OK'
logged $n "$R3.*550 5\\.1\\.1 no such user|550 5\\.1\\.1 no such user.*$R3"
done_with $n

n=rcpt-all-550
setup $n starttls --fault 'rcpt:550 5.1.1 no such user'
send $n $R1 $R2 $R3
check $n 67 0 "$R1.*550 5\\.1\\.1 no such user"
t_like "$n: stderr names $R2" "$ERR" "$R2.*550 5\\.1\\.1"
t_like "$n: stderr names $R3" "$ERR" "$R3.*550 5\\.1\\.1"
quit_sent $n
never_sent $n 'DATA' "DATA with no recipient"
logged $n 'exitcode=EX_NOUSER'
done_with $n

n=rcpt-one-451
setup $n starttls --fault "rcpt=$R2:451 4.2.0 mailbox busy"
send $n $R1 $R2 $R3
check $n 75 1 "$R2.*451 4\\.2\\.0 mailbox busy"
t_like "$n: stderr says the others got it" "$ERR" 'others got'
same_bytes $n 1
rcpts_are $n 1 $R1 $R3
logged $n 'exitcode=EX_TEMPFAIL'
done_with $n

n=rcpt-all-451
setup $n starttls --fault 'rcpt:451 4.2.0 mailbox busy'
send $n $R1 $R2
check $n 75 0 '451 4\.2\.0 mailbox busy'
never_sent $n 'DATA' "DATA with no recipient"
done_with $n

# One accepted, one refused for now, one refused for good: the accepted
# one gets it, the temporary failure decides the status.
n=rcpt-mixed
setup $n starttls --fault "rcpt=$R2:451 4.2.0 mailbox busy" \
	--fault "rcpt=$R3:550 5.1.1 no such user"
send $n $R1 $R2 $R3
check $n 75 1 "$R2.*451 4\\.2\\.0 mailbox busy"
t_like "$n: stderr names $R3" "$ERR" "$R3.*550 5\\.1\\.1 no such user"
rcpts_are $n 1 $R1
done_with $n

# RFC 5321 4.5.3.1.10 and DESIGN.md 2 step 5: 552 to RCPT (too many
# recipients) is a temporary failure, not a permanent one.
n=rcpt-552
setup $n starttls --fault "rcpt=$R3:552 5.5.3 too many recipients"
send $n $R1 $R2 $R3
check $n 75 1 "$R3.*552 5\\.5\\.3 too many recipients"
rcpts_are $n 1 $R1 $R2
done_with $n

n=rcpt-421
setup $n starttls --fault "rcpt=$R2:421 4.3.2 shutting down"
send $n $R1 $R2 $R3
check $n 75 0 '421 4\.3\.2 shutting down'
send $n -v $R1 $R2 $R3
t_unlike "$n: 421 ends the session: no RCPT after it" "$ERR" "^--> RCPT TO:<$R3>"
done_with $n

n=rcpt-drop
setup $n starttls --fault "rcpt=$R2:drop"
send $n $R1 $R2
check $n 75 0
t_unlike "$n: not called uncertain" "$ERR" 'uncertain'
done_with $n

# ------------------------------------------------------------------ DATA ---

n=data-451
setup $n starttls --fault 'data:451 4.3.0 not now'
send $n $R1
check $n 75 0 '451 4\.3\.0 not now'
quit_sent $n
logged $n 'exitcode=EX_TEMPFAIL'
done_with $n

n=data-554
setup $n starttls --fault 'data:554 5.6.0 no data for you'
send $n $R1
check $n 69 0 '554 5\.6\.0 no data for you'
quit_sent $n
logged $n 'exitcode=EX_UNAVAILABLE'
done_with $n

n=data-drop
setup $n starttls --fault 'data:drop'
send $n $R1
check $n 75 0
done_with $n

n=data-drop-mid
setup $n starttls --fault 'data:drop-mid'
send $n $R1
check $n 75 0
t_like "$n: the server dropped mid-message" "$(server_log $n)" '\* drop$'
logged $n 'exitcode=EX_TEMPFAIL'
done_with $n

# A 2xx where 354 belongs: the body must not go out.
n=data-250
setup $n starttls --fault 'data:250 2.0.0 whatever'
send $n $R1
check $n 75 0 '250 2\.0\.0 whatever'
never_sent $n 'Subject: fault test' "the message"
done_with $n

# ----------------------------------------------------------- end of data ---

n=eod-451
setup $n starttls --fault 'eod:451 4.3.0 queue full'
send $n $R1
check $n 75 0 '451 4\.3\.0 queue full'
quit_sent $n
logged $n 'exitcode=EX_TEMPFAIL'
done_with $n

n=eod-554
setup $n starttls --fault 'eod:554 5.7.1 message refused as spam'
send $n $R1
check $n 69 0 '554 5\.7\.1 message refused as spam'
quit_sent $n
logged $n 'exitcode=EX_UNAVAILABLE'
logged $n "smtpmsg='554 5\\.7\\.1 message refused as spam'"
done_with $n

n=eod-421
setup $n starttls --fault 'eod:421 4.3.2 shutting down'
send $n $R1
check $n 75 0 '421 4\.3\.2 shutting down'
done_with $n

# Dropped after the final dot: the server has the message; outbox cannot
# know, and says so.
n=eod-drop
setup $n starttls --fault 'eod:drop'
send $n $R1 $R2
check $n 75 1 'uncertain'
same_bytes $n 1
rcpts_are $n 1 $R1 $R2
logged $n 'uncertain'
logged $n 'exitcode=EX_TEMPFAIL'
done_with $n

n=eod-drop-implicit-tls
setup $n tls --fault 'eod:drop'
send $n $R1
check $n 75 1 'uncertain'
same_bytes $n 1
t_is "$n: stored over TLS" true "$(env_field $n 1 tls)"
done_with $n

n=implicit-tls-greeting-421
setup $n tls --fault 'greeting:421 4.3.2 too busy'
send $n $R1
check $n 75 0 '421 4\.3\.2 too busy'
never_sent $n 'EHLO' "EHLO after a 421 greeting"
done_with $n

# ----------------------------------------------------------------- hangs ---

TIMEOUT=2

n=greeting-hang
setup $n starttls --fault 'greeting:hang'
t0=$(date +%s)
send $n $R1
t1=$(date +%s)
check $n 75 0 'timed out'
within $n "$t0" "$t1"
done_with $n

n=eod-hang
setup $n starttls --fault 'eod:hang'
t0=$(date +%s)
send $n $R1
t1=$(date +%s)
check $n 75 1 'timed out'
# The end-of-data reply may take 10 times the timeout (RFC 5321 4.5.3.2.6).
within $n "$t0" "$t1" 25
t_like "$n: stderr says uncertain" "$ERR" 'uncertain'
same_bytes $n 1
logged $n 'exitcode=EX_TEMPFAIL'
done_with $n

# No answer to MAIL: the message never went out, so it is not uncertain.
n=mail-hang
setup $n starttls --fault 'mail:hang'
t0=$(date +%s)
send $n $R1
t1=$(date +%s)
check $n 75 0 'timed out'
within $n "$t0" "$t1"
t_unlike "$n: not called uncertain" "$ERR" 'uncertain'
done_with $n

# No answer to a pipelined DATA.
n=pipe-data-hang
setup $n starttls --pipelining --fault 'data:hang'
t0=$(date +%s)
send $n $R1 $R2
t1=$(date +%s)
check $n 75 0 'timed out'
within $n "$t0" "$t1"
t_unlike "$n: not called uncertain" "$ERR" 'uncertain'
done_with $n

TIMEOUT=3

# ------------------------------------------------------ connection refused ---

n=refused
port=$(unused_port)
write_config_for $n starttls "$port"
send $n $R1
t_is "$n: exit status 75" 75 "$status"
t_like "$n: stderr names the failure" "$ERR" "127\\.0\\.0\\.1.*$port|refused"
logged $n 'exitcode=EX_TEMPFAIL'

# -------------------------------------------------- transcript redaction ---

n=verbose-plain
setup $n starttls
send $n -v $R1
check $n 0 1 '^--> AUTH PLAIN <redacted>$'
t_like "$n: the server got AUTH PLAIN" "$(server_log $n)" \
	" C: AUTH PLAIN $PASS_B64\$"
t_unlike "$n: transcript hides the base64" "$ERR" "$PASS_B64"
t_unlike "$n: transcript hides the password" "$ERR" 'secret'
t_like "$n: transcript shows MAIL" "$ERR" "^--> MAIL FROM:<bob@example.org>"
done_with $n

n=verbose-login
setup $n starttls --auth-mech LOGIN
send $n -v $R1
check $n 0 1 '<redacted>'
t_like "$n: the server saw AUTH LOGIN" "$(server_log $n)" ' C: AUTH LOGIN'
t_like "$n: the server got the password" "$(server_log $n)" \
	" C: $PASS_LOGIN_B64\$"
t_unlike "$n: transcript hides the base64" "$ERR" "$PASS_LOGIN_B64"
t_unlike "$n: transcript hides the password" "$ERR" 'secret'
done_with $n

n=verbose-auth-535
setup $n starttls --fault 'auth:535 5.7.8 bad credentials'
send $n -v $R1
check $n 77 0 '535 5\.7\.8 bad credentials'
t_like "$n: transcript redacts" "$ERR" '<redacted>'
t_unlike "$n: transcript hides the base64" "$ERR" "$PASS_B64"
t_unlike "$n: transcript hides the password" "$ERR" 'secret'
done_with $n

# ------------------------------------------------------------ pipelining ---

n=pipe-ok
setup $n starttls --pipelining
send $n -v $R1 $R2 $R3
check $n 0 1
same_bytes $n 1
rcpts_are $n 1 $R1 $R2 $R3
before $n "$(server_log $n)" ' C: MAIL FROM:' ' C: RCPT TO:'
before $n "$(server_log $n)" ' C: RCPT TO:' ' C: DATA$'
before $n "$ERR" '^--> DATA$' '^<-- 250 2\.1\.0'
done_with $n

n=nopipe-ok
setup $n starttls
send $n -v $R1 $R2 $R3
check $n 0 1
rcpts_are $n 1 $R1 $R2 $R3
before $n "$ERR" '^<-- 250 2\.1\.0' '^--> RCPT'
before $n "$ERR" "^<-- 250 2\\.1\\.5" '^--> DATA$'
done_with $n

n=pipe-rcpt-one-550
setup $n starttls --pipelining --fault "rcpt=$R3:550 5.1.1 no such user"
send $n -v $R1 $R2 $R3
check $n 0 1 "$R3.*550 5\\.1\\.1 no such user"
same_bytes $n 1
rcpts_are $n 1 $R1 $R2
before $n "$ERR" '^--> DATA$' '^<-- 250 2\.1\.0'
done_with $n

n=pipe-rcpt-all-550
setup $n starttls --pipelining --fault 'rcpt:550 5.1.1 no such user'
send $n $R1 $R2 $R3
check $n 67 0 "$R2.*550 5\\.1\\.1 no such user"
quit_sent $n
logged $n 'exitcode=EX_NOUSER'
done_with $n

n=pipe-rcpt-one-451
setup $n starttls --pipelining --fault "rcpt=$R2:451 4.2.0 mailbox busy"
send $n $R1 $R2 $R3
check $n 75 1 "$R2.*451 4\\.2\\.0 mailbox busy"
t_like "$n: stderr says the others got it" "$ERR" 'others got'
rcpts_are $n 1 $R1 $R3
done_with $n

# 421 in the middle of a pipelined group: the server is gone.
n=pipe-rcpt-421
setup $n starttls --pipelining --fault "rcpt=$R2:421 4.3.2 shutting down"
send $n $R1 $R2 $R3
check $n 75 0 '421 4\.3\.2 shutting down'
done_with $n

n=pipe-rcpt-all-451
setup $n starttls --pipelining --fault 'rcpt:451 4.2.0 mailbox busy'
send $n $R1 $R2
check $n 75 0 '451 4\.2\.0 mailbox busy'
quit_sent $n
done_with $n

n=pipe-mail-550
setup $n starttls --pipelining --fault 'mail:550 5.7.1 sender not allowed'
send $n $R1 $R2
check $n 69 0 '550 5\.7\.1 sender not allowed'
quit_sent $n
done_with $n

n=pipe-data-554
setup $n starttls --pipelining --fault 'data:554 5.6.0 no data for you'
send $n $R1
check $n 69 0 '554 5\.6\.0 no data for you'
quit_sent $n
done_with $n

n=pipe-eod-drop
setup $n starttls --pipelining --fault 'eod:drop'
send $n $R1
check $n 75 1 'uncertain'
same_bytes $n 1
done_with $n

# ----------------------------------------- a refusal, then a hang-up ---

# Many servers close the connection right after a permanent refusal
# instead of waiting for QUIT; smtpd.py closes only after 421, so these
# cases use a scripted peer: one connection, the greeting, then one reply
# (lines joined with "|") per client line, then close.  Client lines go to
# $T/NAME.log in smtpd.py's format.
scripted_peer() {
	_p_name=$1
	shift
	rm -f "$T/$_p_name.port"
	"$E2E_PY" -c '
import os, socket, sys
log, portfile, replies = sys.argv[1], sys.argv[2], sys.argv[3:]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(20)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
c, _ = s.accept()
c.settimeout(20)
r = c.makefile("rb")
with open(log, "a") as lg:
    def say(text):
        for line in text.split("|"):
            lg.write("1 S: %s\n" % line)
        lg.flush()
        c.sendall("".join(x + "\r\n" for x in text.split("|")).encode())
    say(replies[0])
    for reply in replies[1:]:
        line = r.readline()
        if not line:
            break
        lg.write("1 C: %s\n" % line.rstrip(b"\r\n").decode("utf-8", "replace"))
        lg.flush()
        say(reply)
    lg.write("1 * close\n")
c.close()
' "$T/$_p_name.log" "$T/$_p_name.port" "$@" </dev/null >/dev/null 2>&1 &
	echo $! >"$T/$_p_name.ppid"
	_p_i=0
	while [ ! -s "$T/$_p_name.port" ]; do
		if [ "$_p_i" -ge 200 ]; then
			t_fail "$_p_name: the scripted peer starts"
			return 1
		fi
		sleep 0.05
		_p_i=$((_p_i + 1))
	done
}

# peer_done NAME: the scripted peer has ended (it ends by itself).
peer_done() {
	_p_pid=$(cat "$T/$1.ppid")
	kill "$_p_pid" 2>/dev/null || :
	wait "$_p_pid" 2>/dev/null || :
}

n=mail-550-close
scripted_peer $n '220 peer ESMTP' '250 peer' '550 5.7.1 sender not allowed'
write_config_for $n plain "$(server_port $n)"
send $n $R1
check $n 69 0 '550 5\.7\.1 sender not allowed'
never_sent $n 'RCPT' "RCPT after a refused MAIL"
logged $n 'exitcode=EX_UNAVAILABLE'
peer_done $n

n=auth-535-close
scripted_peer $n '220 peer ESMTP' '250-peer|250 AUTH PLAIN' \
	'535 5.7.8 bad credentials'
write_config_for $n plain "$(server_port $n)"
printf '%s\n' "auth plain" "allow_plaintext_auth on" "user bob" \
	"password secret" >>"$T/$n.conf"
send $n $R1
check $n 77 0 '535 5\.7\.8 bad credentials'
never_sent $n 'MAIL' "MAIL after a refused AUTH"
logged $n 'exitcode=EX_NOPERM'
peer_done $n

# ------------------------------------------- secrets, over every case ---

cat "$T"/*.err >"$T/all-stderr" 2>/dev/null
cat "$T"/*.olog >"$T/all-logs" 2>/dev/null
t_unlike "no stderr of any case shows the password" "$T/all-stderr" \
	"secret|$PASS_B64|$PASS_LOGIN_B64"
t_unlike "no logfile of any case shows the password" "$T/all-logs" \
	"secret|wrongpass|$PASS_B64|$PASS_LOGIN_B64"
t_like "the logfiles have failure records" "$T/all-logs" 'exitcode=EX_TEMPFAIL'

done_testing
