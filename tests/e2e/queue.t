#!/bin/sh
# queue.t - the local queue end to end (DESIGN.md 1.4, 2): outbox against
# tests/server/smtpd.py with the server down, slow, failing at each stage
# of the session or refusing some recipients, and with the queue itself
# damaged, full or unsafe.  Every case checks both sides: what the server
# stored (every message exactly once, or still queued; a drop after the
# final dot at most one duplicate) and what the queue directory holds
# (msg/, state/ID, failed/, tmp/), plus the exit status and what outbox
# said.  Also -odq/-odb, `queue off`, `outbox -q` as the systemd path unit
# runs it (one flusher at a time), one connection per flush, the listing
# (mailq, -bp --json), --hold/--release/--remove and failure notices.
#
# Untrusted data: none beyond the test's own files; every server runs on
# 127.0.0.1 inside this test's temp dir, every queue lives there too.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

FROM=bob@example.org
R1=alice@example.org
R2=carol@example.net
R3=dave@example.com

# ------------------------------------------------------------- helpers ---

# mkmsg TAG: $T/TAG.in, a small message whose Subject is "[TAG]", so what
# the server stored can be told apart by tag.
mkmsg() {
	printf '%s\n' "From: $FROM" "To: $R1" "Subject: [$1]" \
		"Date: Mon, 01 Jan 2024 00:00:00 +0000" \
		"Message-ID: <$1@example.org>" "" "Body of $1." >"$T/$1.in"
}

# mkbig TAG KIB: $T/TAG.in, a message of about KIB KiB (lines of 64 x).
mkbig() {
	{
		printf '%s\n' "From: $FROM" "To: $R1" "Subject: [$1]" ""
		head -c $(($2 * 1024)) /dev/zero | tr '\0' x | fold -w 64
	} >"$T/$1.in"
}

# conf CONF PORT [PASSWORD]: $T/CONF.conf, one account: verified STARTTLS,
# AUTH as bob, timeout 3, logfile $T/CONF.olog, queue_dir $T/CONF.q.  More
# lines may be appended.
conf() {
	write_config "$T/$1.conf" <<EOC
account default
host 127.0.0.1
port $2
tls on
tls_starttls on
tls_trust_file $CA
user bob
password ${3:-secret}
from $FROM
timeout 3
logfile $T/$1.olog
queue_dir $T/$1.q
EOC
}

# srv NAME [smtpd.py options...]: start server NAME (STARTTLS, AUTH
# bob:secret) and write the config NAME for it.
srv() {
	_s_n=$1
	shift
	if ! server_start "$_s_n" --mode starttls --cert "$CERT" --key "$KEY" \
		--auth bob:secret "$@"; then
		t_fail "$_s_n: the test server starts"
		return 1
	fi
	conf "$_s_n" "$(server_port "$_s_n")"
}

# send CONF TAG [outbox arguments...]: outbox -C CONF with message TAG on
# stdin; $status, $OUT, $ERR as run() sets them.
send() {
	_sd_c=$1
	_sd_t=$2
	shift 2
	[ -f "$T/$_sd_t.in" ] || mkmsg "$_sd_t"
	run "$OUTBOX" -C "$T/$_sd_c.conf" "$@" <"$T/$_sd_t.in"
}

# ob CONF [outbox arguments...]: outbox -C CONF with stdin from /dev/null.
ob() {
	_ob_c=$1
	shift
	run "$OUTBOX" -C "$T/$_ob_c.conf" "$@" </dev/null
}

# status_is DESC EXPECTED: the last run's exit status.
status_is() {
	if [ "$status" -eq "$2" ]; then
		t_pass "$1: exit status $2"
	else
		t_fail "$1: exit status $2"
		_t_diag_run
	fi
}

# qall CONF DIR: number of entries of any name in DIR.
qall() {
	# shellcheck disable=SC2012
	ls -A "$T/$1.q/$2" 2>/dev/null | wc -l | tr -d ' '
}

# qids CONF DIR: the queue ids (23 hex digit names) in CONF's queue
# subdirectory DIR, oldest first, one a line.
qids() {
	for _q in "$T/$1.q/$2"/*; do
		echo "${_q##*/}"
	done | grep -x -E '[0-9a-f]{23}'
}

# qn CONF DIR: how many (0 when DIR does not exist).
qn() {
	qids "$1" "$2" | wc -l | tr -d ' '
}

# queued CONF DESC N: N messages in msg/ (and none in tmp/).
queued() {
	t_is "$1: $2: $3 in msg/" "$3" "$(qn "$1" msg)"
	t_is "$1: $2: tmp/ empty" 0 "$(qall "$1" tmp)"
}

# gone CONF DESC: msg/ and state/ are empty.
gone() {
	t_is "$1: $2: msg/ empty" 0 "$(qn "$1" msg)"
	t_is "$1: $2: state/ empty" 0 "$(qall "$1" state)"
}

# sf CONF ID KEY: a field of state/ID ("" when the file or key is missing).
sf() {
	sed -n "s/^$3 //p" "$T/$1.q/state/$2" 2>/dev/null | sed -n 1p
}

# rs CONF ID I: status of recipient I (from 0) in state/ID.
rs() {
	sed -n "s/^rcpt $3 \\([a-z]*\\).*/\\1/p" "$T/$1.q/state/$2" 2>/dev/null
}

# stored SRV TAG: how many messages tagged TAG the server stored.
stored() {
	grep -l -F "Subject: [$2]" "$T/$1"/msg-*.eml 2>/dev/null | wc -l |
		tr -d ' '
}

# once SRV TAG DESC: the server stored TAG exactly once.
once() {
	t_is "$1: $3: [$2] stored exactly once" 1 "$(stored "$1" "$2")"
}

# stored_n SRV TAG: the number N of the (first) stored message tagged TAG.
stored_n() {
	grep -l -F "Subject: [$2]" "$T/$1"/msg-*.eml 2>/dev/null | sed -n 1p |
		sed 's/.*msg-\([0-9]*\)\.eml$/\1/'
}

# log_count SRV REGEX: lines of the server's protocol log matching REGEX.
log_count() {
	grep -c -E -e "$2" "$(server_log "$1")" 2>/dev/null
}

# in_range DESC LOW VALUE HIGH
in_range() {
	if [ -n "$3" ] && [ "$3" -ge "$2" ] 2>/dev/null && [ "$3" -le "$4" ]; then
		t_pass "$1"
	else
		t_fail "$1"
		diag "expected $2 <= '$3' <= $4"
	fi
}

# stamp FILE: mtime with nanoseconds, "" when missing.
stamp() {
	stat -c %y "$1" 2>/dev/null
}

ms() {
	date +%s%3N
}

# ---------------------------------------------- 1. offline, then online ---

# Nothing listens on the account's port: the message is committed, exit 0,
# state says when to try again (a short connectivity backoff).  The default
# queue location is $XDG_STATE_HOME/outbox/queue.
n=offline
port=$(unused_port)
conf $n "$port"
sed '/^queue_dir /d' "$T/$n.conf" | write_config "$T/$n.conf.new" &&
	mv "$T/$n.conf.new" "$T/$n.conf"
XQ=$T/offline-state/outbox/queue
t0=$(date +%s)
mkmsg off
run env XDG_STATE_HOME="$T/offline-state" "$OUTBOX" -C "$T/$n.conf" \
	"$R1" <"$T/off.in"
t1=$(date +%s)
status_is "$n: server down" 0
ln -s "$XQ" "$T/$n.q"
queued $n "server down" 1
id=$(qids $n msg)
t_is "$n: state attempts" 1 "$(sf $n "$id" attempts)"
in_range "$n: next-attempt is a short backoff (up to 10 min)" \
	$((t0 + 1)) "$(sf $n "$id" next-attempt)" $((t1 + 600))
t_is "$n: not held" 0 "$(sf $n "$id" held)"
t_is "$n: recipient pending" pending "$(rs $n "$id" 0)"
if [ -d "$XQ" ]; then
	t_is "$n: queue directory is 0700" 700 "$(stat -c %a "$XQ")"
else
	t_fail "$n: queue directory is 0700"
fi
# The server comes up on that port; -q delivers.
if srv $n --port "$port"; then
	sed '/^queue_dir /d' "$T/$n.conf" | write_config "$T/$n.conf.new" &&
		mv "$T/$n.conf.new" "$T/$n.conf"
	run env XDG_STATE_HOME="$T/offline-state" "$OUTBOX" -C "$T/$n.conf" -q \
		</dev/null
	status_is "$n: -q once the server is up" 0
	once $n off "-q"
	gone $n "after -q"
	run env XDG_STATE_HOME="$T/offline-state" "$OUTBOX" -C "$T/$n.conf" -q \
		</dev/null
	status_is "$n: a second -q" 0
	once $n off "a second -q sends nothing again"
	server_stop $n
fi

# ------------------------------------- 2. what the systemd units run ---

# The path unit watches ~/.local/state/outbox/queue/trigger and runs
# `outbox -q` with no other argument: the default config and queue.
n=unit
DQ=$HOME/.local/state/outbox/queue
ln -s "$DQ" "$T/$n.q"
if srv $n; then
	mkdir -p "$XDG_CONFIG_HOME/outbox"
	sed '/^queue_dir /d' "$T/$n.conf" |
		write_config "$XDG_CONFIG_HOME/outbox/config"
	mkmsg unit
	run "$OUTBOX" -odq "$R1" <"$T/unit.in"
	status_is "$n: -odq with the default config" 0
	queued $n "-odq" 1
	t_ok "$n: -odq touched the trigger the path unit watches" \
		test -f "$DQ/trigger"
	t_is "$n: nothing sent by -odq" 0 "$(msg_count $n)"
	touch "$DQ/trigger"
	run "$OUTBOX" -q </dev/null
	status_is "$n: the unit's command (outbox -q)" 0
	once $n unit "the unit's flush"
	gone $n "after the unit's flush"
	server_stop $n
fi

# Second flusher: while a flush is busy (the server sleeps 2 s after the
# first message's final dot), a second `outbox -q` touches `again` (not the
# trigger the path unit watches, which would start yet another flusher) and
# exits 0 at once; the running flusher makes another pass.  Message B
# appears in msg/ during the first pass without touching the trigger
# itself (committed in another queue and renamed in), so only the second
# flusher's poke can get it out in time.
n=slow
if srv $n --fault 'eod#1:sleep 2'; then
	conf side "$(server_port $n)"
	send $n slow-a -odq "$R1"
	status_is "$n: A queued" 0
	send side slow-b -odq "$R2"
	status_is "$n: B queued elsewhere" 0
	b=$(qids side msg)
	"$OUTBOX" -C "$T/$n.conf" -q </dev/null >"$T/$n.f1.out" \
		2>"$T/$n.f1.err" &
	f1=$!
	wait_messages $n 1 10 || diag "the first flusher did not send A"
	[ -n "$b" ] && mv "$T/side.q/msg/$b" "$T/$n.q/msg/$b"
	before=$(stamp "$T/$n.q/again")
	m0=$(ms)
	ob $n -q
	m1=$(ms)
	status_is "$n: second flusher" 0
	in_range "$n: the second flusher returns at once (took $((m1 - m0)) ms)" \
		0 $((m1 - m0)) 1500
	if _e2e_alive "$f1"; then
		t_pass "$n: the first flusher was still busy"
	else
		t_fail "$n: the first flusher was still busy"
	fi
	after=$(stamp "$T/$n.q/again")
	if [ -n "$after" ] && [ "$after" != "$before" ]; then
		t_pass "$n: the second flusher asked for another pass (again)"
	else
		t_fail "$n: the second flusher asked for another pass (again)"
		diag "again mtime before '$before', after '$after'"
	fi
	wait "$f1"
	t_is "$n: the first flusher exits 0" 0 "$?"
	once $n slow-a "first pass"
	once $n slow-b "the extra pass"
	t_is "$n: two messages in all" 2 "$(msg_count $n)"
	gone $n "after both passes"
	server_stop $n
fi

# -------------------------------------- 3. faults at each stage, queued ---

n=mail451
if srv $n --fault 'mail#1:451 4.3.0 try again later'; then
	t0=$(date +%s)
	send $n m451 "$R1"
	t1=$(date +%s)
	status_is "$n: 451 to MAIL" 0
	t_is "$n: nothing stored" 0 "$(msg_count $n)"
	queued $n "451 to MAIL" 1
	id=$(qids $n msg)
	t_is "$n: attempts" 1 "$(sf $n "$id" attempts)"
	in_range "$n: next-attempt is a server backoff (minutes, not seconds)" \
		$((t0 + 120)) "$(sf $n "$id" next-attempt)" $((t1 + 6 * 3600))
	t_like "$n: last-reply recorded" "$T/$n.q/state/$id" \
		'^last-reply .*451 4\.3\.0 try again later'
	t_is "$n: not uncertain" 0 "$(sf $n "$id" uncertain)"
	ob $n -q
	status_is "$n: -q" 0
	once $n m451 "-q"
	gone $n "-q"
	server_stop $n
fi

n=data554
if srv $n --fault 'data:554 5.6.0 no data for you'; then
	send $n d554 "$R1"
	status_is "$n: 554 to DATA" 69
	t_like "$n: stderr has the reply" "$ERR" '554 5\.6\.0 no data for you'
	t_is "$n: nothing stored, no notice (the caller was told)" 0 \
		"$(msg_count $n)"
	t_is "$n: moved to failed/" 1 "$(qn $n failed)"
	gone $n "554 to DATA"
	t_is "$n: tmp/ empty" 0 "$(qall $n tmp)"
	server_stop $n
fi

# The message is larger than the socket buffers: outbox's write fails
# before the final dot, so it knows the server does not have it.
n=dropmid
if srv $n --fault 'data#1:drop-mid'; then
	mkbig dmid 4096
	send $n dmid "$R1"
	status_is "$n: dropped in the middle of DATA" 0
	t_is "$n: nothing stored" 0 "$(msg_count $n)"
	queued $n "dropped mid-DATA" 1
	t_is "$n: not uncertain" 0 "$(sf $n "$(qids $n msg)" uncertain)"
	ob $n -q
	status_is "$n: -q" 0
	once $n dmid "-q"
	gone $n "-q"
	server_stop $n
fi

# Dropped after the final dot: the server has it, outbox cannot know.
n=eoddrop
if srv $n --fault 'eod#1:drop'; then
	send $n edrop -v "$R1"
	status_is "$n: dropped after the final dot" 0
	t_like "$n: -v says uncertain" "$ERR" 'uncertain'
	t_like "$n: logfile says uncertain" "$T/$n.olog" 'uncertain'
	t_is "$n: the server has it" 1 "$(msg_count $n)"
	queued $n "uncertain" 1
	t_is "$n: state uncertain" 1 "$(sf $n "$(qids $n msg)" uncertain)"
	ob $n -q
	status_is "$n: -q" 0
	in_range "$n: stored once or twice (at most one duplicate)" \
		1 "$(stored $n edrop)" 2
	gone $n "-q"
	server_stop $n
fi

# Account trouble holds the message: AUTH 535 (wrong password), a server
# certificate that does not verify; with hold_on_account_error off: 77.
n=auth
if srv $n; then
	port=$(server_port $n)
	conf auth535 "$port" wrongpass
	send auth535 a535 "$R1"
	status_is "auth535: wrong password" 0
	t_like "auth535: stderr says it is held" "$ERR" '[Hh]eld'
	t_like "auth535: stderr says why" "$ERR" '535'
	t_like "auth535: stderr says what to run after the fix" "$ERR" \
		'outbox -q'
	t_unlike "auth535: stderr hides the password" "$ERR" 'wrongpass'
	queued auth535 "held" 1
	id=$(qids auth535 msg)
	t_is "auth535: state held" 1 "$(sf auth535 "$id" held)"
	t_like "auth535: state has a reason" "$T/auth535.q/state/$id" \
		'^reason .'
	t_is "auth535: nothing stored" 0 "$(stored $n a535)"
	conf auth535 "$port"
	ob auth535 -q
	status_is "auth535: -q after fixing the password" 0
	once $n a535 "after the fix"
	gone auth535 "after the fix"

	conf badca "$port"
	sed "s|^tls_trust_file .*|tls_trust_file $OTHER_CA|" "$T/badca.conf" |
		write_config "$T/badca.conf.new" &&
		mv "$T/badca.conf.new" "$T/badca.conf"
	send badca vfy "$R1"
	status_is "badca: server certificate does not verify" 0
	t_like "badca: stderr says it is held" "$ERR" '[Hh]eld'
	queued badca "held" 1
	t_is "badca: state held" 1 "$(sf badca "$(qids badca msg)" held)"
	conf badca "$port"
	ob badca -q
	status_is "badca: -q after the fix" 0
	once $n vfy "after the fix"
	gone badca "after the fix"

	conf nohold "$port" wrongpass
	echo "hold_on_account_error off" >>"$T/nohold.conf"
	send nohold nohold "$R1"
	status_is "nohold: wrong password, holding off" 77
	t_is "nohold: moved to failed/" 1 "$(qn nohold failed)"
	gone nohold "holding off"
	t_is "nohold: nothing stored" 0 "$(stored $n nohold)"
	server_stop $n
fi

# ----------------------------------------------- 4. partial recipients ---

n=part550
if srv $n --fault "rcpt=$R3:550 5.1.1 no such user"; then
	send $n p550 "$R1" "$R2" "$R3"
	status_is "$n: one recipient refused for good" 0
	t_like "$n: stderr names it" "$ERR" "$R3.*550 5\\.1\\.1 no such user"
	t_is "$n: one message stored" 1 "$(msg_count $n)"
	t_is "$n: to the other two" "$(printf '%s\n' "$R1" "$R2")" \
		"$(env_field $n 1 rcpt_tos)"
	gone $n "done"
	server_stop $n
fi

n=part451
if srv $n --fault "rcpt=$R2#1:451 4.2.0 mailbox busy"; then
	send $n p451 "$R1" "$R2" "$R3"
	status_is "$n: one recipient refused for now" 0
	t_is "$n: one message stored" 1 "$(msg_count $n)"
	t_is "$n: to the other two" "$(printf '%s\n' "$R1" "$R3")" \
		"$(env_field $n 1 rcpt_tos)"
	queued $n "one recipient pending" 1
	id=$(qids $n msg)
	t_is "$n: recipient statuses in state/" "delivered pending delivered" \
		"$(rs $n "$id" 0) $(rs $n "$id" 1) $(rs $n "$id" 2)"
	ob $n -bp
	t_like "$n: -bp shows $R2 pending" "$OUT" "$R2.*pending|pending.*$R2"
	t_like "$n: -bp shows $R1 delivered" "$OUT" \
		"$R1.*delivered|delivered.*$R1"
	ob $n -q
	status_is "$n: -q" 0
	t_is "$n: one more message stored" 2 "$(msg_count $n)"
	t_is "$n: the retry goes to $R2 only" "$R2" "$(env_field $n 2 rcpt_tos)"
	gone $n "-q"
	server_stop $n
fi

# ------------------------------------------------ 5. damaged queue files ---

n=corrupt
if srv $n; then
	send $n trunc -odq "$R1"
	send $n flip -odq "$R1"
	send $n intact -odq "$R1"
	# shellcheck disable=SC2046
	set -- $(qids $n msg)
	trunc=${1:-}
	flip=${2:-}
	if [ $# -eq 3 ]; then
		truncate -s -1 "$T/$n.q/msg/$trunc"
		sed -i "s/^rcpt $R1\$/rcpt alicf@example.org/" \
			"$T/$n.q/msg/$flip"
		t_ok "$n: the recipient line was altered" \
			grep -q '^rcpt alicf@example.org$' "$T/$n.q/msg/$flip"
	else
		t_fail "$n: three messages queued"
	fi
	ob $n -bp
	status_is "$n: -bp lists damaged files" 0
	t_like "$n: -bp calls them damaged" "$OUT" 'damaged'
	t_is "$n: listing moves nothing" 3 "$(qn $n msg)"
	ob $n -q
	status_is "$n: -q with damaged files" 0
	t_like "$n: stderr reports the truncated file" "$ERR" "$trunc"
	t_like "$n: stderr reports the altered file" "$ERR" "$flip"
	t_is "$n: only the intact message sent" "0 0 1" \
		"$(stored $n trunc) $(stored $n flip) $(stored $n intact)"
	t_unlike "$n: nothing went to the altered address" "$(server_log $n)" \
		'alicf'
	t_is "$n: both moved to failed/" 2 "$(qn $n failed)"
	t_ok "$n: the truncated one is in failed/" \
		test -f "$T/$n.q/failed/$trunc"
	gone $n "-q"
	ob $n -bp
	t_like "$n: mailq shows the truncated one as damaged" "$OUT" \
		"$trunc"
	t_like "$n: still called damaged in failed/" "$OUT" 'damaged'
	server_stop $n
fi

# ----------------------------------------------------------- 6. disk full ---

n=diskfull
mkdir -m 700 "$T/probe"
# shellcheck disable=SC2016
if ! command -v unshare >/dev/null 2>&1 ||
	! unshare -rm sh -c 'mount -t tmpfs -o size=64k,mode=0700 tmpfs "$1"' \
		sh "$T/probe" 2>/dev/null; then
	t_skip "$n: a full queue file system" \
		"unshare -rm cannot mount a tmpfs here"
elif srv $n; then
	mkdir -m 700 "$T/$n.q"
	mkmsg small
	mkbig big 1024
	# shellcheck disable=SC2016
	unshare -rm sh -c '
		q=$1 ob=$2 c=$3 o=$4 r=$5
		mount -t tmpfs -o size=64k,mode=0700 tmpfs "$q" || exit 1
		"$ob" -C "$c" "$r" <"$o/big.in" >"$o/df.out1" 2>"$o/df.err1"
		echo $? >"$o/df.rc1"
		ls -A "$q/tmp" >"$o/df.tmp1" 2>/dev/null
		ls -A "$q/msg" >"$o/df.msg1" 2>/dev/null
		"$ob" -C "$c" "$r" <"$o/small.in" >"$o/df.out2" 2>"$o/df.err2"
		echo $? >"$o/df.rc2"
		ls -A "$q/tmp" >"$o/df.tmp2" 2>/dev/null
		ls -A "$q/msg" >"$o/df.msg2" 2>/dev/null
	' sh "$T/$n.q" "$OUTBOX" "$T/$n.conf" "$T" "$R1"
	t_is "$n: 1 MiB into a 64 KiB queue: exit 75" 75 \
		"$(cat "$T/df.rc1" 2>/dev/null)"
	t_like "$n: a clear message" "$T/df.err1" '[Ss]pace|[Ff]ull'
	t_is "$n: tmp/ empty after disk full" 0 "$(wc -l <"$T/df.tmp1")"
	t_is "$n: msg/ empty after disk full" 0 "$(wc -l <"$T/df.msg1")"
	t_is "$n: nothing sent" 0 "$(stored $n big)"
	t_is "$n: a small message afterwards: exit 0" 0 \
		"$(cat "$T/df.rc2" 2>/dev/null)"
	once $n small "same full file system"
	t_is "$n: small one: msg/ empty" 0 "$(wc -l <"$T/df.msg2")"
	t_is "$n: small one: tmp/ empty" 0 "$(wc -l <"$T/df.tmp2")"
	server_stop $n
fi

# ---------------------------------------- 7. unsafe queue directory ---

n=unsafe
conf $n "$(unused_port)"
mkdir "$T/$n.q"
chmod 777 "$T/$n.q"
send $n unsafe "$R1"
status_is "$n: world-writable queue directory" 73
t_like "$n: names the directory" "$ERR" "$T/$n.q"
t_is "$n: nothing written there" 0 "$(qn $n msg)"
ob $n -q
status_is "$n: -q refuses it too" 73
chmod 770 "$T/$n.q"
send $n unsafe "$R1"
status_is "$n: group-writable queue directory" 73
if [ "$(id -u)" -eq 0 ]; then
	chmod 700 "$T/$n.q"
	chown 65534 "$T/$n.q"
	send $n unsafe "$R1"
	status_is "$n: queue directory owned by someone else" 73
	t_like "$n: names it" "$ERR" "$T/$n.q"
	chown 0 "$T/$n.q"
else
	t_skip "$n: queue directory owned by someone else" "not root"
fi

# --------------------------------------------------- 8. -odq and -odb ---

n=odq
if srv $n; then
	send $n q1 -odq "$R1"
	status_is "$n: -odq" 0
	queued $n "-odq" 1
	t_ok "$n: trigger touched" test -f "$T/$n.q/trigger"
	sleep 0.5
	t_is "$n: nothing sent by -odq" 0 "$(msg_count $n)"
	ob $n -q
	status_is "$n: -q" 0
	once $n q1 "-q"
	gone $n "-q"

	# delivery_mode queue is -odq from the config.
	conf dmq "$(server_port $n)"
	echo "delivery_mode queue" >>"$T/dmq.conf"
	send dmq dmq "$R1"
	status_is "dmq: delivery_mode queue" 0
	queued dmq "delivery_mode queue" 1
	t_is "dmq: nothing sent" 0 "$(stored $n dmq)"

	# Selective flushes: -qR, -qS, -qI.
	send $n sel-r -odq "$R2"
	send $n sel-s -odq -f other@example.org "$R1"
	send $n sel-i -odq "$R3"
	# shellcheck disable=SC2046
	set -- $(qids $n msg)
	ob $n "-qR$R2"
	status_is "$n: -qR<rcpt>" 0
	t_is "$n: -qR sent only the message to $R2" "1 0 0" \
		"$(stored $n sel-r) $(stored $n sel-s) $(stored $n sel-i)"
	ob $n -qSother@
	status_is "$n: -qS<sender>" 0
	t_is "$n: -qS sent only the message from other@" "1 1 0" \
		"$(stored $n sel-r) $(stored $n sel-s) $(stored $n sel-i)"
	ob $n "-qI${3:-none}"
	status_is "$n: -qI<id>" 0
	t_is "$n: -qI sent the last one" "1 1 1" \
		"$(stored $n sel-r) $(stored $n sel-s) $(stored $n sel-i)"
	gone $n "selective flushes"

	# A message locked by a live delivery in another process is skipped.
	send $n locked -odq "$R1"
	id=$(qids $n msg)
	if command -v flock >/dev/null 2>&1; then
		run flock "$T/$n.q/msg/$id" "$OUTBOX" -C "$T/$n.conf" -q
		status_is "$n: -q while another process holds the message" 0
		t_is "$n: the locked message is skipped" 0 "$(stored $n locked)"
		queued $n "locked elsewhere" 1
	else
		t_skip "$n: a locked message is skipped" "no flock(1)"
	fi
	ob $n -q
	once $n locked "once the lock is gone"

	# After a successful foreground delivery, other due messages go out
	# too (over the same connection, or a background flush).
	send $n due -odq "$R2"
	c0=$(log_count $n '^[0-9]+ \* connect')
	send $n fg "$R1"
	status_is "$n: foreground delivery with another message due" 0
	once $n fg "foreground"
	wait_messages $n "$(($(msg_count $n) + 1))" 5 || :
	once $n due "the due message went out with it"
	t_is "$n: over the same connection" $((c0 + 1)) \
		"$(log_count $n '^[0-9]+ \* connect')"
	i=0
	while [ "$(qn $n msg)" -ne 0 ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	gone $n "both delivered"

	# queue off: like msmtp, nothing kept.  The server up: delivered.
	conf qoff "$(server_port $n)"
	echo "queue off" >>"$T/qoff.conf"
	send qoff qoff-up "$R1"
	status_is "qoff: queue off, server up" 0
	once $n qoff-up "queue off"
	server_stop $n
fi

# -odb: the parent returns right after the commit, even when the server is
# slow, and does not leave its stdout to the child (a caller reading it
# would wait); the child delivers.
n=odb
if srv $n --fault 'greeting#1:sleep 2'; then
	mkmsg odb
	m0=$(ms)
	odb_out=$("$OUTBOX" -C "$T/$n.conf" -odb "$R1" <"$T/odb.in" 2>&1)
	rc=$?
	m1=$(ms)
	t_is "$n: -odb exit status" 0 "$rc"
	[ -z "$odb_out" ] || diag "-odb said: $odb_out"
	in_range "$n: -odb returns before the delivery (took $((m1 - m0)) ms)" \
		0 $((m1 - m0)) 1500
	wait_messages $n 1 10
	once $n odb "the background child"
	i=0
	while [ "$(qn $n msg)" -ne 0 ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	gone $n "the background child"
	server_stop $n
fi

# ------------------------------------------------------ 9. queue off ---

n=qoffdown
conf $n "$(unused_port)"
echo "queue off" >>"$T/$n.conf"
send $n qoffdown "$R1"
status_is "$n: queue off, server down" 75
t_is "$n: nothing kept" "0 0 0 0" \
	"$(qall $n msg) $(qall $n tmp) $(qall $n state) $(qall $n failed)"

# ------------------------------------------------------- 10. listing ---

n=list
mkdir -p "$T/bin" "$T/list-xdg/outbox"
ln -s "$OUTBOX" "$T/bin/mailq"
if srv $n --fault 'rcpt=nobody@example.org:550 5.1.1 no such user'; then
	cp "$T/$n.conf" "$T/list-xdg/outbox/config"
	run env XDG_CONFIG_HOME="$T/list-xdg" "$T/bin/mailq"
	status_is "$n: mailq, empty queue" 0
	t_like "$n: says so" "$OUT" 'Mail queue is empty'
	ob $n -bp --json
	status_is "$n: -bp --json, empty queue" 0
	t_is "$n: an empty queue: version 1, no messages" '{"version": 1, "messages": []}' \
		"$(cat "$OUT")"

	port=$(server_port $n)
	conf list-bad "$port" wrongpass
	sed "s|^queue_dir .*|queue_dir $T/$n.q|" "$T/list-bad.conf" |
		write_config "$T/list-bad.conf.new" &&
		mv "$T/list-bad.conf.new" "$T/list-bad.conf"
	conf list-down "$(unused_port)"
	sed "s|^queue_dir .*|queue_dir $T/$n.q|" "$T/list-down.conf" |
		write_config "$T/list-down.conf.new" &&
		mv "$T/list-down.conf.new" "$T/list-down.conf"
	send list-bad lheld "$R1"
	status_is "$n: held (wrong password)" 0
	held=$(qids $n msg)
	send list-down lretry "$R2"
	status_is "$n: retrying (server down)" 0
	retry=$(qids $n msg | grep -v -x -e "$held")
	send $n lfail nobody@example.org
	status_is "$n: failed (every recipient refused)" 67
	failed=$(qids $n failed)

	run env XDG_CONFIG_HOME="$T/list-xdg" "$T/bin/mailq"
	status_is "$n: mailq" 0
	cp "$OUT" "$T/$n.mailq"
	for id in "$held" "$retry" "$failed"; do
		t_like "$n: mailq lists $id" "$T/$n.mailq" "${id:-no-id}"
	done
	t_like "$n: mailq shows held with its reason" "$T/$n.mailq" 'held: .'
	t_like "$n: mailq shows retrying at" "$T/$n.mailq" 'retrying at'
	t_like "$n: mailq shows failed with its reason" "$T/$n.mailq" \
		'failed: .'
	t_like "$n: mailq shows the refusal" "$T/$n.mailq" '550 5\.1\.1'
	t_like "$n: mailq shows recipients" "$T/$n.mailq" "$R2"
	t_unlike "$n: mailq does not say empty" "$T/$n.mailq" 'queue is empty'

	ob $n -bp --json
	status_is "$n: -bp --json" 0
	cp "$OUT" "$T/$n.json"
	# The documented schema (doc/mailq-json.md): exact keys, types, codes.
	/usr/bin/python3 "$E2E_TOP/tests/e2e/mailq-json.py" "$T/$n.json" \
		>"$T/$n.jsonl" 2>"$T/$n.jsonerr"
	t_is "$n: --json follows the documented schema" 0 "$?"
	diag_file "$T/$n.jsonerr"
	t_is "$n: --json has three messages" 3 "$(wc -l <"$T/$n.jsonl")"
	t_like "$n: --json: the held one, its reason a code" "$T/$n.jsonl" \
		"^$held msg held auth-failed $R1=pending\$"
	t_like "$n: --json: the retrying one" "$T/$n.jsonl" \
		"^$retry msg retrying connect-failed $R2=pending\$"
	t_like "$n: --json: the failed one" "$T/$n.jsonl" \
		"^$failed failed failed recipients-rejected nobody@example.org=failed\$"
	t_like "$n: --json has the account and the Subject" "$T/$n.json" \
		'"account": "default", "from": "bob@example.org", "subject": "\[lheld\]"'
	t_like "$n: mailq shows the account and the Subject" "$T/$n.mailq" \
		'^    account: default  subject: \[lretry\]$'
	t_like "$n: the recipient's reply is the last reply: not repeated beside it" \
		"$T/$n.mailq" '^    nobody@example.org  \(failed\)$'
	t_is "$n: the last reply shown once" 1 \
		"$(grep -c '^    last reply: 550 5\.1\.1' "$T/$n.mailq")"

	# --hold keeps a message out of every flush until --release;
	# --release also lets a message held for account trouble go.
	ob $n "--hold=$retry"
	status_is "$n: --hold" 0
	if [ "$(sf $n "$retry" frozen)" = 1 ] || [ "$(sf $n "$retry" held)" = 1 ]
	then
		t_pass "$n: --hold recorded in state/"
	else
		t_fail "$n: --hold recorded in state/"
		diag_file "$T/$n.q/state/$retry"
	fi
	ob $n -bp --json
	t_is "$n: --json calls it held" held "$("$E2E_PY" -c '
import json, sys
print([o["state"] for o in json.load(sys.stdin)["messages"] if o["id"] == sys.argv[1]])
' "$retry" <"$OUT" 2>&1 | tr -d "[]'")"
	ob $n "--release=$held"
	status_is "$n: --release" 0
	t_is "$n: --release clears held" 0 "$(sf $n "$held" held)"
	t_ok "$n: --release keeps the message" test -f "$T/$n.q/msg/$held"
	ob $n -q
	status_is "$n: -q" 0
	once $n lheld "the released message"
	t_is "$n: -q does not send the --hold one" 0 "$(stored $n lretry)"
	queued $n "after -q" 1
	ob $n "--release=$retry"
	status_is "$n: --release of the --hold one" 0
	t_is "$n: not held any more" "0 0" \
		"$(sf $n "$retry" held) $(sf $n "$retry" frozen | sed 's/^$/0/')"
	ob $n -q
	once $n lretry "after --release"
	gone $n "-q"

	send $n lremove -odq "$R1"
	gone_id=$(qids $n msg)
	ob $n "--remove=$gone_id"
	status_is "$n: --remove" 0
	t_ok "$n: --remove removed msg/ID" test ! -e "$T/$n.q/msg/$gone_id"
	t_ok "$n: --remove removed state/ID" \
		test ! -e "$T/$n.q/state/$gone_id"
	ob $n -q
	t_is "$n: the removed one never sent" 0 "$(stored $n lremove)"
	ob $n --remove=0123456789abcdef0123456
	status_is "$n: --remove of an unknown id" 64
	t_like "$n: names the id" "$ERR" '0123456789abcdef0123456'
	ob $n --hold=nonsense
	status_is "$n: --hold of something that is not an id" 64
	t_like "$n: names it" "$ERR" 'nonsense'
	ob $n --release=0123456789abcdef0123456
	status_is "$n: --release of an unknown id" 64
	t_is "$n: two messages stored in all" 2 "$(msg_count $n)"
	t_is "$n: failed/ keeps the failed one" 1 "$(qn $n failed)"

	# Messages in failed/ (issue 12): --hold is refused with what to do,
	# --requeue puts it back, due now, its refused recipient pending again.
	ob $n "--hold=$failed"
	status_is "$n: --hold of a failed message" 64
	t_like "$n: says --requeue or --remove" "$ERR" "--requeue=$failed.*--remove=$failed"
	ob $n "--requeue=$failed"
	status_is "$n: --requeue of a failed message" 0
	t_is "$n: --requeue says so" "$failed requeued" "$(cat "$OUT")"
	t_is "$n: back in msg/, not in failed/" "$failed 0" \
		"$(qids $n msg | grep -x -e "$failed") $(qall $n failed)"
	t_is "$n: its refused recipient is pending again" pending "$(rs $n "$failed" 0)"
	t_is "$n: due now" 0 "$(sf $n "$failed" next-attempt)"
	ob $n -q
	status_is "$n: -q tries it again" 0
	t_is "$n: refused again, back in failed/" "$failed" "$(qids $n failed)"
	ob $n "--remove=$failed"
	status_is "$n: --remove of a failed message" 0
	t_is "$n: --remove deleted it and its state" 0 "$(qall $n failed)"
	ob $n "--release=$failed"
	status_is "$n: gone for good" 64
	server_stop $n
fi

# ------------------------------------- 11. one connection per flush ---

n=onecon
if srv $n --pipelining; then
	for i in 1 2 3 4 5; do
		send $n "one-$i" -odq "$R1"
	done
	queued $n "five with -odq" 5
	ob $n -q
	status_is "$n: -q" 0
	t_is "$n: five stored" 5 "$(msg_count $n)"
	t_is "$n: each once" "1 1 1 1 1" "$(stored $n one-1) $(stored $n one-2) \
$(stored $n one-3) $(stored $n one-4) $(stored $n one-5)"
	t_is "$n: one connection" 1 "$(log_count $n '^[0-9]+ \* connect')"
	t_is "$n: one STARTTLS" 1 "$(log_count $n ' C: STARTTLS$')"
	t_is "$n: one AUTH" 1 "$(log_count $n ' C: AUTH ')"
	t_is "$n: five MAIL FROM" 5 "$(log_count $n ' C: MAIL FROM:')"
	gone $n "-q"
	server_stop $n
fi

# ----------------------------------------------- 12. failure notices ---

# In a flush, a 5xx to DATA sets the message aside and sends a notice
# (RFC 3464) from the null sender to the envelope sender, through the same
# account and connection; the next message still goes out.
n=notice
if srv $n --fault 'data#1:554 5.6.0 content refused'; then
	send $n nbad -odq "$R1"
	bad=$(qids $n msg)
	send $n ngood -odq "$R2"
	ob $n -q
	status_is "$n: -q" 0
	t_is "$n: the refused one is in failed/" "${bad:-none}" \
		"$(qids $n failed)"
	gone $n "-q"
	once $n ngood "the next message of the flush"
	t_is "$n: the good one and a notice stored" 2 "$(msg_count $n)"
	g=$(stored_n $n ngood)
	k=
	case $g in
	1) k=2 ;;
	2) k=1 ;;
	esac
	if [ -n "$k" ] && [ -f "$T/$n/msg-$k.env" ] &&
		[ -z "$(env_field $n "$k" mail_from)" ]; then
		t_pass "$n: a notice with MAIL FROM:<>"
		N=$(msg_file $n "$k")
		t_is "$n: notice to the original sender" "$FROM" \
			"$(env_field $n "$k" rcpt_tos)"
		t_is "$n: notice through the account" bob \
			"$(env_field $n "$k" auth)"
		t_like "$n: multipart/report" "$N" \
			'^Content-Type: multipart/report'
		t_like "$n: report-type=delivery-status" "$N" \
			'report-type="?delivery-status'
		t_like "$n: To: the original sender" "$N" "^To: .*$FROM"
		t_like "$n: From: Mail Delivery System" "$N" \
			'^From: .*Mail Delivery System'
		t_like "$n: has a message/delivery-status part" "$N" \
			'^Content-Type: message/delivery-status'
		t_like "$n: quotes the server's reply" "$N" '554 5\.6\.0'
		t_like "$n: Action: failed" "$N" '^Action: failed'
		t_like "$n: Status: the 5.6.0 of the refusal" "$N" \
			'^Status: 5\.6\.0'
		t_like "$n: Diagnostic-Code: the refusal" "$N" \
			'^Diagnostic-Code: smtp; ?554 5\.6\.0'
		t_unlike "$n: no success status in a failure report" "$N" \
			'^Status: 2\.'
		t_like "$n: names the failed recipient" "$N" "$R1"
	else
		t_fail "$n: a notice with MAIL FROM:<>"
	fi
	t_is "$n: one connection for it all" 1 \
		"$(log_count $n '^[0-9]+ \* connect')"
	t_ok "$n: RSET after the failed transaction" \
		grep -q ' C: RSET$' "$(server_log $n)"
	server_stop $n
fi

# A notice that cannot be sent (the sender's own address refused) is kept
# next to the message in failed/ and logged.
n=notice2
if srv $n --fault 'data#1:554 5.6.0 content refused' \
	--fault "rcpt=$FROM:550 5.1.1 no such user"; then
	send $n nkept -odq "$R1"
	id=$(qids $n msg)
	ob $n -q
	status_is "$n: -q" 0
	cat "$ERR" "$T/$n.olog" >"$T/$n.said" 2>/dev/null
	t_is "$n: in failed/" "${id:-none}" "$(qids $n failed)"
	t_is "$n: nothing stored" 0 "$(msg_count $n)"
	t_ok "$n: the notice is kept as failed/ID.notice" \
		test -s "$T/$n.q/failed/$id.notice"
	t_like "$n: the kept notice is a delivery report" \
		"$T/$n.q/failed/$id.notice" 'delivery-status'
	t_like "$n: logged (stderr or logfile)" "$T/$n.said" \
		"notice.*$id|$id.*notice"
	server_stop $n
fi

# Expiry (queue_max_age, default 5 days) counts from the first attempt
# that reached the server: such a message goes to failed/ with a notice;
# one that never reached a server does not expire however old.
n=expiry
if srv $n --fault "rcpt=$R1:451 4.2.0 mailbox busy"; then
	send $n old "$R1"
	status_is "$n: 451 to the only recipient" 0
	id=$(qids $n msg)
	long_ago=$(($(date +%s) - 6 * 86400))
	sed -i -e "s/^first-contact .*/first-contact $long_ago/" \
		-e "s/^first-attempt .*/first-attempt $long_ago/" \
		"$T/$n.q/state/$id"
	t_like "$n: state rewritten 6 days back" "$T/$n.q/state/$id" \
		"^first-contact $long_ago\$"
	ob $n -q
	status_is "$n: -q" 0
	t_is "$n: expired to failed/" "${id:-none}" "$(qids $n failed)"
	gone $n "expired"
	t_is "$n: a notice, nothing else, stored" 1 "$(msg_count $n)"
	t_is "$n: the notice is from the null sender" "" \
		"$(env_field $n 1 mail_from)"
	t_is "$n: to the original sender" "$FROM" "$(env_field $n 1 rcpt_tos)"

	conf neverup "$(unused_port)"
	send neverup neverup "$R1"
	status_is "neverup: server down" 0
	id=$(qids neverup msg)
	sed -i "s/^first-attempt .*/first-attempt $long_ago/" \
		"$T/neverup.q/state/$id"
	ob neverup -q
	status_is "neverup: -q, still down" 0
	queued neverup "never reached a server: not expired" 1
	t_is "neverup: nothing in failed/" 0 "$(qn neverup failed)"
	server_stop $n
fi

# Null-sender mail never gets a notice.
n=notice0
if srv $n --fault 'data#1:554 5.6.0 content refused'; then
	send $n nnull -odq -f '<>' "$R1"
	id=$(qids $n msg)
	ob $n -q
	status_is "$n: -q" 0
	t_is "$n: in failed/" "${id:-none}" "$(qids $n failed)"
	t_is "$n: no notice sent" 0 "$(msg_count $n)"
	t_ok "$n: no notice kept either" test ! -e "$T/$n.q/failed/$id.notice"
	gone $n "-q"
	server_stop $n
fi

# ------------------------------------- 13. -q at a terminal (issue 12) ---

# A person who runs outbox -q gets one line that sums it up; cron and
# scripts (stderr not a terminal) get nothing new.
n=summary
if srv $n; then
	send $n sum-1 -odq "$R1"
	send $n sum-2 -odq "$R2"
	run_tty "$OUTBOX" -C "$T/$n.conf" -q </dev/null
	status_is "$n: -q at a terminal" 0
	# What is left on the screen: a progress bar (when the flush took
	# long enough to draw one) is erased by the carriage returns.
	t_is "$n: one line: what was sent, what waits" \
		"outbox: queue flushed: 2 sent, 0 waiting, 0 held, 0 failed" \
		"$(tr '\r' '\n' <"$ERR" | grep -v -e '^ *$' -e '^flushing ')"
	t_is "$n: both sent" "1 1" "$(stored $n sum-1) $(stored $n sum-2)"
	run_tty "$OUTBOX" -C "$T/$n.conf" -q </dev/null
	t_is "$n: nothing due, said so" "outbox: nothing due: 0 waiting, 0 held" \
		"$(cat "$ERR")"
	send $n sum-3 -odq "$R1"
	ob $n -q
	status_is "$n: -q without a terminal" 0
	t_is "$n: without a terminal, silence" "" "$(cat "$ERR")"
	once $n sum-3 "-q without a terminal"
	server_stop $n
fi
conf sumdown "$(unused_port)"
send sumdown sum-down "$R1"
run_tty "$OUTBOX" -C "$T/sumdown.conf" -q </dev/null
status_is "sumdown: -q at a terminal, server down" 0
t_like "sumdown: one waiting, with its next try" "$ERR" \
	'^outbox: queue flushed: 0 sent, 1 waiting \(next try [0-9-]*[0-9]{2}:[0-9]{2}\), 0 held, 0 failed$'
t_is "sumdown: that one line only" 1 "$(wc -l <"$ERR" | tr -d ' ')"
ob sumdown -q
t_is "sumdown: without a terminal, silence" "" "$(cat "$ERR")"

done_testing
