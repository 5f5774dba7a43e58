#!/bin/sh
# net.t - how outbox reaches the server, end to end.
#
# SOCKS5 (proxy_host, proxy_port): through Debian's dante-server, an
# independent implementation started here on 127.0.0.1, in clear and with
# STARTTLS verified against the mail server's name (a certificate that is
# valid for "localhost" only, while the proxy is 127.0.0.1); dante's log
# must show a CONNECT by name (ATYP 3), so the proxy resolved it.  A
# server that is down behind the proxy (dante answers reply 5) keeps the
# message queued; tests/server/socks5.py plays the proxies dante will not:
# one that stalls (the deadline), one that answers with HTTP and one that
# wants authentication (held, with an error naming the proxy).
#
# source_ip: bound to 127.0.0.2, the server sees that peer; a source_ip of
# the other family than the server's only address is a clear error.
#
# Happy Eyeballs (RFC 8305): a name with an IPv6 and an IPv4 address
# (::1 and 127.0.0.1, from a hosts file bind-mounted over /etc/hosts in a
# private mount namespace, so the system's file is never touched; skipped
# where that cannot be done), the server listening on only one of them,
# or IPv6 stalling behind a full accept queue while IPv4 answers.
#
# Untrusted data: none beyond the test's own files; every server and proxy
# runs on the loopback addresses inside this test's temp dir.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

TIMEOUT=6
FROM=alice@example.org
RCPT=bob@example.org

# A certificate for the name "localhost" only: verifying the proxy's
# address 127.0.0.1 instead would fail.
NAMEONLY=$T/certs/nameonly
_e2e_cert "$NAMEONLY" "$T/certs/ca" 'cn = "localhost"
dns_name = "localhost"
tls_www_server
signing_key
expiration_days = 30' || bail "certtool failed"

# ------------------------------------------------------------- helpers ---

# mkmsg TAG: $T/TAG.in, a message whose Subject is "[TAG]".
mkmsg() {
	printf '%s\n' "From: $FROM" "To: $RCPT" "Subject: [$1]" \
		"Date: Mon, 01 Jan 2024 00:00:00 +0000" \
		"Message-ID: <$1@example.org>" "" "Body of $1." >"$T/$1.in"
}

# conf CONF HOST PORT [more lines]: $T/CONF.conf, one account without TLS,
# timeout $TIMEOUT, queue_dir $T/CONF.q.
conf() {
	_c_name=$1
	_c_host=$2
	_c_port=$3
	shift 3
	{
		printf '%s\n' "account default" "host $_c_host" "port $_c_port" \
			"tls off" "from $FROM" "timeout $TIMEOUT" \
			"queue_dir $T/$_c_name.q"
		for _c_line in "$@"; do
			echo "$_c_line"
		done
	} | write_config "$T/$_c_name.conf"
}

# send CONF TAG: outbox -C CONF with message TAG; $status, $OUT, $ERR.
send() {
	mkmsg "$2"
	run "$OUTBOX" -C "$T/$1.conf" "$RCPT" <"$T/$2.in"
}

# queued CONF: how many messages CONF's queue holds.
queued() {
	find "$T/$1.q/msg" -type f 2>/dev/null | wc -l | tr -d ' '
}

# held CONF: 1 when CONF's only queued message is held.
held() {
	sed -n 's/^held //p' "$T/$1.q"/state/* 2>/dev/null | sed -n 1p
}

# reason CONF: why CONF's queued message is still there (its state file).
reason() {
	sed -n 's/^reason //p' "$T/$1.q"/state/* 2>/dev/null | sed -n 1p
}

# stored SRV TAG: how many messages tagged TAG the server stored.
stored() {
	grep -l -F "Subject: [$2]" "$T/$1"/msg-*.eml 2>/dev/null | wc -l |
		tr -d ' '
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# --------------------------------------------------------------- dante ---

# dante_start: Debian's SOCKS5 server on 127.0.0.1 at a free port
# ($DANTE_PORT), logging each request (debug 1) to $T/dante.log; stopped
# at exit like the other servers.  Returns 1 when it is not installed or
# does not come up.
dante_start() {
	_d_bin=$(command -v danted || echo /usr/sbin/danted)
	[ -x "$_d_bin" ] || return 1
	for _d_try in 1 2 3; do
		DANTE_PORT=$(unused_port) || return 1
		{
			echo "logoutput: $T/dante.log"
			echo "debug: 1"
			echo "internal: 127.0.0.1 port = $DANTE_PORT"
			echo "external: 127.0.0.1"
			echo "clientmethod: none"
			echo "socksmethod: none"
			if [ "$(id -u)" -eq 0 ]; then
				echo "user.privileged: root"
				echo "user.unprivileged: nobody"
			fi
			echo "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }"
			echo "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }"
		} >"$T/dante.conf"
		: >"$T/dante.log"
		"$_d_bin" -f "$T/dante.conf" -p "$T/dante.pid" -N 1 \
			</dev/null >"$T/dante.out" 2>&1 &
		echo $! >"$T/dante.spid"
		_e2e_servers="$_e2e_servers dante"
		_d_i=0
		while [ "$_d_i" -lt 100 ] && _e2e_alive "$(cat "$T/dante.spid")"; do
			if grep -q 'running' "$T/dante.log"; then
				return 0
			fi
			sleep 0.05
			_d_i=$((_d_i + 1))
		done
		diag "danted did not start (try $_d_try):"
		diag_file "$T/dante.log" 10
		server_stop dante
	done
	return 1
}

# socks_start NAME MODE: tests/server/socks5.py playing MODE.
socks_start() {
	_e2e_script=$E2E_TOP/tests/server/socks5.py
	server_start "$1" --mode "$2"
	_s_rc=$?
	_e2e_script=
	return $_s_rc
}

# ----------------------------------------------------------- SOCKS5 ---

server_start plain --mode plain || bail "server plain did not start"
server_start st --mode starttls --cert "$NAMEONLY.pem" --key "$NAMEONLY.key" ||
	bail "server st did not start"
PLAIN=$(server_port plain)
ST=$(server_port st)

if dante_start; then
	conf viaproxy localhost "$PLAIN" "proxy_host 127.0.0.1" \
		"proxy_port $DANTE_PORT"
	send viaproxy socks-plain
	t_is "through dante: exit 0" 0 "$status"
	t_is "through dante: the server stored the message" 1 \
		"$(stored plain socks-plain)"
	t_is "through dante: nothing queued" 0 "$(queued viaproxy)"
	t_like "through dante: the proxy was asked for the name, not an address" \
		"$T/dante.log" "ATYP: 3 address: localhost\\.$PLAIN"

	conf viatls localhost "$ST" "proxy_host 127.0.0.1" \
		"proxy_port $DANTE_PORT" "tls on" "tls_trust_file $CA"
	send viatls socks-tls
	t_is "STARTTLS through dante: exit 0" 0 "$status"
	t_is "STARTTLS through dante: stored" 1 "$(stored st socks-tls)"
	t_is "STARTTLS through dante: the session was TLS, verified for localhost" \
		true "$(env_field st 1 tls)"

	DOWN=$(unused_port)
	conf downbehind localhost "$DOWN" "proxy_host 127.0.0.1" \
		"proxy_port $DANTE_PORT"
	send downbehind socks-down
	t_is "server down behind dante: exit 0 (queued)" 0 "$status"
	t_is "server down behind dante: the message stays queued" 1 \
		"$(queued downbehind)"
	t_is "server down behind dante: not held" 0 "$(held downbehind)"
	reason downbehind >"$T/reason"
	t_like "server down behind dante: reply 5 is the reason" "$T/reason" \
		"SOCKS5 proxy 127.0.0.1 could not connect to localhost port $DOWN: connection refused \\(reply 5\\)"
else
	t_skip "through dante-server" "danted not installed or not running here (tests/deps.sh installs dante-server)"
fi

socks_start refuse refuse || bail "socks5.py refuse did not start"
conf refused localhost "$PLAIN" "proxy_host 127.0.0.1" \
	"proxy_port $(server_port refuse)"
connects=$(grep -c '\* connect' "$(server_log plain)")
send refused socks-refused
t_is "proxy answers reply 5: exit 0 (queued)" 0 "$status"
t_is "proxy answers reply 5: the message stays queued" 1 "$(queued refused)"
reason refused >"$T/reason"
t_like "proxy answers reply 5: the reason says so" "$T/reason" \
	"could not connect to localhost port $PLAIN: connection refused"
t_like "proxy answers reply 5: it got the name" "$(server_log refuse)" \
	"^1 request 3 localhost $PLAIN\$"
t_is "proxy answers reply 5: the server saw no connection" "$connects" \
	"$(grep -c '\* connect' "$(server_log plain)")"

socks_start stall stall || bail "socks5.py stall did not start"
conf stalled localhost "$PLAIN" "proxy_host 127.0.0.1" \
	"proxy_port $(server_port stall)" "timeout 2"
start=$(now_ms)
send stalled socks-stall
took=$(($(now_ms) - start))
t_is "proxy stalls: exit 0 (queued)" 0 "$status"
t_is "proxy stalls: the message stays queued" 1 "$(queued stalled)"
reason stalled >"$T/reason"
t_like "proxy stalls: the reason names the deadline" "$T/reason" \
	"SOCKS5 proxy 127.0.0.1 did not complete the handshake within 2 s"
if [ "$took" -ge 1500 ] && [ "$took" -lt 15000 ]; then
	t_pass "proxy stalls: outbox gave up at the deadline (${took} ms)"
else
	t_fail "proxy stalls: outbox gave up at the deadline (${took} ms)"
fi

socks_start garbage garbage || bail "socks5.py garbage did not start"
conf garbled localhost "$PLAIN" "proxy_host 127.0.0.1" \
	"proxy_port $(server_port garbage)"
send garbled socks-garbage
t_is "proxy answers HTTP: exit 0 (held)" 0 "$status"
t_is "proxy answers HTTP: the message is held" 1 "$(held garbled)"
t_like "proxy answers HTTP: a clear error naming the proxy" "$ERR" \
	"127.0.0.1 port $(server_port garbage) is not a SOCKS5 proxy"
conf garbled78 localhost "$PLAIN" "proxy_host 127.0.0.1" \
	"proxy_port $(server_port garbage)" "hold_on_account_error off"
send garbled78 socks-garbage78
t_is "proxy answers HTTP, holding off: exit 78" 78 "$status"

socks_start auth auth || bail "socks5.py auth did not start"
conf authwanted localhost "$PLAIN" "proxy_host 127.0.0.1" \
	"proxy_port $(server_port auth)"
send authwanted socks-auth
t_is "proxy wants authentication: the message is held" 1 "$(held authwanted)"
t_like "proxy wants authentication: said so" "$ERR" \
	"SOCKS5 proxy 127.0.0.1 requires authentication"

conf proxysocket localhost "$PLAIN" "proxy_host 127.0.0.1" \
	"socket $T/none.sock"
send proxysocket socks-socket
t_is "proxy_host with socket: exit 78" 78 "$status"
t_like "proxy_host with socket: the error says why" "$ERR" \
	"proxy_host cannot be used with socket"
t_is "proxy_host with socket: nothing queued" 0 "$(queued proxysocket)"

# --------------------------------------------------------- source_ip ---

conf src localhost "$PLAIN" "source_ip 127.0.0.2"
send src source-ip
t_is "source_ip 127.0.0.2: exit 0" 0 "$status"
n=$(stored plain source-ip)
t_is "source_ip 127.0.0.2: stored" 1 "$n"
last=$(find "$T/plain" -name 'msg-*.env' | wc -l | tr -d ' ')
t_is "source_ip 127.0.0.2: the server saw that peer" 127.0.0.2 \
	"$(env_field plain "$last" peer)"

conf srcfamily 127.0.0.1 "$PLAIN" "source_ip ::1" "hold_on_account_error off"
send srcfamily source-family
t_is "source_ip ::1 for an IPv4 server: exit 78" 78 "$status"
t_like "source_ip ::1 for an IPv4 server: a clear error" "$ERR" \
	"source_ip ::1 and host 127.0.0.1 have no address family in common"

# ---------------------------------------------------- Happy Eyeballs ---

# dual CONF TAG: send with "dual.test" resolving to ::1 and 127.0.0.1,
# in a private mount namespace.
printf '%s\n' "::1 dual.test" "127.0.0.1 dual.test" "127.0.0.1 xn--bcher-kva.test" >"$T/hosts"
dual() {
	mkmsg "$2"
	run unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift &&
		exec "$@"' sh "$T/hosts" "$OUTBOX" -C "$T/$1.conf" "$RCPT" \
		<"$T/$2.in"
}

if [ "$(id -u)" -ne 0 ] || ! unshare -m sh -c "mount --bind '$T/hosts' /etc/hosts &&
	getent ahosts dual.test | grep -q '^::1' &&
	getent ahosts dual.test | grep -q '^127\\.0\\.0\\.1'" 2>/dev/null; then
	t_skip "Happy Eyeballs end to end" "needs root and a private mount namespace for a hosts file"
	done_testing
fi

conf v4only dual.test "$PLAIN"
dual v4only he-v4
t_is "only 127.0.0.1 listens: exit 0" 0 "$status"
t_is "only 127.0.0.1 listens: stored" 1 "$(stored plain he-v4)"
t_is "only 127.0.0.1 listens: nothing queued" 0 "$(queued v4only)"

# A host name in Unicode is looked up as its A-label (there is no proxy
# to do it).
conf idn "bücher.test" "$PLAIN"
dual idn he-idn
t_is "host bücher.test (xn--bcher-kva.test): exit 0" 0 "$status"
t_is "host bücher.test: stored" 1 "$(stored plain he-idn)"

if server_start v6 --mode plain --host ::1; then
	conf v6only dual.test "$(server_port v6)"
	dual v6only he-v6
	t_is "only ::1 listens: exit 0" 0 "$status"
	t_is "only ::1 listens: stored" 1 "$(stored v6 he-v6)"
	t_is "only ::1 listens: over IPv6" ::1 "$(env_field v6 1 peer)"
else
	t_fail "a server on ::1 starts"
fi

# A listener on [::1]:$PLAIN whose accept queue is full: SYNs to it are
# dropped, so connecting over IPv6 stalls.  It prints "stalls" once a
# probe connection has hung for 300 ms, "no" when none does.
"$E2E_PY" -c '
import select, socket, sys, time
l = socket.socket(socket.AF_INET6)
l.bind(("::1", int(sys.argv[1])))
l.listen(0)
held = []
for i in range(9):
    c = socket.socket(socket.AF_INET6)
    c.setblocking(False)
    c.connect_ex(("::1", int(sys.argv[1])))
    held.append(c)
    p = select.poll()
    p.register(c, select.POLLOUT)
    if not p.poll(300):
        print("stalls", flush=True)
        break
else:
    print("no", flush=True)
time.sleep(120)
' "$PLAIN" >"$T/stall.out" 2>&1 &
echo $! >"$T/stall6.spid"
_e2e_servers="$_e2e_servers stall6"
i=0
while [ ! -s "$T/stall.out" ] && [ "$i" -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
if [ "$(cat "$T/stall.out")" = stalls ]; then
	conf v6stall dual.test "$PLAIN" "timeout 10"
	start=$(now_ms)
	dual v6stall he-stall
	took=$(($(now_ms) - start))
	t_is "::1 stalls, 127.0.0.1 answers: exit 0" 0 "$status"
	t_is "::1 stalls, 127.0.0.1 answers: stored" 1 "$(stored plain he-stall)"
	if [ "$took" -lt 5000 ]; then
		t_pass "::1 stalls: delivered over IPv4 well within the timeout (${took} ms of 10 s)"
	else
		t_fail "::1 stalls: delivered over IPv4 well within the timeout (${took} ms of 10 s)"
	fi
else
	t_skip "::1 stalls" "a full accept queue does not stall connections here"
fi

done_testing
