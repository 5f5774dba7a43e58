#!/bin/sh
# configure.t - outbox --configure ADDRESS (issue 15), against real parts
# inside a private network and mount namespace (root only; skipped
# elsewhere): dnsmasq is the resolver (a resolv.conf of the test's own
# bind-mounted over /etc/resolv.conf) and serves A, MX and SRV records for
# the test domains; tests/server/https.py plays the providers' autoconfig
# hosts and the ISPDB on port 443 of their own loopback addresses; the
# test CA is the system trust store (a bundle bind-mounted over
# /etc/ssl/certs/ca-certificates.crt), so outbox runs with no test-only
# option but $OUTBOX_ISPDB_URL; smtpd.py servers listen on 465 and 587.
# The real /etc/resolv.conf, /etc/hosts and trust store are never touched.
#
# Cases: each source alone (autoconfig host, .well-known, ISPDB, the
# ISPDB of the MX host's domain, SRV); the order when several answer; a
# domain with nothing (every source named with its answer); a server
# whose certificate does not verify (refused, said); implicit TLS tried
# before STARTTLS; an existing file (block appended, backup, the user's
# bytes unchanged, the same name refused); a new file (0600, default
# account); Google's OAuth2 chosen for smtp.gmail.com (client ID needed);
# the non-interactive form (--yes, a piped password, the --test login);
# --dry-run; at a terminal (script(1)): asked, "no" writes nothing, "yes"
# writes, asks the password twice, stores it and logs in.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
[ "$(id -u)" -eq 0 ] || skip_all "needs root for a private network and mount namespace"
for _tool in unshare ip dnsmasq certtool dbus-run-session dbus-send gnome-keyring-daemon; do
	command -v "$_tool" >/dev/null 2>&1 || skip_all "$_tool is not installed"
done

if [ -z "${CONFIGURE_T_INNER:-}" ]; then
	unshare -m -n true 2>/dev/null || skip_all "no private network and mount namespace here"
	CONFIGURE_T_INNER=1
	export CONFIGURE_T_INNER
	exec unshare -m -n --propagation private sh -c \
		'ip link set lo up && exec dbus-run-session -- sh "$0"' "$0"
fi

bus=${DBUS_SESSION_BUS_ADDRESS:-}
e2e_setup
[ -n "$bus" ] || bail "dbus-run-session did not set DBUS_SESSION_BUS_ADDRESS"
DBUS_SESSION_BUS_ADDRESS=$bus
export DBUS_SESSION_BUS_ADDRESS
e2e_certs
plan_lazy

# ------------------------------------------------------- keyring, DNS ---
GKD_PID=
DNS_PID=
stop_daemons() {
	for _pid in $GKD_PID $DNS_PID; do
		kill -TERM "$_pid" 2>/dev/null || :
		wait "$_pid" 2>/dev/null || :
	done
	GKD_PID=
	DNS_PID=
}
trap 'stop_daemons; _e2e_cleanup' EXIT
printf 'pw' >"$T/unlock"
gnome-keyring-daemon --foreground --unlock --components=secrets \
	<"$T/unlock" >"$T/gkd.out" 2>&1 &
GKD_PID=$!
i=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
	org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets \
	2>/dev/null | grep -q 'boolean true'; do
	[ "$i" -lt 200 ] && _e2e_alive "$GKD_PID" || bail "gnome-keyring-daemon did not come up"
	sleep 0.05
	i=$((i + 1))
done

# Every name the servers answer for, with its address.
HOSTS='autoconfig.a.test 127.0.1.1
mail.a.test 127.0.1.2
srv.a.test 127.0.1.3
b.test 127.0.2.1
mail.b.test 127.0.2.2
mail.c.test 127.0.3.2
smtp.hoster.test 127.0.4.2
mx1.hoster.test 127.0.4.3
mail.e.test 127.0.5.2
autoconfig.bad.test 127.0.6.1
mail.bad.test 127.0.6.2
smtp.gmail.com 127.0.7.2
ispdb.test 127.0.9.1'

{
	printf '%s\n' no-resolv no-hosts listen-address=127.0.0.1 bind-interfaces port=53 \
		local=/test/ local=/gmail.com/ \
		mx-host=d.test,mx1.hoster.test,10 \
		srv-host=_submissions._tcp.e.test,mail.e.test,465,0,1 \
		srv-host=_submission._tcp.e.test,mail.e.test,587,0,1 \
		srv-host=_submissions._tcp.a.test,srv.a.test,465,0,1
	echo "$HOSTS" | while read -r name addr; do
		echo "host-record=$name,$addr"
	done
} >"$T/dnsmasq.conf"
dnsmasq --conf-file="$T/dnsmasq.conf" --keep-in-foreground --user=root --pid-file= \
	--log-facility="$T/dnsmasq.log" &
DNS_PID=$!
echo "nameserver 127.0.0.1" >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf || bail "cannot bind-mount resolv.conf"
i=0
until getent hosts mail.a.test >/dev/null 2>&1; do
	[ "$i" -lt 100 ] && _e2e_alive "$DNS_PID" || bail "dnsmasq did not come up"
	sleep 0.05
	i=$((i + 1))
done

# The test CA as the system's only one, and a certificate for every name.
cat "$CA" >"$T/trust.pem"
mount --bind "$T/trust.pem" /etc/ssl/certs/ca-certificates.crt ||
	bail "cannot bind-mount the trust store"
NAMES=$T/certs/names
_e2e_cert "$NAMES" "$T/certs/ca" "$(printf 'cn = "outbox configure test"\n'
echo "$HOSTS" | while read -r name _; do printf 'dns_name = "%s"\n' "$name"; done
printf 'tls_www_server\nsigning_key\nexpiration_days = 30\n')" || bail "certtool failed"

# ------------------------------------------------------------ servers ---
HTTPS_PY=$E2E_TOP/tests/server/https.py
# web NAME ADDR: an HTTPS file server for $T/www/NAME on ADDR port 443.
web() {
	mkdir -p "$T/www/$1"
	_e2e_script=$HTTPS_PY server_start "$1" --root "$T/www/$1" --host "$2" --port 443 \
		--cert "$NAMES.pem" --key "$NAMES.key" || bail "https.py did not start on $2"
}
# xml HOST PORT SOCKETTYPE [AUTH]: a config-v1.1.xml naming one SMTP server.
xml() {
	cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example">
    <domain>example</domain>
    <incomingServer type="imap"><hostname>imap.invalid</hostname><port>993</port>
      <socketType>SSL</socketType></incomingServer>
    <outgoingServer type="smtp">
      <hostname>$1</hostname>
      <port>$2</port>
      <socketType>$3</socketType>
      <authentication>${4:-password-cleartext}</authentication>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>
EOF
}
# smtp NAME ADDR PORT MODE [smtpd.py options]
smtp() {
	_s_name=$1
	_s_addr=$2
	_s_port=$3
	_s_mode=$4
	shift 4
	server_start "$_s_name" --host "$_s_addr" --port "$_s_port" --mode "$_s_mode" \
		--cert "$NAMES.pem" --key "$NAMES.key" "$@" || bail "smtpd.py did not start on $_s_addr"
}

web ac_a 127.0.1.1
mkdir -p "$T/www/ac_a/mail"
xml mail.a.test 465 SSL >"$T/www/ac_a/mail/config-v1.1.xml"
web wk_b 127.0.2.1
mkdir -p "$T/www/wk_b/.well-known/autoconfig/mail"
xml mail.b.test 587 STARTTLS >"$T/www/wk_b/.well-known/autoconfig/mail/config-v1.1.xml"
web ac_bad 127.0.6.1
mkdir -p "$T/www/ac_bad/mail"
xml mail.bad.test 465 SSL >"$T/www/ac_bad/mail/config-v1.1.xml"
web ispdb 127.0.9.1
mkdir -p "$T/www/ispdb/v1.1"
xml mail.c.test 465 SSL >"$T/www/ispdb/v1.1/c.test"
xml smtp.hoster.test 465 SSL >"$T/www/ispdb/v1.1/hoster.test"
xml smtp.gmail.com 465 SSL OAuth2 >"$T/www/ispdb/v1.1/gmail.com"
# a.test has an ISPDB entry and SRV records too: its own file must win.
xml wrong.a.test 465 SSL >"$T/www/ispdb/v1.1/a.test"
OUTBOX_ISPDB_URL=https://ispdb.test/v1.1/
export OUTBOX_ISPDB_URL

smtp a 127.0.1.2 465 tls --auth alice@a.test:pw-a
smtp b 127.0.2.2 587 starttls --auth bob@b.test:pw-b
smtp c 127.0.3.2 465 tls --auth carol@c.test:pw-c
smtp hoster 127.0.4.2 465 tls --auth dave@d.test:pw-d
smtp e 127.0.5.2 587 starttls --auth erin@e.test:pw-e
smtp bad 127.0.6.2 465 tls --auth x@bad.test:x
server_stop bad
server_start bad --host 127.0.6.2 --port 465 --mode tls --cert "$OTHER_CERT" --key "$OTHER_KEY" ||
	bail "smtpd.py did not start"
smtp gmail 127.0.7.2 465 tls --auth jane@gmail.com:x --auth-mech XOAUTH2

CONF=$XDG_CONFIG_HOME/outbox/config

# cfg ARGS...: outbox --configure ARGS with stdin from /dev/null.
cfg() {
	run "$OUTBOX" --configure "$@" </dev/null
}

# ------------------------------------------------- each source alone ---
cfg --dry-run alice@a.test
t_is "autoconfig host: --dry-run exits 0" 0 "$status"
t_like "... found by the autoconfig host" "$OUT" \
	'^Found by https://autoconfig\.a\.test/mail/config-v1\.1\.xml\?emailaddress=alice%40a\.test\.$'
t_like "... the account block" "$OUT" '^account alice@a\.test$'
t_like "... host" "$OUT" '^host mail\.a\.test$'
t_like "... port 465, implicit TLS" "$OUT" '^tls_starttls off$'
t_like "... the user from %EMAILADDRESS%" "$OUT" '^user alice@a\.test$'
t_like "... the probe's certificate line" "$OUT" 'mail\.a\.test port 465 \(implicit TLS\): the certificate is valid'
t_like "... the server's capabilities" "$OUT" 'capabilities:.*AUTH'
t_like "... a new file gets the default account" "$OUT" '^account default : alice@a\.test$'
t_ok "... nothing written" test ! -e "$CONF"
t_unlike "order: the ISPDB was not asked for a.test" "$T/ispdb.log" 'a\.test'
t_unlike "... nor SRV (dnsmasq's log)" "$T/dnsmasq.log" '_submissions\._tcp\.a\.test'

cfg --dry-run bob@b.test
t_is ".well-known alone: exit 0" 0 "$status"
t_like "... the autoconfig host was asked first" "$OUT" '^  https://autoconfig\.b\.test/.*: Could not resolve'
t_like "... found by .well-known" "$OUT" '^Found by https://b\.test/\.well-known/autoconfig/mail/config-v1\.1\.xml\.$'
t_like "... STARTTLS on 587" "$OUT" '^tls_starttls on$'

cfg --dry-run carol@c.test
t_is "ISPDB alone: exit 0" 0 "$status"
t_like "... found by the ISPDB" "$OUT" '^Found by https://ispdb\.test/v1\.1/c\.test\.$'
t_like "... host" "$OUT" '^host mail\.c\.test$'

cfg --dry-run dave@d.test
t_is "ISPDB of the MX host's domain: exit 0" 0 "$status"
t_like "... the MX named" "$OUT" '^  MX of d\.test: mx1\.hoster\.test$'
t_like "... found by hoster.test's entry" "$OUT" '^Found by https://ispdb\.test/v1\.1/hoster\.test\.$'
t_like "... host" "$OUT" '^host smtp\.hoster\.test$'

cfg --dry-run erin@e.test
t_is "SRV alone: exit 0" 0 "$status"
t_like "... found by SRV" "$OUT" '^Found by DNS SRV _submissions\._tcp\.e\.test, DNS SRV _submission\._tcp\.e\.test\.$'
t_like "... implicit TLS tried first" "$OUT" 'mail\.e\.test port 465 \(implicit TLS\): .*(refused|connect)'
t_like "... then STARTTLS works" "$OUT" 'mail\.e\.test port 587 \(STARTTLS\): the certificate is valid'
t_like "... port 587 written" "$OUT" '^port 587$'

# ------------------------------------------------------------ failures ---
cfg --dry-run nobody@none.test
t_is "nothing found: exit 78" 78 "$status"
t_like "... each source with its answer, in order" "$ERR" \
	'found no submission server for none\.test; tried https://autoconfig\.none\.test/.*; https://none\.test/\.well-known/.*; https://ispdb\.test/v1\.1/none\.test: HTTP status 404; MX of none\.test: no record; DNS SRV _submissions\._tcp\.none\.test: no record; DNS SRV _submission\._tcp\.none\.test: no record'

cfg --dry-run x@bad.test
t_is "an untrusted certificate: exit 78" 78 "$status"
t_like "... refused and said" "$ERR" 'no server that https://autoconfig\.bad\.test/.* named could be used: mail\.bad\.test port 465: .*(certificate|trust)'
t_ok "... nothing written" test ! -e "$CONF"

cfg alice@a.test
t_is "no terminal and no --yes: exit 64" 64 "$status"
t_like "... says to add --yes" "$ERR" 'add --yes'
t_ok "... nothing written" test ! -e "$CONF"

# -------------------------------------------------------------- OAuth2 ---
cfg --dry-run jane@gmail.com
t_is "smtp.gmail.com without a client ID: exit 64" 64 "$status"
t_like "... google chosen" "$OUT" 'smtp\.gmail\.com is google'
t_like "... the client ID asked for plainly" "$ERR" 'needs a client ID of your own.*--oauth2-client-id=ID'
cfg --yes --oauth2-client-id=my-client.apps jane@gmail.com
t_is "with --oauth2-client-id and --yes: exit 0" 0 "$status"
t_like "... oauth2_provider google written" "$CONF" '^oauth2_provider google$'
t_like "... auth xoauth2" "$CONF" '^auth xoauth2$'
t_like "... the client ID" "$CONF" '^oauth2_client_id my-client\.apps$'
t_like "... the sign-in left for a terminal" "$OUT" "outbox -a jane@gmail.com --authorize"
t_is "... a new file is 0600" 600 "$(stat -c %a "$CONF")"
t_like "... with the default account" "$CONF" '^account default : jane@gmail\.com$'

# ------------------------------------------- existing file, --yes, test ---
rm -f "$CONF"
printf '%s\n' "# my own settings" "defaults" "timeout 30" "" "account work" \
	"host mail.a.test" "port 465" "tls on" "tls_starttls off" "from work@a.test" \
	"auth off" >"$T/mine"
printf 'account default : work' >>"$T/mine" # no final newline
cp "$T/mine" "$CONF"
chmod 600 "$CONF"
printf 'pw-a\n' >"$T/pw"
run "$OUTBOX" --configure --yes alice@a.test <"$T/pw"
t_is "existing file, --yes, a piped password: exit 0" 0 "$status"
cp "$OUT" "$T/yes.out"
t_is "... the user's bytes unchanged" "$(cat "$T/mine")" "$(head -c "$(wc -c <"$T/mine")" "$CONF")"
set -- "$CONF".bak-*
t_ok "... a backup made" test -f "$1"
t_ok "... the backup is the file as it was" cmp -s "$T/mine" "$1"
t_like "... the block appended" "$CONF" '^account alice@a\.test$'
t_unlike "... no second default account" "$CONF" '^account default : alice'
t_like "... the password stored" "$T/yes.out" 'Stored the password for alice@a\.test at mail\.a\.test in the keyring'
t_like "... the --test login ran" "$T/yes.out" 'Authenticated as alice@a\.test with PLAIN'
t_like "... and worked" "$T/yes.out" 'Account alice@a\.test works'
t_ok "... the file still parses, the old account too" "$OUTBOX" -a work --pretend
run "$OUTBOX" --configure --yes alice@a.test </dev/null
t_is "the same account again: exit 64" 64 "$status"
t_like "... refused, naming -a" "$ERR" 'already has an account alice@a\.test; name the new one with -a NAME'
run "$OUTBOX" --configure --yes -a second alice@a.test </dev/null
t_is "-a another name, no password piped: exit 0" 0 "$status"
t_like "... says how to store it" "$OUT" "outbox -a second --store-password"
t_like "... written" "$CONF" '^account second$'

run "$OUTBOX" --configure --dry-run -a 'two words' alice@a.test </dev/null
t_is "an account name of two words: exit 64" 64 "$status"

# ---------------------------------------------------------- a terminal ---
# feed FILE REGEX TEXT: once FILE shows REGEX, TEXT is typed (a line).
feed() {
	_f_i=0
	until grep -E -q -e "$2" "$1" 2>/dev/null; do
		[ "$_f_i" -lt 400 ] || return 1
		sleep 0.05
		_f_i=$((_f_i + 1))
	done
	printf '%s\n' "$3"
}
if command -v script >/dev/null 2>&1; then
	TTY_OUT=$T/tty.out
	: >"$TTY_OUT"
	feed "$TTY_OUT" 'Add this account' n |
		script -qfec "'$OUTBOX' --configure carol@c.test" /dev/null >"$TTY_OUT" 2>&1
	t_like "at a terminal: the account shown" "$TTY_OUT" '^host mail\.c\.test'
	t_like "... asked" "$TTY_OUT" 'Add this account to .*\? \[y/N\]'
	t_like "... answered no: nothing written" "$TTY_OUT" 'Nothing was written'
	t_unlike "... and not in the file" "$CONF" 'carol'
	: >"$TTY_OUT"
	{
		feed "$TTY_OUT" 'Add this account' y
		feed "$TTY_OUT" 'Password for carol@c\.test at mail\.c\.test' pw-c
		feed "$TTY_OUT" 'Retype' pw-c
	} | script -qfec "'$OUTBOX' --configure carol@c.test" /dev/null >"$TTY_OUT" 2>&1
	t_like "answered yes: written" "$CONF" '^account carol@c\.test$'
	t_like "... the password asked and stored" "$TTY_OUT" 'Stored the password for carol@c\.test'
	t_like "... the login works" "$TTY_OUT" 'Account carol@c\.test works'
else
	t_skip "at a terminal" "script(1) is not installed"
fi

done_testing
