#!/bin/sh
# crash.t - nothing is lost on kill -9 or under concurrency (DESIGN.md 2 and
# its test plan).  outbox is killed with SIGKILL (strace -e
# inject=SYSCALL:signal=KILL:when=N: the signal arrives as the Nth call of
# SYSCALL starts, so that call never happens) at every step of the commit,
# at the steps of a foreground delivery after it connected, at a spread of
# steps of a flush (plain SMTP, and STARTTLS + AUTH), while a flush records
# a partial delivery in state/ID, and while it gives a message up (failure
# notice, failed/); the kill points come from a reference run of the same
# case under strace.  Also: 50 submitters at once with the server down,
# then two flushers at once; and a submission and a flusher killed in the
# middle of a session leave no stale lock.  After each kill a clean
# `outbox -q` runs and the check is always the same, on what the server
# stored (one unique Subject per message): every message delivered exactly
# once, or still queued.  A second copy is allowed only in the documented
# window (the server had accepted the final dot, outbox had not recorded
# it yet): one copy from the killed run's connection, one from the rerun,
# never more than one such message per kill.  A kill before the commit's
# rename may lose the message (the caller saw no exit 0); after it, never.
# The queue is clean at the end (tmp/, msg/, state/, failed/ empty).
#
# Untrusted data: none beyond the test's own files; every server runs on
# 127.0.0.1 inside this test's temp dir.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
plan_lazy

CR=$(printf '\r')
RCPT=alice@example.org
TIMEOUT=10
K=3                             # messages queued for each flush kill point

# strace, and ptrace allowed here.
NO_STRACE="strace not installed"
if command -v strace >/dev/null 2>&1; then
	NO_STRACE="strace cannot trace here (ptrace not permitted)"
	strace -qq -o /dev/null true >/dev/null 2>&1 && NO_STRACE=
fi
# What strace records; a kill point is the Nth call of one of these.
TRACE_SET=openat,read,write,writev,pwrite64,sendto,sendmsg,recvfrom,connect,flock
TRACE_SET=$TRACE_SET,fdatasync,fsync,rename,renameat,renameat2,unlink,unlinkat
# The rename that commits a message (tmp/ID -> msg/ID), completed.
RENAMED='rename(at2?)?[(].*msg/[0-9a-f]{23}".*= 0$'

# conf NAME MODE PORT: $T/NAME.conf for a server on PORT (MODE plain: no
# TLS, no AUTH; starttls: verified STARTTLS and AUTH bob:secret), with its
# queue in $T/NAME.q.
conf() {
	{
		echo "account default"
		echo "host 127.0.0.1"
		echo "port $3"
		case $2 in
		plain) echo "tls off" ;;
		*)
			printf '%s\n' "tls on" "tls_starttls on" \
				"tls_trust_file $CA" "user bob" "password secret"
			;;
		esac
		echo "from bob@example.org"
		echo "timeout $TIMEOUT"
		echo "queue_dir $T/$1.q"
	} | write_config "$T/$1.conf"
}

# mkmsg SUBJECT FILE
mkmsg() {
	printf '%s\n' "From: bob@example.org" "To: $RCPT" "Subject: $1" "" \
		"Crash test message $1." >"$2"
}

# names DIR: DIR's entries, dot files included, each followed by a space
# (queue file names never have one); entries DIR: how many (0 if missing).
names() {
	# shellcheck disable=SC2012
	ls -A "$1" 2>/dev/null | tr '\n' ' '
}

entries() {
	# shellcheck disable=SC2012
	ls -A "$1" 2>/dev/null | wc -l | tr -d ' '
}

# leftovers NAME: what is left in NAME's queue (tmp/ msg/ state/ failed/),
# empty when nothing.
leftovers() {
	_lo=
	for _lo_d in tmp msg state failed; do
		[ "$(entries "$T/$1.q/$_lo_d")" -eq 0 ] ||
			_lo="$_lo $_lo_d/: $(names "$T/$1.q/$_lo_d")"
	done
	echo "$_lo"
}

# copies NAME SUBJECT: the numbers of the messages server NAME stored with
# that Subject, one a line.
copies() {
	grep -l -x -F -e "Subject: $2$CR" "$T/$1"/msg-*.eml 2>/dev/null |
		sed 's/.*msg-\([0-9]*\)\.eml$/\1/' | sort -n
}

ncopies() {
	copies "$1" "$2" | grep -c .
}

# conn_of NAME M: the number of the connection that stored msg-M.
conn_of() {
	sed -n "s/^\([0-9]*\) \* stored msg-$2\$/\1/p" "$(server_log "$1")" |
		sed -n 1p
}

# last_conn NAME: the number of the latest connection server NAME saw.
last_conn() {
	_lc=$(sed -n 's/^\([0-9]*\) \* connect.*/\1/p' "$(server_log "$1")" |
		tail -n 1)
	echo "${_lc:-0}"
}

# why TEXT: one reason the current check fails; verdict DESC reports the
# check (with the reasons and FILES... shown when it fails) and resets.
_why=
why() {
	_why="$_why${_why:+; }$*"
}

verdict() {
	_v_desc=$1
	shift
	if [ -z "$_why" ]; then
		t_pass "$_v_desc"
		return 0
	fi
	t_fail "$_v_desc"
	diag "$_why"
	for _v_f in "$@"; do
		[ -s "$_v_f" ] || continue
		diag "end of $_v_f:"
		tail -n 8 "$_v_f" | sed 's/^/#   /'
	done
	_why=
}

# traced TRACE FOLLOW INJECT CMD...: run CMD under strace (FOLLOW "-f" or
# ""), recording TRACE_SET in TRACE, killing it as INJECT
# ("SYSCALL:when=N") says (no kill when empty); $status as run() sets it.
traced() {
	_tr_file=$1
	_tr_f=$2
	_tr_inject=$3
	shift 3
	if [ -n "$_tr_inject" ]; then
		set -- -e "inject=$_tr_inject:signal=KILL" "$@"
	fi
	if [ -n "$_tr_f" ]; then
		set -- "$_tr_f" "$@"
	fi
	# LeakSanitizer cannot run under ptrace (sanitizer builds).
	run timeout 120 env ASAN_OPTIONS=detect_leaks=0 strace -qq \
		-o "$_tr_file" -e "trace=$TRACE_SET" "$@"
}

# ranges TRACE PID START STOP: "SYSCALL FIRST LAST" for each syscall of
# process PID ("" for a trace without a pid column) between the first
# call matching the extended regex START and the first matching STOP (the
# end when STOP is empty): the kill points of that stretch.
ranges() {
	awk -v want="$2" -v start="$3" -v stop="$4" '
	{
		pid = ""
		line = $0
		if ($1 ~ /^[0-9]+$/) {
			pid = $1
			sub(/^[0-9]+ +/, "", line)
		}
		if (pid != want || line !~ /^[a-z_0-9]+[(]/)
			next
		name = line
		sub(/[(].*/, "", name)
		if (!started && line ~ start) {
			started = 1
			for (s in cnt)
				first[s] = cnt[s]
		}
		if (started && !stopped && stop != "" && line ~ stop) {
			stopped = 1
			for (s in cnt)
				last[s] = cnt[s]
		}
		cnt[name]++
	}
	END {
		if (!started)
			exit
		for (s in cnt) {
			f = (s in first) ? first[s] + 1 : 1
			l = stopped ? ((s in last) ? last[s] : 0) : cnt[s]
			if (l >= f)
				print s, f, l
		}
	}' "$1" | sort
}

# spread FIRST LAST MAX: at most MAX numbers from FIRST..LAST, evenly
# spread, both ends included.
spread() {
	awk -v f="$1" -v l="$2" -v m="$3" 'BEGIN {
		if (l - f + 1 <= m) {
			for (i = f; i <= l; i++)
				print i
			exit
		}
		prev = -1
		for (i = 0; i < m; i++) {
			v = f + int(i * (l - f) / (m - 1) + 0.5)
			if (v != prev)
				print v
			prev = v
		}
	}'
}

# points RANGES CAPS: "SYSCALL N" kill points from a ranges() file; CAPS
# is "SYSCALL:MAX ..." (syscalls not listed are not killed at).
points() {
	while read -r _p_s _p_f _p_l; do
		for _p_c in $2; do
			[ "${_p_c%%:*}" = "$_p_s" ] || continue
			for _p_n in $(spread "$_p_f" "$_p_l" "${_p_c#*:}"); do
				echo "$_p_s $_p_n"
			done
		done
	done <"$1"
}

# copies_ok NAME CKILL SUBJECT...: after a kill and a clean -q, every
# SUBJECT stored once, or twice with exactly one copy from a connection
# the killed run made (numbered up to CKILL) and one from after; at most
# one message twice (the one in flight).
copies_ok() {
	_ak_name=$1
	_ak_ck=$2
	shift 2
	_ak_dups=0
	for _ak_s in "$@"; do
		_ak_l=$(copies "$_ak_name" "$_ak_s")
		_ak_n=$(echo "$_ak_l" | grep -c .)
		case $_ak_n in
		1) ;;
		2)
			_ak_dups=$((_ak_dups + 1))
			_ak_old=0
			_ak_where=
			for _ak_m in $_ak_l; do
				_ak_c=$(conn_of "$_ak_name" "$_ak_m")
				_ak_where="$_ak_where msg-$_ak_m (connection ${_ak_c:-?})"
				[ "${_ak_c:-0}" -gt "$_ak_ck" ] ||
					_ak_old=$((_ak_old + 1))
			done
			[ "$_ak_old" -eq 1 ] ||
				why "$_ak_s stored twice:$_ak_where, not once by the killed run (connections up to $_ak_ck) and once after"
			;;
		*) why "$_ak_s stored $_ak_n times" ;;
		esac
	done
	[ "$_ak_dups" -le 1 ] ||
		why "$_ak_dups messages stored twice; only the one in flight may be"
}

# after_kill NAME CKILL SUBJECT...: copies_ok, and the queue clean.
after_kill() {
	copies_ok "$@"
	_ak_lo=$(leftovers "$1")
	[ -z "$_ak_lo" ] || why "left in the queue:$_ak_lo"
}

# flush_again NAME: a clean `outbox -q` after a kill.
flush_again() {
	run timeout 60 "$OUTBOX" -C "$T/$1.conf" -q
	[ "$status" -eq 0 ] || why "the outbox -q after the kill exited $status: $(head -n 2 "$ERR" | tr '\n' ' ')"
}

# ------------------------------------------- 1. kill -9 during the commit ---

# commit_point S N: a foreground submission killed at the Nth S (before
# any network activity); then -q.  Committed (the rename into msg/ done):
# in msg/, delivered once by -q.  Not committed: msg/ never had it, not
# delivered, tmp/ swept.
commit_i=0
commit_point() {
	commit_i=$((commit_i + 1))
	_cp_subj=$(printf 'crash-commit-%03d' "$commit_i")
	mkmsg "$_cp_subj" "$T/commit.m"
	traced "$T/commit.kill" "" "$1:when=$2" \
		"$OUTBOX" -C "$T/commit.conf" "$RCPT" <"$T/commit.m"
	[ "$status" -eq 137 ] ||
		why "outbox exited $status, not killed (137): the caller must not see 0"
	if grep -q -E -e "$RENAMED" "$T/commit.kill"; then
		_cp_c=1
		_cp_what="after the rename: queued, delivered once by -q"
	else
		_cp_c=0
		_cp_what="before the rename: nothing in msg/, not delivered, tmp/ swept"
	fi
	_cp_m=$(entries "$T/commit.q/msg")
	[ "$_cp_m" -eq "$_cp_c" ] ||
		why "msg/ holds $_cp_m file(s) after the kill, expected $_cp_c"
	flush_again commit
	_cp_n=$(ncopies commit "$_cp_subj")
	[ "$_cp_n" -eq "$_cp_c" ] ||
		why "the server stored it $_cp_n times, expected $_cp_c"
	_cp_lo=$(leftovers commit)
	[ -z "$_cp_lo" ] || why "left in the queue after -q:$_cp_lo"
	verdict "commit: kill -9 at $1 #$2: $_cp_what" "$T/commit.kill" "$ERR"
}

# record_point S N: a foreground submission killed at the Nth S after it
# connected (sending, or recording the outcome); then -q: once, or twice
# in the window.
record_point() {
	commit_i=$((commit_i + 1))
	_rp_subj=$(printf 'crash-commit-%03d' "$commit_i")
	mkmsg "$_rp_subj" "$T/commit.m"
	traced "$T/commit.kill" "" "$1:when=$2" \
		"$OUTBOX" -C "$T/commit.conf" "$RCPT" <"$T/commit.m"
	[ "$status" -eq 137 ] || why "outbox exited $status, not killed (137)"
	_rp_ck=$(last_conn commit)
	flush_again commit
	after_kill commit "$_rp_ck" "$_rp_subj"
	verdict "delivery: kill -9 at $1 #$2 after connecting: delivered once (twice only in the window)" \
		"$T/commit.kill" "$ERR"
}

commit_tests() {
	server_start commit --mode plain || {
		t_fail "commit: the test server starts"
		return 0
	}
	conf commit plain "$(server_port commit)"
	mkmsg crash-commit-ref "$T/commit.m"
	traced "$T/commit.ref" "" "" \
		"$OUTBOX" -C "$T/commit.conf" "$RCPT" <"$T/commit.m"
	t_is "commit: reference submission under strace exits 0" 0 "$status" ||
		diag_file "$ERR"
	t_is "commit: reference submission delivered once" 1 \
		"$(ncopies commit crash-commit-ref)"
	t_like "commit: reference submission commits tmp/ID -> msg/ID" \
		"$T/commit.ref" "$RENAMED"
	t_is "commit: queue clean after the reference submission" "" \
		"$(leftovers commit)"
	ranges "$T/commit.ref" "" '/commit[.]q|"(tmp|msg|state|failed)/' \
		'^connect[(]' >"$T/commit.ranges"
	points "$T/commit.ranges" "openat:40 write:40 writev:40 pwrite64:40 flock:40 fdatasync:40 fsync:40 rename:40 renameat:40 renameat2:40" \
		>"$T/commit.points"
	ranges "$T/commit.ref" "" '^connect[(]' '' >"$T/record.ranges"
	points "$T/record.ranges" "sendto:4 sendmsg:4 fdatasync:20 fsync:20 rename:20 renameat:20 renameat2:20 unlink:20 unlinkat:20" \
		>"$T/record.points"
	if [ -s "$T/commit.points" ]; then
		t_pass "commit: $(wc -l <"$T/commit.points") kill points between opening the queue and connecting"
	else
		t_fail "commit: kill points between opening the queue and connecting"
		diag "no queue activity before connect() in the reference trace:"
		diag_file "$T/commit.ref" 40
	fi
	diag "commit kill points: $(awk '{ print $1 "#" $2 }' "$T/commit.points" | tr '\n' ' ')"
	while read -r _ct_s _ct_n; do
		commit_point "$_ct_s" "$_ct_n"
	done <"$T/commit.points"
	[ -s "$T/record.points" ] ||
		t_fail "delivery: kill points after connecting in the reference trace"
	diag "delivery kill points: $(awk '{ print $1 "#" $2 }' "$T/record.points" | tr '\n' ' ')"
	while read -r _ct_s _ct_n; do
		record_point "$_ct_s" "$_ct_n"
	done <"$T/record.points"
	server_stop commit
}

# --------------------------------------------- 2. kill -9 during a flush ---

# queue_k NAME TAG: queues $K messages crash-TAG-1.. with -odq.
queue_k() {
	for _qk in $(seq 1 "$K"); do
		mkmsg "crash-$2-$_qk" "$T/$1.m"
		run timeout 60 "$OUTBOX" -C "$T/$1.conf" -odq "$RCPT" <"$T/$1.m"
		[ "$status" -eq 0 ] || why "queueing crash-$2-$_qk with -odq exited $status"
	done
	[ "$(entries "$T/$1.q/msg")" -eq "$K" ] ||
		why "msg/ holds $(entries "$T/$1.q/msg") files after queueing $K"
}

subjects_k() {
	for _sk in $(seq 1 "$K"); do
		echo "crash-$1-$_sk"
	done
}

# flush_point NAME S N: K messages queued; `outbox -q` killed at the Nth
# S; then -q again.
flush_i=0
flush_point() {
	flush_i=$((flush_i + 1))
	_fp_tag=$(printf '%s-%03d' "$1" "$flush_i")
	queue_k "$1" "$_fp_tag"
	traced "$T/$1.kill" -f "$2:when=$3" "$OUTBOX" -C "$T/$1.conf" -q
	_fp_note=
	if [ "$status" -ne 137 ]; then
		case $2:$status in
		read:0 | recvfrom:0)
			# How the replies come in (one read or several) varies.
			_fp_note=" (not reached in this run)"
			;;
		*) why "outbox -q exited $status, not killed (137)" ;;
		esac
	fi
	_fp_ck=$(last_conn "$1")
	flush_again "$1"
	# shellcheck disable=SC2046
	after_kill "$1" "$_fp_ck" $(subjects_k "$_fp_tag")
	verdict "flush ($1): kill -9 at $2 #$3$_fp_note: each message delivered once (twice only in the window), queue clean" \
		"$T/$1.kill" "$ERR"
}

# flush_tests NAME MODE CAPS: reference flush, then the kill points.
flush_tests() {
	_ft_name=$1
	_ft_mode=$2
	_ft_caps=$3
	case $_ft_mode in
	plain) server_start "$_ft_name" --mode plain ;;
	*)
		server_start "$_ft_name" --mode starttls --cert "$CERT" \
			--key "$KEY" --auth bob:secret
		;;
	esac || {
		t_fail "$_ft_name: the test server starts"
		return 0
	}
	conf "$_ft_name" "$_ft_mode" "$(server_port "$_ft_name")"
	queue_k "$_ft_name" "$_ft_name-ref"
	verdict "$_ft_name: $K messages queued with -odq"
	traced "$T/$_ft_name.ref" -f "" "$OUTBOX" -C "$T/$_ft_name.conf" -q
	t_is "$_ft_name: reference flush under strace exits 0" 0 "$status" ||
		diag_file "$ERR"
	# shellcheck disable=SC2046
	after_kill "$_ft_name" 0 $(subjects_k "$_ft_name-ref")
	verdict "$_ft_name: reference flush delivered each message once, queue clean"
	# The process that talks to the server, from its first queue access.
	_ft_pid=$(sed -n 's/^\([0-9]*\) \{1,\}connect[(].*/\1/p' \
		"$T/$_ft_name.ref" | sed -n 1p)
	if [ -z "$_ft_pid" ]; then
		t_fail "$_ft_name: the reference flush connected to the server"
		diag_file "$T/$_ft_name.ref" 40
		server_stop "$_ft_name"
		return 0
	fi
	ranges "$T/$_ft_name.ref" "$_ft_pid" \
		"/${_ft_name}[.]q|\"(tmp|msg|state|failed)/" '' >"$T/$_ft_name.ranges"
	[ -s "$T/$_ft_name.ranges" ] ||
		ranges "$T/$_ft_name.ref" "$_ft_pid" '.' '' >"$T/$_ft_name.ranges"
	points "$T/$_ft_name.ranges" "$_ft_caps" >"$T/$_ft_name.points"
	diag "$_ft_name: syscalls of the flush (first and last call): $(tr '\n' ',' <"$T/$_ft_name.ranges")"
	diag "$_ft_name kill points: $(awk '{ print $1 "#" $2 }' "$T/$_ft_name.points" | tr '\n' ' ')"
	while read -r _ft_s _ft_n; do
		flush_point "$_ft_name" "$_ft_s" "$_ft_n"
	done <"$T/$_ft_name.points"
	server_stop "$_ft_name"
}

# ---------------------- 2b. kill -9 while recording a partial delivery ---

# The server refuses carol for now (451) and takes alice: the flush records
# "alice delivered, carol pending" in state/ID (tmp + fdatasync + rename +
# fsync of state/).  Killed anywhere in the session: alice gets the message
# once, twice only when the kill came before the state file was renamed
# into place (the server had it, outbox had not recorded it); a retry never
# resends to alice once it is recorded; carol stays queued.
PARTIAL_RCPTS="alice@example.org carol@example.net"
STATE_RENAMED='rename(at2?)?[(].*state/[0-9a-f]{23}".*= 0$'

# partial_state NAME ID: the queue holds ID with alice delivered, carol
# pending, and nothing else.
partial_state() {
	[ "$(names "$T/$1.q/msg")" = "$2 " ] ||
		why "msg/ holds '$(names "$T/$1.q/msg")', expected $2 alone"
	[ "$(names "$T/$1.q/state")" = "$2 " ] ||
		why "state/ holds '$(names "$T/$1.q/state")', expected $2 alone"
	grep -q '^rcpt 0 delivered' "$T/$1.q/state/$2" 2>/dev/null ||
		why "state/$2 does not record alice as delivered"
	grep -q '^rcpt 1 pending' "$T/$1.q/state/$2" 2>/dev/null ||
		why "state/$2 does not record carol as pending"
	[ "$(entries "$T/$1.q/tmp")$(entries "$T/$1.q/failed")" = 00 ] ||
		why "tmp/ or failed/ not empty:$(leftovers "$1")"
}

# partial_remove NAME ID: outbox --remove=ID; the queue clean.
partial_remove() {
	run timeout 60 "$OUTBOX" -C "$T/$1.conf" --remove="$2"
	[ "$status" -eq 0 ] || why "outbox --remove=$2 exited $status"
	_pr_lo=$(leftovers "$1")
	[ -z "$_pr_lo" ] || why "left in the queue after --remove:$_pr_lo"
}

partial_i=0
partial_point() {
	partial_i=$((partial_i + 1))
	_pp_subj=$(printf 'crash-partial-%03d' "$partial_i")
	mkmsg "$_pp_subj" "$T/partial.m"
	# shellcheck disable=SC2086
	run timeout 60 "$OUTBOX" -C "$T/partial.conf" -odq $PARTIAL_RCPTS <"$T/partial.m"
	[ "$status" -eq 0 ] || why "queueing with -odq exited $status"
	_pp_id=$(names "$T/partial.q/msg" | tr -d ' ')
	traced "$T/partial.kill" -f "$1:when=$2" "$OUTBOX" -C "$T/partial.conf" -q
	[ "$status" -eq 137 ] || why "outbox -q exited $status, not killed (137)"
	_pp_ck=$(last_conn partial)
	flush_again partial
	if grep -q -E -e "$STATE_RENAMED" "$T/partial.kill"; then
		_pp_what="after alice was recorded: no resend to her"
		_pp_n=$(ncopies partial "$_pp_subj")
		[ "$_pp_n" -eq 1 ] ||
			why "alice got it $_pp_n times, though her delivery was recorded before the kill"
	else
		_pp_what="before alice was recorded: once (twice only in the window)"
		copies_ok partial "$_pp_ck" "$_pp_subj"
	fi
	partial_state partial "$_pp_id"
	partial_remove partial "$_pp_id"
	verdict "partial: kill -9 at $1 #$2: $_pp_what, carol still queued" \
		"$T/partial.kill" "$ERR"
}

partial_tests() {
	server_start partial --mode plain \
		--fault 'rcpt=carol@example.net:451 4.2.0 try again later' || {
		t_fail "partial: the test server starts"
		return 0
	}
	conf partial plain "$(server_port partial)"
	mkmsg crash-partial-ref "$T/partial.m"
	# shellcheck disable=SC2086
	t_exit "partial: -odq to alice and carol exits 0" 0 \
		timeout 60 "$OUTBOX" -C "$T/partial.conf" -odq $PARTIAL_RCPTS <"$T/partial.m"
	_pt_id=$(names "$T/partial.q/msg" | tr -d ' ')
	traced "$T/partial.ref" -f "" "$OUTBOX" -C "$T/partial.conf" -q
	t_is "partial: reference flush under strace exits 0" 0 "$status" ||
		diag_file "$ERR"
	t_is "partial: alice got it once" 1 "$(ncopies partial crash-partial-ref)"
	t_like "partial: the flush renames state/ID into place" "$T/partial.ref" \
		"$STATE_RENAMED"
	partial_state partial "$_pt_id"
	partial_remove partial "$_pt_id"
	verdict "partial: alice recorded as delivered, carol pending; --remove empties the queue"
	_pt_pid=$(sed -n 's/^\([0-9]*\) \{1,\}connect[(].*/\1/p' \
		"$T/partial.ref" | sed -n 1p)
	ranges "$T/partial.ref" "${_pt_pid:-none}" '^connect[(]' '' >"$T/partial.ranges"
	points "$T/partial.ranges" "openat:12 write:12 writev:12 fdatasync:12 fsync:12 rename:12 renameat:12 renameat2:12 unlink:12 unlinkat:12 sendto:4 sendmsg:4" \
		>"$T/partial.points"
	if [ -s "$T/partial.points" ]; then
		t_pass "partial: $(wc -l <"$T/partial.points") kill points after connecting"
	else
		t_fail "partial: kill points after connecting"
		diag_file "$T/partial.ref" 40
	fi
	diag "partial kill points: $(awk '{ print $1 "#" $2 }' "$T/partial.points" | tr '\n' ' ')"
	while read -r _pt_s _pt_n; do
		partial_point "$_pt_s" "$_pt_n"
	done <"$T/partial.points"
	server_stop partial
}

# ------------------------------ 2c. kill -9 while giving a message up ---

# The server refuses carol for good (550): the flush sends a failure notice
# to bob (MAIL FROM:<>) and moves the message to failed/ with its state.
# Killed anywhere: the notice arrives once (twice only in the window), the
# message ends up in failed/ (ID and ID.state, nothing else), never sent
# anywhere, nothing left in tmp/ msg/ state/.

# perm_failed NAME ID: failed/ holds exactly ID and ID.state; msg/ tmp/
# state/ empty.
perm_failed() {
	[ "$(names "$T/$1.q/failed")" = "$2 $2.state " ] ||
		why "failed/ holds '$(names "$T/$1.q/failed")', expected $2 and $2.state"
	[ "$(entries "$T/$1.q/msg")$(entries "$T/$1.q/tmp")$(entries "$T/$1.q/state")" = 000 ] ||
		why "msg/, tmp/ or state/ not empty:$(leftovers "$1")"
}

# perm_reset NAME: the test clears failed/ and the notice rate limit's
# history for the next case.
perm_reset() {
	rm -f "$T/$1.q/failed/"* "$T/$1.q/notices"
}

perm_i=0
perm_point() {
	perm_i=$((perm_i + 1))
	_pm_subj=$(printf 'crash-perm-%03d' "$perm_i")
	mkmsg "$_pm_subj" "$T/perm.m"
	run timeout 60 "$OUTBOX" -C "$T/perm.conf" -odq carol@example.net <"$T/perm.m"
	[ "$status" -eq 0 ] || why "queueing with -odq exited $status"
	_pm_id=$(names "$T/perm.q/msg" | tr -d ' ')
	traced "$T/perm.kill" -f "$1:when=$2" "$OUTBOX" -C "$T/perm.conf" -q
	[ "$status" -eq 137 ] || why "outbox -q exited $status, not killed (137)"
	_pm_ck=$(last_conn perm)
	flush_again perm
	# The notice quotes the message's headers, Subject included; the
	# message itself never gets past RCPT.
	copies_ok perm "$_pm_ck" "$_pm_subj"
	perm_failed perm "$_pm_id"
	perm_reset perm
	verdict "perm: kill -9 at $1 #$2: one notice (two only in the window), the message in failed/ with its state" \
		"$T/perm.kill" "$ERR"
}

perm_tests() {
	server_start perm --mode plain \
		--fault 'rcpt=carol@example.net:550 5.1.1 no such user' || {
		t_fail "perm: the test server starts"
		return 0
	}
	conf perm plain "$(server_port perm)"
	mkmsg crash-perm-ref "$T/perm.m"
	t_exit "perm: -odq to carol exits 0" 0 \
		timeout 60 "$OUTBOX" -C "$T/perm.conf" -odq carol@example.net <"$T/perm.m"
	_pm_id=$(names "$T/perm.q/msg" | tr -d ' ')
	traced "$T/perm.ref" -f "" "$OUTBOX" -C "$T/perm.conf" -q
	t_is "perm: reference flush under strace exits 0" 0 "$status" ||
		diag_file "$ERR"
	t_is "perm: one failure notice stored" 1 "$(ncopies perm crash-perm-ref)"
	perm_failed perm "$_pm_id"
	verdict "perm: the message is in failed/ with its state"
	perm_reset perm
	_pm_pid=$(sed -n 's/^\([0-9]*\) \{1,\}connect[(].*/\1/p' \
		"$T/perm.ref" | sed -n 1p)
	ranges "$T/perm.ref" "${_pm_pid:-none}" '^connect[(]' '' >"$T/perm.ranges"
	points "$T/perm.ranges" "openat:10 write:10 writev:10 fdatasync:12 fsync:12 rename:12 renameat:12 renameat2:12 unlink:12 unlinkat:12 sendto:5 sendmsg:5" \
		>"$T/perm.points"
	if [ -s "$T/perm.points" ]; then
		t_pass "perm: $(wc -l <"$T/perm.points") kill points after connecting"
	else
		t_fail "perm: kill points after connecting"
		diag_file "$T/perm.ref" 40
	fi
	diag "perm kill points: $(awk '{ print $1 "#" $2 }' "$T/perm.points" | tr '\n' ' ')"
	while read -r _pm_s _pm_n; do
		perm_point "$_pm_s" "$_pm_n"
	done <"$T/perm.points"
	server_stop perm
}

if [ -z "$NO_STRACE" ]; then
	commit_tests
	partial_tests
	perm_tests
	flush_tests flush plain "fdatasync:12 fsync:12 rename:12 renameat:12 renameat2:12 unlink:12 unlinkat:12 sendto:20 sendmsg:20 write:6 writev:6 read:20 recvfrom:20 openat:8 flock:4 connect:1"
	if command -v certtool >/dev/null 2>&1; then
		e2e_certs
		flush_tests tlsflush starttls "sendto:4 sendmsg:6 read:4 recvfrom:6 fdatasync:3 fsync:3 renameat:3 unlinkat:6 flock:2 connect:1"
	else
		t_skip "tlsflush: kill -9 during a STARTTLS + AUTH flush" \
			"certtool (gnutls-bin) not installed"
	fi
else
	t_skip "commit and flush: kill -9 at each step" "$NO_STRACE"
fi

# --------------------- 3. 50 submitters with the server down, 2 flushers ---

N=50
PORT=$(unused_port)
conf conc plain "$PORT"
for i in $(seq 1 "$N"); do
	mkmsg "crash-conc-$(printf '%02d' "$i")" "$T/conc-$i.m"
done
pids=
for i in $(seq 1 "$N"); do
	timeout 60 "$OUTBOX" -C "$T/conc.conf" "$RCPT" <"$T/conc-$i.m" \
		>"$T/conc-$i.out" 2>&1 &
	pids="$pids $!"
done
bad=0
for p in $pids; do
	wait "$p" || bad=$((bad + 1))
done
t_is "concurrent: $N submissions with the server down, all exit 0" 0 "$bad" ||
	for i in $(seq 1 "$N"); do
		diag_file "$T/conc-$i.out" 2
	done
t_is "concurrent: $N messages in msg/" "$N" "$(entries "$T/conc.q/msg")"
t_is "concurrent: tmp/ empty" 0 "$(entries "$T/conc.q/tmp")"

if server_start conc --mode plain --port "$PORT"; then
	timeout 120 "$OUTBOX" -C "$T/conc.conf" -q >"$T/conc-q1.out" 2>&1 &
	f1=$!
	timeout 120 "$OUTBOX" -C "$T/conc.conf" -q >"$T/conc-q2.out" 2>&1 &
	f2=$!
	wait "$f1"
	s1=$?
	wait "$f2"
	s2=$?
	t_is "concurrent: two outbox -q at once, both exit 0" "0 0" "$s1 $s2" || {
		diag_file "$T/conc-q1.out"
		diag_file "$T/conc-q2.out"
	}
	# The second flusher may return at once (it pokes the trigger).
	i=0
	while [ "$(entries "$T/conc.q/msg")" -gt 0 ] && [ "$i" -lt 300 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if [ "$(entries "$T/conc.q/msg")" -gt 0 ]; then
		diag "msg/ still holds $(entries "$T/conc.q/msg") files 15 s after both flushers; one more -q"
		timeout 120 "$OUTBOX" -C "$T/conc.conf" -q >"$T/conc-q3.out" 2>&1
	fi
	t_is "concurrent: $N messages stored in all" "$N" "$(msg_count conc)"
	twice=
	missing=
	for i in $(seq 1 "$N"); do
		s=crash-conc-$(printf '%02d' "$i")
		case $(ncopies conc "$s") in
		1) ;;
		0) missing="$missing $s" ;;
		*) twice="$twice $s" ;;
		esac
	done
	t_is "concurrent: every message stored" "" "$missing"
	t_is "concurrent: no message stored twice" "" "$twice"
	t_is "concurrent: queue clean" "" "$(leftovers conc)"
	server_stop conc
else
	t_fail "concurrent: the test server starts on port $PORT"
fi

# ---------------------------------- 4. no stale lock after kill -9 ---

# elapsed_ok DESC START: finished within 8 s of START (the config's
# timeout is 10 s: waiting on a dead process's lock would show).
elapsed_ok() {
	[ $(($(date +%s) - $2)) -le 8 ]
	ok $? "$1 (took $(($(date +%s) - $2)) s)"
}

# A foreground submission killed while the server hangs after DATA (the
# server never got the body): the message stays queued, a new submission
# and -q go through at once, and -q delivers it exactly once.
if server_start stale --mode plain --fault 'data#1:hang'; then
	conf stale plain "$(server_port stale)"
	mkmsg crash-stale-1 "$T/stale-1.m"
	mkmsg crash-stale-2 "$T/stale-2.m"
	"$OUTBOX" -C "$T/stale.conf" "$RCPT" <"$T/stale-1.m" >"$T/stale-1.out" 2>&1 &
	p=$!
	if wait_log stale ' C: DATA$' 15; then
		kill -KILL "$p"
		t_pass "stale lock: the submission hangs after DATA"
	else
		t_fail "stale lock: the submission hangs after DATA"
		diag_file "$(server_log stale)" 30
	fi
	wait "$p"
	t_is "stale lock: the killed submission's status is 137" 137 "$?"
	t_is "stale lock: the killed message is in msg/" 1 "$(entries "$T/stale.q/msg")"
	start=$(date +%s)
	t_exit "stale lock: a new submission exits 0" 0 \
		timeout 60 "$OUTBOX" -C "$T/stale.conf" "$RCPT" <"$T/stale-2.m"
	elapsed_ok "stale lock: the new submission does not wait for the dead process" "$start"
	t_is "stale lock: the new submission stored once" 1 "$(ncopies stale crash-stale-2)"
	start=$(date +%s)
	t_exit "stale lock: outbox -q exits 0" 0 timeout 60 "$OUTBOX" -C "$T/stale.conf" -q
	elapsed_ok "stale lock: outbox -q does not wait for the dead process" "$start"
	t_is "stale lock: the killed message delivered exactly once" 1 \
		"$(ncopies stale crash-stale-1)"
	t_is "stale lock: queue clean" "" "$(leftovers stale)"
	server_stop stale
else
	t_fail "stale lock: the test server starts"
fi

# A flusher killed while the server hangs after storing the message (end
# of data): the flusher lock does not outlive it; a new -odq submission
# and -q deliver both, the killed one at most twice (the server has one).
if server_start stalef --mode plain --fault 'eod#1:hang'; then
	conf stalef plain "$(server_port stalef)"
	mkmsg crash-stalef-1 "$T/stalef-1.m"
	mkmsg crash-stalef-2 "$T/stalef-2.m"
	t_exit "stale flusher lock: -odq exits 0" 0 \
		timeout 60 "$OUTBOX" -C "$T/stalef.conf" -odq "$RCPT" <"$T/stalef-1.m"
	"$OUTBOX" -C "$T/stalef.conf" -q >"$T/stalef-q.out" 2>&1 &
	p=$!
	if wait_log stalef '\* stored msg-1$' 15; then
		kill -KILL "$p"
		t_pass "stale flusher lock: the flush hangs after the final dot"
	else
		t_fail "stale flusher lock: the flush hangs after the final dot"
		diag_file "$(server_log stalef)" 30
	fi
	wait "$p"
	t_is "stale flusher lock: the killed flusher's status is 137" 137 "$?"
	ck=$(last_conn stalef)
	start=$(date +%s)
	t_exit "stale flusher lock: a new -odq submission exits 0" 0 \
		timeout 60 "$OUTBOX" -C "$T/stalef.conf" -odq "$RCPT" <"$T/stalef-2.m"
	t_exit "stale flusher lock: outbox -q exits 0" 0 \
		timeout 60 "$OUTBOX" -C "$T/stalef.conf" -q
	elapsed_ok "stale flusher lock: both do not wait for the dead flusher" "$start"
	t_is "stale flusher lock: the new message stored once" 1 \
		"$(ncopies stalef crash-stalef-2)"
	after_kill stalef "$ck" crash-stalef-1 crash-stalef-2
	verdict "stale flusher lock: the killed message delivered (twice at most: the server had stored it), queue clean"
	server_stop stalef
else
	t_fail "stale flusher lock: the test server starts"
fi

done_testing
