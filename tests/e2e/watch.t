#!/bin/sh
# watch.t - the triggers that flush the queue when the network comes back:
# the routing-netlink watcher (watch_run, through the tests/unit/watch-t
# driver) inside a private network namespace; the dispatcher hook shared by
# NetworkManager, networkd-dispatcher and ifupdown, run with fake
# getent/runuser/outbox, a fake set of homes and queue markers (it must
# find queues by the markers alone, never by looking into homes); the
# systemd user units through systemd-analyze verify.  The namespace part needs root and
# `ip netns`; its addresses exist only inside the namespace.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

DRIVER=${WATCH_DRIVER:-${top_builddir:-.}/tests/unit/watch-t}
case $DRIVER in
/*) ;;
*) DRIVER=$(pwd -P)/$DRIVER ;;
esac
e2e_setup
HOOKS=$E2E_TOP/src/hooks
plan_lazy

NS=
WATCH_PID=
# Run by the EXIT trap: stop the driver, remove the namespace, then what
# lib.sh cleans.
# shellcheck disable=SC2317
watch_cleanup() {
	if [ -n "$WATCH_PID" ]; then
		kill -TERM "$WATCH_PID" 2>/dev/null
		wait "$WATCH_PID" 2>/dev/null
	fi
	[ -z "$NS" ] || ip netns delete "$NS" 2>/dev/null
	_e2e_cleanup
}
trap watch_cleanup EXIT

# ------------------------------------------------ netlink watcher ---

# calls: how many times the driver's callback has fired.
calls() {
	# The background shell may not have created the file yet.
	if [ -f "$T/watch.out" ]; then
		grep -c '^network-up' "$T/watch.out" || :
	else
		echo 0
	fi
}

# wait_calls N SECONDS: until the callback has fired N times.
wait_calls() {
	_i=0
	while [ "$(calls)" -lt "$1" ]; do
		[ "$_i" -lt $(($2 * 20)) ] || return 1
		sleep 0.05
		_i=$((_i + 1))
	done
}

# quiet_then_calls DESC N: after three debounce times, still N calls.
quiet_then_calls() {
	sleep 1.5
	t_is "$1" "$2" "$(calls)"
}

# ns_ip ARGS...: ip inside the test's namespace; a failure is a test failure.
ns_ip() {
	ip -n "$NS" "$@" 2>"$T/ip.err" || {
		diag "ip -n $NS $*:"
		diag_file "$T/ip.err"
		return 1
	}
}

watch_in_namespace() {
	if [ "$(id -u)" != 0 ]; then
		t_skip "watcher in a network namespace" "needs root"
		return
	fi
	if [ ! -x "$DRIVER" ]; then
		t_skip "watcher in a network namespace" "$DRIVER not built"
		return
	fi
	if ! ip netns add "outbox-watch-$$" 2>"$T/ip.err"; then
		t_skip "watcher in a network namespace" \
			"ip netns unavailable: $(head -n 1 "$T/ip.err")"
		return
	fi
	NS=outbox-watch-$$
	# A dummy interface where the kernel has the module, else one end
	# of a veth pair whose other end is up (so the carrier follows).
	if ! ip -n "$NS" link add dummy0 type dummy 2>/dev/null; then
		if ! ns_ip link add dummy0 type veth peer name peer0 ||
			! ns_ip link set peer0 up; then
			bail "cannot make a test interface in $NS"
		fi
	fi

	ip netns exec "$NS" "$DRIVER" run 500 0 120000 \
		</dev/null >"$T/watch.out" 2>"$T/watch.err" &
	WATCH_PID=$!
	wait_calls 1 10
	t_is "the watcher calls once at start-up" 1 "$(calls)"

	ns_ip link set lo up
	quiet_then_calls "loopback coming up is not news" 1

	printf '%s\n' 'link set dummy0 up' 'address add 10.200.0.1/24 dev dummy0' \
		'route add default dev dummy0' >"$T/up.batch"
	ns_ip -batch "$T/up.batch"
	wait_calls 2 10
	t_is "link, address and default route coming up: a call" 2 "$(calls)"
	quiet_then_calls "the burst was one call" 2

	ns_ip route add 10.201.0.0/24 dev dummy0
	quiet_then_calls "a subnet route is not news" 2

	ns_ip route replace default via 10.200.0.254 dev dummy0
	wait_calls 3 10
	t_is "a default route through a new gateway: a call" 3 "$(calls)"

	ns_ip link set dummy0 down
	quiet_then_calls "the link going down is not news" 3
	ns_ip link set dummy0 up
	wait_calls 4 10
	t_is "the link coming back: a call" 4 "$(calls)"

	kill -TERM "$WATCH_PID"
	wait "$WATCH_PID"
	status=$?
	WATCH_PID=
	t_is "SIGTERM ends the watcher with status 0" 0 "$status"
	t_like "the watcher returned from watch_run" "$T/watch.out" '^stopped$'
	if [ -s "$T/watch.err" ]; then
		t_fail "the watcher said nothing on stderr"
		diag_file "$T/watch.err"
	else
		t_pass "the watcher said nothing on stderr"
	fi
	ip netns delete "$NS"
	ok $? "the namespace is removed"
	NS=
}

watch_in_namespace

# ----------------------------------- offline, then online, via --watch ---

# A message submitted while the namespace has no route to the server stays
# queued (exit 0); `outbox --watch` sends it once the link, its address
# and the default route come up.  The server listens inside the namespace.
queue_then_watch() {
	if [ "$(id -u)" != 0 ] || [ -z "${OUTBOX:-}" ] || ! require_server_quietly; then
		t_skip "--watch flushes the queue when the network comes up" \
			"needs root, the outbox binary and a python with aiosmtpd"
		return
	fi
	if ! ip netns add "outbox-wq-$$" 2>"$T/ip.err"; then
		t_skip "--watch flushes the queue when the network comes up" \
			"ip netns unavailable: $(head -n 1 "$T/ip.err")"
		return
	fi
	NS=outbox-wq-$$
	ns_ip link set lo up
	if ! ip -n "$NS" link add dummy0 type dummy 2>/dev/null; then
		ns_ip link add dummy0 type veth peer name peer0 && ns_ip link set peer0 up ||
			bail "cannot make a test interface in $NS"
	fi
	ip netns exec "$NS" "$(e2e_python)" "$E2E_SMTPD" --host 0.0.0.0 --mode plain \
		--dir "$T/wq" --port-file "$T/wq.port" --pid-file "$T/wq.pid" \
		--log "$T/wq.log" </dev/null >"$T/wq.out" 2>&1 &
	echo $! >"$T/wq.spid"
	_i=0
	while [ ! -s "$T/wq.port" ] && [ "$_i" -lt 200 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	write_config "$T/wq.conf" <<EOC
account default
host 10.200.0.1
port $(cat "$T/wq.port")
tls off
from bob@example.org
timeout 3
EOC
	printf 'Subject: while offline\n\nqueued\n' >"$T/wq.msg"
	ip netns exec "$NS" "$OUTBOX" -C "$T/wq.conf" alice@example.net <"$T/wq.msg" \
		2>"$T/wq.err"
	t_is "offline: the submission exits 0" 0 "$?"
	t_is "offline: the message is queued" 1 \
		"$(ls "$XDG_STATE_HOME/outbox/queue/msg" | wc -l | tr -d ' ')"
	ip netns exec "$NS" "$OUTBOX" -C "$T/wq.conf" --watch </dev/null \
		>"$T/wq.watch" 2>&1 &
	WATCH_PID=$!
	sleep 1
	t_is "nothing arrives while the network is down" 0 "$(msg_count wq)"
	printf '%s\n' 'link set dummy0 up' 'address add 10.200.0.1/24 dev dummy0' \
		'route add default dev dummy0' >"$T/wq.batch"
	ns_ip -batch "$T/wq.batch"
	wait_messages wq 1 20
	t_is "--watch delivered the message when the network came up" 1 "$(msg_count wq)"
	t_like "the server got the queued message" "$(msg_file wq 1)" '^queued'
	t_is "the queue is empty" 0 "$(ls "$XDG_STATE_HOME/outbox/queue/msg" | wc -l | tr -d ' ')"
	kill -TERM "$WATCH_PID"
	wait "$WATCH_PID"
	t_is "--watch ends with status 0 on SIGTERM" 0 "$?"
	WATCH_PID=
	server_stop wq
	ip netns delete "$NS"
	NS=
}

require_server_quietly() {
	_e2e_find_python 2>/dev/null
}

queue_then_watch

# --------------------------------------------------- dispatcher hook ---

ME=$(id -u)
H=$T/homes
FAKE=$T/fake
RUN=$T/run
mkdir -p "$H" "$FAKE" "$T/bin" "$RUN" || bail "cannot make $H"

# The hook finds queues by the markers in RUN/outbox, never by looking
# into homes: carol's queue holds mail but she has no marker.  Markers
# of other users need root (chown): without it only alice's is real.
for u in alice "bob smith" carol; do
	mkdir -p "$H/$u/.local/state/outbox/queue/msg" || bail "cannot make a queue"
	: >"$H/$u/.local/state/outbox/queue/msg/m1"
done
cat >"$T/passwd" <<EOF
alice:x:$ME:$ME:Alice:$H/alice:/bin/sh
bob smith:x:4242:4242:Bob Smith:$H/bob smith:/bin/sh
carol:x:4243:4243:Carol, mail but no marker:$H/carol:/bin/sh
eve:x:4244:4244:Eve, relative home:homes/alice:/bin/sh
EOF

# markers: alice's and (as root) bob's, sound; a name another user took,
# a link, a name that is no number, a relative home, a UID nobody has.
markers() {
	rm -rf "$RUN/outbox" && mkdir "$RUN/outbox" || bail "cannot make $RUN/outbox"
	: >"$RUN/outbox/$ME"
	: >"$RUN/outbox/4243"
	ln -s "$ME" "$RUN/outbox/4241"
	: >"$RUN/outbox/notanumber"
	: >"$RUN/outbox/4244"
	if [ "$ME" = 0 ]; then
		: >"$RUN/outbox/4242" && chown 4242 "$RUN/outbox/4242"
		chown 4244 "$RUN/outbox/4244"
		: >"$RUN/outbox/4245" && chown 4245 "$RUN/outbox/4245"
	fi
}

cat >"$FAKE/getent" <<EOF
#!/bin/sh
[ "\$1" = passwd ] && [ -n "\$2" ] && awk -F: -v u="\$2" '\$3 == u' "$T/passwd"
EOF
cat >"$FAKE/runuser" <<EOF
#!/bin/sh
if [ "\$1" != -u ] || [ "\$3" != -- ]; then
	echo "runuser called as: \$*" >>"$T/flushes"
	exit 1
fi
shift 3
exec "\$@"
EOF
cat >"$T/bin/outbox" <<EOF
#!/bin/sh
[ ! -e "$T/slow" ] || sleep 1
echo "\$USER|\$HOME|\$*|\${XDG_STATE_HOME-unset}|\${LEAK-clean}" >>"$T/flushes"
EOF
chmod +x "$FAKE/getent" "$FAKE/runuser" "$T/bin/outbox"
sed -e "s|@bindir@|$T/bin|g" -e "s|@runstatedir@|$RUN|g" "$HOOKS/outbox-hook.in" >"$T/hook"
sed -e "s|@bindir@|$T/nowhere|g" -e "s|@runstatedir@|$RUN|g" "$HOOKS/outbox-hook.in" \
	>"$T/hook-uninstalled"
chmod +x "$T/hook" "$T/hook-uninstalled"

echo "alice|$H/alice|-q|unset|clean" >"$T/flushes.want"
[ "$ME" != 0 ] || echo "bob smith|$H/bob smith|-q|unset|clean" >>"$T/flushes.want"
WANT=$(wc -l <"$T/flushes.want")
WHO=$([ "$ME" = 0 ] && echo "alice and 'bob smith'" || echo alice)

# hook DESC [VAR=VALUE...] -- ARGS...: runs the hook as a dispatcher would
# (PATH finds the fakes; LEAK and XDG_STATE_HOME must not reach outbox).
hook() {
	_desc=$1
	shift
	rm -f "$T/flushes"
	markers
	t_exit "$_desc: exit 0" 0 env PATH="$FAKE:$PATH" LEAK=leaked \
		XDG_STATE_HOME=/root/.local/state "$@"
}

# flushes: how many outbox -q have run.
flushes() {
	if [ -f "$T/flushes" ]; then
		wc -l <"$T/flushes"
	else
		echo 0
	fi
}

# flushed DESC: outbox -q ran for exactly the users with queued mail.
flushed() {
	_i=0
	while [ "$(flushes)" -lt "$WANT" ] && [ "$_i" -lt 200 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	sleep 0.3
	sort "$T/flushes" >"$T/flushes.got" 2>/dev/null
	if cmp -s "$T/flushes.want" "$T/flushes.got"; then
		t_pass "$1: outbox -q as $WHO only, clean environment"
	else
		t_fail "$1: outbox -q as $WHO only, clean environment"
		diag "expected:"
		diag_file "$T/flushes.want"
		diag "got:"
		diag_file "$T/flushes.got"
	fi
}

# nothing DESC: no flush was started.
nothing() {
	sleep 0.5
	if [ -e "$T/flushes" ]; then
		t_fail "$1: nothing flushed"
		diag_file "$T/flushes"
	else
		t_pass "$1: nothing flushed"
	fi
}

hook "NetworkManager up" "$T/hook" eth0 up
flushed "NetworkManager up"
hook "NetworkManager down" "$T/hook" eth0 down
nothing "NetworkManager down"
hook "NetworkManager full connectivity" CONNECTIVITY_STATE=FULL "$T/hook" "" connectivity-change
flushed "NetworkManager full connectivity"
hook "NetworkManager limited connectivity" CONNECTIVITY_STATE=LIMITED "$T/hook" "" \
	connectivity-change
nothing "NetworkManager limited connectivity"
hook "NetworkManager lo up" "$T/hook" lo up
nothing "NetworkManager lo up"
hook "networkd-dispatcher routable" IFACE=eth0 STATE=routable "$T/hook"
flushed "networkd-dispatcher routable"
hook "ifupdown lo" IFACE=lo MODE=start PHASE=post-up "$T/hook"
nothing "ifupdown lo"
hook "ifupdown eth0" IFACE=eth0 MODE=start PHASE=post-up "$T/hook"
flushed "ifupdown eth0"
hook "outbox not installed" IFACE=eth0 "$T/hook-uninstalled"
nothing "outbox not installed"

: >"$T/slow"
hook "slow flushes" "$T/hook" eth0 up
if [ -e "$T/flushes" ]; then
	t_fail "the hook returns before the flushes end"
else
	t_pass "the hook returns before the flushes end"
fi
flushed "slow flushes"
rm -f "$T/slow"

# After a hook run: the sound markers stay (the flush removes them when
# the queue is empty), the others are gone.
hook "markers checked" "$T/hook" eth0 up
flushed "markers checked"
ls "$RUN/outbox" | sort | tr '\n' ' ' >"$T/left"
if [ "$ME" = 0 ]; then
	t_is "the hook removes the markers that are not their UID's own" \
		"0 4242 4244 4245 notanumber " "$(cat "$T/left")"
else
	t_is "the hook removes the markers that are not their UID's own" \
		"$ME notanumber " "$(cat "$T/left")"
fi
if command -v strace >/dev/null 2>&1; then
	markers
	env PATH="$FAKE:$PATH" strace -f -qq -o "$T/hook.strace" \
		-e trace=stat,lstat,newfstatat,statx,open,openat,access,faccessat,faccessat2,chdir \
		"$T/hook" eth0 up
	sleep 0.5
	grep -F "$H" "$T/hook.strace" | grep -v -e execve -e '^[0-9]* +++' >"$T/homes-looked"
	t_is "the hook never looks into a home directory" "" "$(cat "$T/homes-looked")"
else
	t_skip "the hook never looks into a home directory" "strace not installed"
fi

# ---------------------------------------------------- systemd units ---

t_unlike "the path unit never uses DirectoryNotEmpty=" "$HOOKS/outbox-flush.path" \
	'^[[:space:]]*DirectoryNotEmpty='
t_like "the path unit watches the trigger file" "$HOOKS/outbox-flush.path" \
	'^PathChanged=%h/\.local/state/outbox/queue/trigger$'
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$T/units" "$T/run" && chmod 700 "$T/run"
	sed -e "s|@bindir@|$T/bin|g" -e "s|@runstatedir@|$T/run|g" "$HOOKS/outbox-flush.service.in" \
		>"$T/units/outbox-flush.service"
	cp "$HOOKS/outbox-flush.timer" "$HOOKS/outbox-flush.path" "$T/units/"
	(cd "$T/units" && XDG_RUNTIME_DIR=$T/run systemd-analyze --user --man=no verify \
		outbox-flush.service outbox-flush.timer outbox-flush.path) >"$T/verify.out" 2>&1
	ok $? "systemd-analyze verify accepts the units"
	if [ -s "$T/verify.out" ]; then
		t_fail "systemd-analyze verify has no warnings"
		diag_file "$T/verify.out"
	else
		t_pass "systemd-analyze verify has no warnings"
	fi
else
	t_skip "systemd-analyze verify" "systemd-analyze not installed"
fi

done_testing
