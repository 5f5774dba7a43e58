#!/bin/sh
# hostile-queue.t - crafted queue entries (DESIGN.md 2, "Queue layout"):
# envelopes with a valid trailer but missing or hostile fields, state files
# with garbage numbers, FIFOs, symbolic links and directories where queue
# files belong, files of another user, and queue subdirectories that others
# can write to.  The cases are rows of tests/e2e/hostile-queue.rows; for
# each, a queue of its own holds the crafted entry beside a good message,
# and the test checks the exit status of `outbox -bp` and `outbox -q` (each
# bounded in time: an entry that blocks fails the row), what -q said, where
# the entry ended up, that the crafted message reached the server only when
# it should, and that the good message was listed and sent all the same.
#
# Untrusted data: none beyond the test's own files; the server runs on
# 127.0.0.1 inside this test's temp dir, every queue lives there too.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

ROWS=$E2E_TOP/tests/e2e/hostile-queue.rows
ID=00000000000000000000001
HEAD='outbox-queue 1\\naccount default\\nfrom bob@example.org\\n'
TAIL='eightbit 0\\nsmtputf8 0\\ncreated 1700000000\\n'

# trim STRING: without surrounding blanks.
trim() {
	printf '%s' "$1" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//'
}

# craft FILE ENVELOPE TAG: a message file with that envelope (escapes and
# @HEAD@/@TAIL@ expanded), Subject [TAG], and a trailer that matches.
craft() {
	_c_env=$(printf '%s' "$2" | sed -e "s/@HEAD@/$HEAD/g" -e "s/@TAIL@/$TAIL/g")
	_c_msg="Subject: [$3]\\r\\nFrom: bob@example.org\\r\\n\\r\\nhostile $3\\r\\n"
	{
		printf '%b\n' "$_c_env"
		printf '%b' "$_c_msg"
	} >"$1.part"
	_c_len=$(printf '%b' "$_c_msg" | wc -c | tr -d ' ')
	_c_sum=$(sha256sum <"$1.part" | cut -d ' ' -f 1)
	{
		cat "$1.part"
		printf 'outbox-trailer %s %s\n' "$_c_len" "$_c_sum"
	} >"$1"
	rm -f "$1.part"
}

GOOD_ENV='@HEAD@rcpt alice@example.org\n@TAIL@'

# stored TAG: how many messages tagged TAG the server stored.
stored() {
	grep -l -F "Subject: [$1]" "$T/hq"/msg-*.eml 2>/dev/null | wc -l | tr -d ' '
}

# ob CONF ARGS...: outbox -C CONF ARGS, at most 30 s, stdin /dev/null.
ob() {
	_ob_c=$1
	shift
	run timeout 30 "$OUTBOX" -C "$_ob_c" "$@" </dev/null
}

# status_is DESC EXPECTED
status_is() {
	if [ "$status" -eq "$2" ]; then
		t_pass "$1: exit status $2"
	else
		t_fail "$1: exit status $2"
		_t_diag_run
	fi
}

# setup Q SETUP CONTENT NAME: plants the row's entry in queue Q.
setup() {
	_s_q=$1
	case $2 in
	env) craft "$_s_q/msg/$ID" "$3" "hq-$4" ;;
	state)
		craft "$_s_q/msg/$ID" "$GOOD_ENV" "hq-$4"
		printf 'outbox-state 1\n%b' "$3" >"$_s_q/state/$ID"
		;;
	msg-fifo) mkfifo "$_s_q/msg/$ID" ;;
	msg-symlink)
		craft "$T/$4.outside" "$GOOD_ENV" "hq-$4"
		ln -s "$T/$4.outside" "$_s_q/msg/$ID"
		;;
	msg-dir) mkdir "$_s_q/msg/$ID" ;;
	msg-foreign)
		craft "$_s_q/msg/$ID" "$GOOD_ENV" "hq-$4"
		chown 65534 "$_s_q/msg/$ID"
		;;
	state-*)
		craft "$_s_q/msg/$ID" "$GOOD_ENV" "hq-$4"
		case $2 in
		state-symlink)
			printf 'outbox-state 1\nattempts 1\n' >"$T/$4.state"
			ln -s "$T/$4.state" "$_s_q/state/$ID"
			;;
		state-fifo) mkfifo "$_s_q/state/$ID" ;;
		state-dir) mkdir "$_s_q/state/$ID" ;;
		esac
		;;
	tmp-fifo) mkfifo "$_s_q/tmp/$ID" ;;
	tmp-symlink) ln -s "$T/nowhere" "$_s_q/tmp/$ID" ;;
	failed-fifo) mkfifo "$_s_q/failed/$ID" ;;
	notice-fifo)
		craft "$_s_q/msg/$ID" "$3" "hq-$4"
		mkfifo "$_s_q/failed/$ID.notice"
		;;
	notices-fifo)
		craft "$_s_q/msg/$ID" "$3" "hq-$4"
		mkfifo "$_s_q/notices"
		;;
	chmod-*)
		craft "$_s_q/msg/$ID" "$GOOD_ENV" "hq-$4"
		chmod "$3" "$_s_q/${2#chmod-}"
		;;
	chown-*)
		craft "$_s_q/msg/$ID" "$GOOD_ENV" "hq-$4"
		chown 65534 "$_s_q/${2#chown-}"
		;;
	link-*)
		mv "$_s_q/${2#link-}" "$_s_q/${2#link-}.real"
		ln -s "${2#link-}.real" "$_s_q/${2#link-}"
		craft "$_s_q/${2#link-}.real/$ID" "$GOOD_ENV" "hq-$4"
		;;
	esac
}

# row NAME SETUP CONTENT QEXIT LISTEXIT STDERR ENDS SENT RELEASE
row() {
	n=$1
	q=$T/$n.q
	c=$T/$n.conf
	sed "s|^queue_dir .*|queue_dir $q|" "$T/base.conf" | write_config "$c"
	printf '%s\n' "From: bob@example.org" "To: alice@example.org" \
		"Subject: [good-$n]" "" "good" >"$T/$n.in"
	run "$OUTBOX" -C "$c" -odq alice@example.org <"$T/$n.in"
	good=$(ls "$q/msg" 2>/dev/null | sed -n 1p)
	if [ "$status" -ne 0 ] || [ -z "$good" ]; then
		t_fail "$n: a good message is queued"
		_t_diag_run
		return
	fi
	setup "$q" "$2" "$3" "$n"

	ob "$c" -bp
	status_is "$n: mailq" "$5"
	if [ "$5" -eq 0 ]; then
		t_like "$n: mailq lists the good message" "$OUT" "^$good "
	fi
	ob "$c" -q
	status_is "$n: -q" "$4"
	if [ "$6" = - ]; then
		t_is "$n: -q says nothing" "" "$(cat "$ERR")"
	else
		t_like "$n: -q says why" "$ERR" "$(echo "$6" | sed "s/ID/$ID/g")"
	fi
	_r_ends=$(echo "$7" | sed "s/ID/$ID/g")
	if [ "$_r_ends" = - ]; then
		_r_left=$(ls -A "$q/msg" "$q/state" "$q/failed" 2>/dev/null | grep -c "$ID")
		t_is "$n: the entry is gone" 0 "$_r_left"
	else
		t_ok "$n: the entry is at $_r_ends" test -e "$q/$_r_ends" -o -L "$q/$_r_ends"
	fi
	t_is "$n: the crafted message was sent $8 time(s)" "$8" "$(stored "hq-$n")"
	t_is "$n: the good message was sent" "$([ "$4" -eq 0 ] && echo 1 || echo 0)" \
		"$(stored "good-$n")"
	if [ "$9" = release ]; then
		ob "$c" --release "$ID"
		status_is "$n: --release" 0
		ob "$c" -q
		status_is "$n: -q after --release" 0
		t_is "$n: then sent exactly once" 1 "$(stored "hq-$n")"
	fi
	# Let the temp dir be removed.
	chmod -R u+rwX "$q" 2>/dev/null
}

if ! server_start hq --mode starttls --cert "$CERT" --key "$KEY" \
	--auth bob:secret --fault "rcpt=refused@example.org:550 5.1.1 no such user"; then
	bail "the test server does not start"
fi
write_config "$T/base.conf" <<EOC
account default
host 127.0.0.1
port $(server_port hq)
tls on
tls_starttls on
tls_trust_file $CA
user bob
password secret
from bob@example.org
timeout 5
queue_dir x
EOC

while IFS= read -r line <&3; do
	case $line in '#'* | '') continue ;; esac
	set -f
	_IFS=$IFS
	IFS='|'
	# shellcheck disable=SC2086
	set -- $line
	IFS=$_IFS
	set +f
	if [ $# -ne 9 ]; then
		t_fail "row has 9 fields: $line"
		continue
	fi
	f1=$(trim "$1") f2=$(trim "$2") f3=$(trim "$3") f4=$(trim "$4")
	f5=$(trim "$5") f6=$(trim "$6") f7=$(trim "$7") f8=$(trim "$8")
	f9=$(trim "$9")
	case $f2 in
	msg-foreign | chown-*)
		if [ "$(id -u)" -ne 0 ]; then
			t_skip "$f1" "chown needs root"
			continue
		fi
		;;
	esac
	row "$f1" "$f2" "$f3" "$f4" "$f5" "$f6" "$f7" "$f8" "$f9"
done 3<"$ROWS"

server_stop hq
done_testing
