# Shell library for outbox's end-to-end TAP tests (POSIX sh, dash-safe).
#
# Sourced by tests/e2e/*.t, which automake's TAP driver runs as
# `sh tests/e2e/X.t` with srcdir, top_srcdir, top_builddir, OUTBOX (absolute
# path of the built binary) and PYTHON3 in the environment.  It provides TAP
# output helpers, a private temp dir / HOME per test, test certificates made
# with certtool, and control of tests/server/smtpd.py and hostile.py
# instances (started on 127.0.0.1 port 0, stopped by PID).  Tests run in parallel: nothing here uses
# a fixed port, a shared directory or a process name.
#
# Untrusted data: none beyond what the test itself feeds; server output is
# only read back from files inside the test's own temp dir.

# The variables set here are for the sourcing test:
# shellcheck shell=sh disable=SC2034

# ---------------------------------------------------------------- TAP ---

_t_count=0
_t_failed=0
_t_planned=

# plan N: print the plan up front.
plan() {
	_t_planned=$1
	echo "1..$1"
}

# plan_lazy: print the plan at done.
plan_lazy() {
	_t_planned=lazy
}

diag() {
	printf '# %s\n' "$*"
}

# diag_file FILE [LINES]: show the first LINES (default 20) lines of FILE.
diag_file() {
	[ -f "$1" ] || return 0
	sed -n "1,${2:-20}p" "$1" | sed 's/^/#   /'
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

bail() {
	echo "Bail out! $*"
	exit 255
}

# ok STATUS DESC: a passing test when STATUS is 0 (shell convention).
ok() {
	_t_count=$((_t_count + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_t_count - $2"
		return 0
	fi
	echo "not ok $_t_count - $2"
	_t_failed=$((_t_failed + 1))
	return 1
}

t_pass() {
	ok 0 "$1"
}

t_fail() {
	ok 1 "$1"
}

# t_skip DESC REASON: one skipped test.
t_skip() {
	_t_count=$((_t_count + 1))
	echo "ok $_t_count - $1 # SKIP $2"
}

# run CMD...: run CMD with stdout in $OUT and stderr in $ERR, status in
# $status.  Stdin is the caller's.
run() {
	if [ -z "${T:-}" ]; then
		"$@" >&2
		status=$?
		return 0
	fi
	OUT=$T/stdout
	ERR=$T/stderr
	"$@" >"$OUT" 2>"$ERR"
	status=$?
	return 0
}

# run_tty CMD...: like run, with CMD's standard error on a pseudo-terminal
# (80x24; stdin and stdout stay the caller's): what a person at a terminal
# sees lands in $ERR, byte for byte.
run_tty() {
	_e2e_find_python || E2E_PY=/usr/bin/python3
	run "$E2E_PY" "$E2E_TOP/tests/server/tty.py" -- "$@"
}

_t_diag_run() {
	[ -n "${T:-}" ] || return 0
	diag "exit status $status"
	if [ -s "$OUT" ]; then
		diag "stdout:"
		diag_file "$OUT"
	fi
	if [ -s "$ERR" ]; then
		diag "stderr:"
		diag_file "$ERR"
	fi
}

# t_ok DESC CMD...: passes when CMD exits 0.
t_ok() {
	_t_desc=$1
	shift
	run "$@"
	ok "$status" "$_t_desc" || _t_diag_run
}

# t_exit DESC EXPECTED CMD...: passes when CMD exits with EXPECTED.
t_exit() {
	_t_desc=$1
	_t_want=$2
	shift 2
	run "$@"
	if [ "$status" -eq "$_t_want" ]; then
		ok 0 "$_t_desc"
	else
		ok 1 "$_t_desc"
		diag "expected exit status $_t_want"
		_t_diag_run
	fi
}

# t_is DESC EXPECTED SEEN
t_is() {
	if [ "$2" = "$3" ]; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diag "expected: '$2'"
		diag "     got: '$3'"
	fi
}

# t_like DESC FILE REGEX: FILE has a line matching the extended REGEX.
t_like() {
	if grep -E -q -e "$3" "$2" 2>/dev/null; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diag "no line of $2 matches /$3/:"
		diag_file "$2"
	fi
}

# t_unlike DESC FILE REGEX: FILE exists and no line matches REGEX.
t_unlike() {
	if [ -f "$2" ] && ! grep -E -q -e "$3" "$2"; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diag "$2 is missing or matches /$3/:"
		grep -E -e "$3" "$2" 2>/dev/null | sed -n '1,10p' | sed 's/^/#   /'
	fi
}

# done: finish; exits non-zero when a test failed or the count is wrong.
done_testing() {
	if [ "$_t_planned" = lazy ]; then
		echo "1..$_t_count"
	elif [ -n "$_t_planned" ] && [ "$_t_planned" -ne "$_t_count" ]; then
		diag "planned $_t_planned tests but ran $_t_count"
		exit 1
	fi
	if [ "$_t_failed" -ne 0 ]; then
		diag "$_t_failed of $_t_count tests failed"
		exit 1
	fi
	exit 0
}

# ----------------------------------------------------- per-test setup ---

_e2e_servers=

_e2e_cleanup() {
	for _e2e_n in $_e2e_servers; do
		server_stop "$_e2e_n"
	done
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		if [ -n "${E2E_KEEP:-}" ]; then
			echo "# kept $T" >&2
		else
			rm -rf "$T"
		fi
	fi
}

# e2e_setup: private temp dir $T, HOME=$T/home, clean environment, cleanup
# on exit.
e2e_setup() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/outbox-e2e.XXXXXX") ||
		bail "cannot make a temp dir"
	T=$(cd "$T" && pwd -P)
	trap _e2e_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	HOME=$T/home
	mkdir -m 700 "$HOME" || bail "cannot make $HOME"
	XDG_CONFIG_HOME=$HOME/.config
	XDG_STATE_HOME=$HOME/.local/state
	XDG_DATA_HOME=$HOME/.local/share
	XDG_CACHE_HOME=$HOME/.cache
	LC_ALL=C
	export HOME XDG_CONFIG_HOME XDG_STATE_HOME XDG_DATA_HOME \
		XDG_CACHE_HOME LC_ALL
	for _e2e_v in $(env | sed -n 's/^\(OUTBOX_[A-Za-z0-9_]*\)=.*/\1/p'); do
		unset "$_e2e_v"
	done
	unset XDG_RUNTIME_DIR DBUS_SESSION_BUS_ADDRESS LANGUAGE MAILRC \
		NETRC EMAIL SMTPSERVER MSMTP_CONFIG 2>/dev/null || :
	E2E_TOP=${top_srcdir:-$(dirname "$0")/../..}
	E2E_TOP=$(cd "$E2E_TOP" && pwd -P)
	E2E_SMTPD=$E2E_TOP/tests/server/smtpd.py
}

# require_outbox: skip the whole test unless $OUTBOX is an executable.
require_outbox() {
	if [ -z "${OUTBOX:-}" ] || [ ! -x "$OUTBOX" ]; then
		skip_all "outbox binary not built (OUTBOX=${OUTBOX:-})"
	fi
}

# _e2e_find_python: set $E2E_PY to a python3 that has aiosmtpd ($PYTHON3
# if it has, else /usr/bin/python3), or fail.
_e2e_find_python() {
	[ -z "${E2E_PY:-}" ] || return 0
	for _e2e_p in "${PYTHON3:-}" /usr/bin/python3; do
		[ -n "$_e2e_p" ] || continue
		if "$_e2e_p" -c 'import aiosmtpd' 2>/dev/null; then
			E2E_PY=$_e2e_p
			return 0
		fi
	done
	return 1
}

# e2e_python: print a python3 that has aiosmtpd, or fail.
e2e_python() {
	_e2e_find_python && echo "$E2E_PY"
}

# require_server: skip the whole test unless smtpd.py can run.
require_server() {
	_e2e_find_python || skip_all "no python3 with aiosmtpd"
}

# write_config FILE: stdin into FILE, mode 0600.
write_config() {
	mkdir -p "$(dirname "$1")" || return 1
	(umask 077 && cat >"$1") && chmod 600 "$1"
}

# ---------------------------------------------------------- certificates ---

_e2e_key() {
	certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		--no-text --outfile "$1" >/dev/null 2>&1
}

# _e2e_cert NAME ISSUER TEMPLATE-LINES: NAME.pem/NAME.key signed by ISSUER
# ("self" for a self-signed CA).
_e2e_cert() {
	_e2e_key "$1.key" || return 1
	printf '%s\n' "$3" >"$1.tmpl"
	if [ "$2" = self ]; then
		certtool --generate-self-signed --load-privkey "$1.key" \
			--template "$1.tmpl" --no-text --outfile "$1.pem" \
			>/dev/null 2>&1
	else
		certtool --generate-certificate --load-privkey "$1.key" \
			--load-ca-certificate "$2.pem" --load-ca-privkey "$2.key" \
			--template "$1.tmpl" --no-text --outfile "$1.pem" \
			>/dev/null 2>&1
	fi
}

_e2e_ca_tmpl='cn = "outbox test CA"
ca
cert_signing_key
expiration_days = 30'
_e2e_srv_tmpl='cn = "localhost"
dns_name = "localhost"
ip_address = "127.0.0.1"
ip_address = "::1"
tls_www_server
signing_key
expiration_days = 30'
_e2e_badname_tmpl='cn = "other.invalid"
dns_name = "other.invalid"
tls_www_server
signing_key
expiration_days = 30'
_e2e_expired_tmpl='cn = "localhost"
dns_name = "localhost"
ip_address = "127.0.0.1"
tls_www_server
signing_key
activation_date = "2020-01-01 00:00:00"
expiration_date = "2020-02-01 00:00:00"'
_e2e_client_tmpl='cn = "outbox test client"
email = "client@example.org"
tls_www_client
signing_key
expiration_days = 30'

_e2e_make_certs() {
	mkdir -p "$1" || return 1
	_e2e_cert "$1/ca" self "$_e2e_ca_tmpl" || return 1
	_e2e_cert "$1/server" "$1/ca" "$_e2e_srv_tmpl" || return 1
	_e2e_cert "$1/other-ca" self \
		"$(echo "$_e2e_ca_tmpl" | sed 's/test CA/other CA/')" || return 1
	_e2e_cert "$1/other-server" "$1/other-ca" "$_e2e_srv_tmpl" || return 1
	_e2e_cert "$1/badname" "$1/ca" "$_e2e_badname_tmpl" || return 1
	_e2e_cert "$1/expired" "$1/ca" "$_e2e_expired_tmpl" || return 1
	_e2e_cert "$1/client" "$1/ca" "$_e2e_client_tmpl"
}

# e2e_certs: make (once per test) a CA, a server cert for localhost,
# 127.0.0.1 and ::1, and certificates for the failure cases.
e2e_certs() {
	_e2e_c=$T/certs
	CA=$_e2e_c/ca.pem
	CA_KEY=$_e2e_c/ca.key
	CERT=$_e2e_c/server.pem
	KEY=$_e2e_c/server.key
	OTHER_CA=$_e2e_c/other-ca.pem
	OTHER_CERT=$_e2e_c/other-server.pem
	OTHER_KEY=$_e2e_c/other-server.key
	BADNAME_CERT=$_e2e_c/badname.pem
	BADNAME_KEY=$_e2e_c/badname.key
	EXPIRED_CERT=$_e2e_c/expired.pem
	EXPIRED_KEY=$_e2e_c/expired.key
	CLIENT_CERT=$_e2e_c/client.pem
	CLIENT_KEY=$_e2e_c/client.key
	if [ ! -f "$_e2e_c/done" ]; then
		command -v certtool >/dev/null 2>&1 ||
			skip_all "certtool (gnutls-bin) not installed"
		_e2e_make_certs "$_e2e_c" ||
			bail "certtool failed to make the test certificates"
		: >"$_e2e_c/done"
	fi
	CERT_SHA256=$(cert_sha256 "$CERT")
	CERT_SHA1=$(cert_sha1 "$CERT")
}

_e2e_fpr() {
	certtool --fingerprint --hash="$1" --infile "$2" 2>/dev/null |
		tr a-f A-F | sed 's/../&:/g; s/:$//'
}

# cert_sha256 FILE / cert_sha1 FILE: fingerprint as AA:BB:... (msmtp form).
cert_sha256() {
	_e2e_fpr sha256 "$1"
}

cert_sha1() {
	_e2e_fpr sha1 "$1"
}

# --------------------------------------------------------------- servers ---

# server_start NAME [smtpd.py options...]: start a server whose messages go
# to $T/NAME; returns 1 (after diag) if it does not come up within ~10 s.
# A server already running under NAME is stopped first; its stored messages
# stay and numbering continues.
server_start() {
	_e2e_n=$1
	shift
	server_stop "$_e2e_n"
	_e2e_find_python || {
		diag "no python3 with aiosmtpd"
		return 1
	}
	rm -f "$T/$_e2e_n.port"
	"$E2E_PY" "${_e2e_script:-$E2E_SMTPD}" --dir "$T/$_e2e_n" \
		--port-file "$T/$_e2e_n.port" --pid-file "$T/$_e2e_n.pid" \
		--log "$T/$_e2e_n.log" "$@" \
		</dev/null >>"$T/$_e2e_n.out" 2>&1 &
	echo $! >"$T/$_e2e_n.spid"
	case " $_e2e_servers " in
	*" $_e2e_n "*) ;;
	*) _e2e_servers="$_e2e_servers $_e2e_n" ;;
	esac
	_e2e_i=0
	while [ ! -s "$T/$_e2e_n.port" ]; do
		if ! _e2e_alive "$(cat "$T/$_e2e_n.spid")" ||
			[ "$_e2e_i" -ge 200 ]; then
			diag "server $_e2e_n did not start:"
			diag_file "$T/$_e2e_n.out"
			server_stop "$_e2e_n"
			return 1
		fi
		sleep 0.05
		_e2e_i=$((_e2e_i + 1))
	done
	return 0
}

# hostile_start NAME SCENARIO [hostile.py options...]: like server_start,
# with tests/server/hostile.py playing SCENARIO.
hostile_start() {
	_e2e_script=$E2E_TOP/tests/server/hostile.py
	_e2e_hn=$1
	_e2e_hs=$2
	shift 2
	server_start "$_e2e_hn" --scenario "$_e2e_hs" "$@"
	_e2e_rc=$?
	_e2e_script=
	return $_e2e_rc
}

# keyring_session: before e2e_setup: skip without the keyring tools, else
# run this test again inside its own session bus (dbus-run-session) and
# its own session (setsid: no controlling terminal, so outbox never
# prompts).  keyring_start then starts the keyring in that bus.
keyring_session() {
	for _e2e_t in dbus-run-session dbus-send gnome-keyring-daemon secret-tool setsid; do
		command -v "$_e2e_t" >/dev/null 2>&1 || skip_all "$_e2e_t is not installed"
	done
	if [ -z "${E2E_KEYRING_INNER:-}" ]; then
		E2E_KEYRING_INNER=1
		export E2E_KEYRING_INNER
		exec setsid -w dbus-run-session -- sh "$0"
	fi
	E2E_BUS=${DBUS_SESSION_BUS_ADDRESS:-}
}

# keyring_start: after e2e_setup: gnome-keyring-daemon, unlocked, in the
# session bus of keyring_session (its PID in KEYRING_PID; keyring_stop
# stops it, and so does the end of the test).
keyring_start() {
	[ -n "${E2E_BUS:-}" ] || bail "dbus-run-session did not set DBUS_SESSION_BUS_ADDRESS"
	DBUS_SESSION_BUS_ADDRESS=$E2E_BUS
	export DBUS_SESSION_BUS_ADDRESS
	trap 'keyring_stop; _e2e_cleanup' EXIT
	printf 'keyring-unlock-pw' >"$T/unlock"
	gnome-keyring-daemon --foreground --unlock --components=secrets \
		<"$T/unlock" >"$T/gkd.out" 2>&1 &
	KEYRING_PID=$!
	_e2e_i=0
	until dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
		org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets \
		2>/dev/null | grep -q 'boolean true'; do
		if [ "$_e2e_i" -ge 200 ] || ! _e2e_alive "$KEYRING_PID"; then
			diag_file "$T/gkd.out"
			bail "gnome-keyring-daemon did not come up"
		fi
		sleep 0.05
		_e2e_i=$((_e2e_i + 1))
	done
}

keyring_stop() {
	[ -n "${KEYRING_PID:-}" ] || return 0
	kill -CONT "$KEYRING_PID" 2>/dev/null || :
	kill -TERM "$KEYRING_PID" 2>/dev/null || :
	wait "$KEYRING_PID" 2>/dev/null || :
	KEYRING_PID=
}

# throttle_start NAME PORT RATE: a slow link to the server on PORT, at
# most RATE bytes a second towards it (tests/server/throttle.py); stop it
# with server_stop NAME, its port is server_port NAME.
throttle_start() {
	_e2e_script=$E2E_TOP/tests/server/throttle.py
	_e2e_tn=$1
	_e2e_tp=$2
	_e2e_tr=$3
	server_start "$_e2e_tn" --to "$_e2e_tp" --rate "$_e2e_tr"
	_e2e_rc=$?
	_e2e_script=
	return $_e2e_rc
}

# _e2e_alive PID: PID exists and is not a zombie.
_e2e_alive() {
	[ -r "/proc/$1/stat" ] || return 1
	case $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) in
	Z* | X* | "") return 1 ;;
	esac
	return 0
}

# server_stop NAME: SIGTERM by PID, SIGKILL after ~5 s, reap.
server_stop() {
	[ -f "$T/$1.spid" ] || return 0
	_e2e_pid=$(cat "$T/$1.spid")
	rm -f "$T/$1.spid"
	kill -TERM "$_e2e_pid" 2>/dev/null || :
	_e2e_i=0
	while _e2e_alive "$_e2e_pid"; do
		if [ "$_e2e_i" -ge 100 ]; then
			kill -KILL "$_e2e_pid" 2>/dev/null || :
			break
		fi
		sleep 0.05
		_e2e_i=$((_e2e_i + 1))
	done
	wait "$_e2e_pid" 2>/dev/null || :
	return 0
}

server_port() {
	cat "$T/$1.port"
}

server_pid() {
	cat "$T/$1.spid"
}

server_dir() {
	echo "$T/$1"
}

# server_log NAME: path of the protocol log ("N C: line", "N S: line",
# "N * event" where N numbers the connection).
server_log() {
	echo "$T/$1.log"
}

# msg_count NAME: number of stored messages.
msg_count() {
	set -- "$T/$1"/msg-*.env
	if [ -e "$1" ]; then
		echo $#
	else
		echo 0
	fi
}

# wait_messages NAME COUNT [SECONDS]: until COUNT messages are stored.
wait_messages() {
	_e2e_i=0
	_e2e_max=$((${3:-10} * 20))
	while [ "$(msg_count "$1")" -lt "$2" ]; do
		[ "$_e2e_i" -lt "$_e2e_max" ] || return 1
		sleep 0.05
		_e2e_i=$((_e2e_i + 1))
	done
	return 0
}

# wait_log NAME REGEX [SECONDS]: until the server log matches REGEX.
wait_log() {
	_e2e_i=0
	_e2e_max=$((${3:-10} * 20))
	until grep -E -q -e "$2" "$T/$1.log" 2>/dev/null; do
		[ "$_e2e_i" -lt "$_e2e_max" ] || return 1
		sleep 0.05
		_e2e_i=$((_e2e_i + 1))
	done
	return 0
}

# msg_file NAME N: path of the Nth stored message (as received).
msg_file() {
	echo "$T/$1/msg-$2.eml"
}

# env_field NAME N FIELD: a field of the Nth message's envelope.  Strings
# print as is, true/false/null as such, lists one item a line (an inner
# list space-joined).
env_field() {
	_e2e_find_python || return 1
	"$E2E_PY" -c '
import json, sys
def show(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return " ".join(show(x) for x in v)
    return str(v)
with open(sys.argv[1]) as f:
    v = json.load(f)[sys.argv[2]]
for x in (v if isinstance(v, list) else [v]):
    print(show(x))
' "$T/$1/msg-$2.env" "$3"
}

# unused_port: a 127.0.0.1 port that nothing listened on a moment ago.
unused_port() {
	_e2e_find_python || return 1
	"$E2E_PY" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
'
}
