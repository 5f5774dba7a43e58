#!/bin/sh
# tls.t - TLS and AUTH safety, end to end: outbox delivers over STARTTLS and
# implicit TLS only to a server whose certificate it can verify (CA and
# name, IP SAN, tls_host_override, tls_fingerprint, or tls_certcheck off),
# presents a client certificate, and refuses with exit 78 (77 for password
# trouble) and a one-line error saying what to set whenever verification
# fails, STARTTLS is missing or the password would cross the wire in clear.
# In every refusal the server's protocol log must show no AUTH command and
# no password bytes, and nothing may be stored.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

# ------------------------------------------------------------- servers ---

start() {
	server_start "$@" || bail "server $1 did not start"
}

start st --mode starttls --cert "$CERT" --key "$KEY" --client-ca "$CA" \
	--auth bob:secret
start login --mode starttls --cert "$CERT" --key "$KEY" --auth bob:secret \
	--auth-mech LOGIN
start early --mode starttls --cert "$CERT" --key "$KEY" --auth bob:secret \
	--auth-no-tls
start no454 --mode starttls --cert "$CERT" --key "$KEY" --auth bob:secret \
	--auth-no-tls --fault 'starttls:454 4.7.0 TLS not available'
start tls --mode tls --cert "$CERT" --key "$KEY" --auth bob:secret
start other --mode starttls --cert "$OTHER_CERT" --key "$OTHER_KEY" \
	--auth bob:secret
start badname --mode starttls --cert "$BADNAME_CERT" --key "$BADNAME_KEY" \
	--auth bob:secret
start expired --mode starttls --cert "$EXPIRED_CERT" --key "$EXPIRED_KEY" \
	--auth bob:secret
start plain --mode plain --auth bob:secret

ST=$(server_port st)
LOGIN=$(server_port login)
EARLY=$(server_port early)
NO454=$(server_port no454)
TLS=$(server_port tls)
OTHER=$(server_port other)
BADNAME=$(server_port badname)
EXPIRED=$(server_port expired)
PLAIN=$(server_port plain)

# --------------------------------------------------------------- helpers ---

# A message with every header outbox would otherwise add, so the stored
# bytes are known exactly.
MSG=$T/msg.txt
EXPECTED=$T/expected.eml
message() {
	printf "%s$1" 'From: alice@example.org' 'To: rcpt@example.org' \
		'Subject: tls test' 'Date: Mon, 01 Jan 2024 00:00:00 +0000' \
		'Message-ID: <tls-test@example.org>' '' 'hello over tls'
}
message '\n' >"$MSG"
message '\r\n' >"$EXPECTED"

# What must never show up where it is checked: the password, its base64
# and the AUTH PLAIN payload for bob.
# The password as a word ("secret-tool", a command outbox may suggest, is not it).
SECRETS='(^|[^a-z-])secret([^a-z-]|$)|c2VjcmV0|AGJvYgBzZWNyZXQ='

# mkconf NAME LINE...: $T/NAME.conf, one account "default" with LINEs after
# defaults that turn holding off so that account trouble is an exit status.
mkconf() {
	_c=$1
	shift
	{
		printf '%s\n' defaults 'hold_on_account_error off' 'queue off' \
			'timeout 3' 'from alice@example.org' '' 'account default'
		printf '%s\n' "$@"
	} | write_config "$T/$_c.conf"
}

# send CONF [ARGS...]: submit $MSG through CONF; never waits forever.
# (send and serverinfo are called through run.)
# shellcheck disable=SC2317
send() {
	_c=$1
	shift
	timeout 20 "$OUTBOX" -C "$T/$_c.conf" "$@" rcpt@example.org <"$MSG"
}

# shellcheck disable=SC2317
serverinfo() {
	timeout 20 "$OUTBOX" -C "$T/$1.conf" --serverinfo </dev/null
}

# mark SERVER / since SERVER: the server's log lines written after mark, in
# $T/since.log (after a moment, so that a line the client sent last is in).
mark() {
	_mark=$(wc -l <"$(server_log "$1")")
	_before=$(msg_count "$1")
}

since() {
	sleep 0.2
	tail -n +"$((_mark + 1))" "$(server_log "$1")" >"$T/since.log"
}

# failed DESC: the last run failed, and did not hang (timeout's 124).
failed() {
	if [ "$status" -ne 0 ] && [ "$status" -ne 124 ]; then
		t_pass "$1 (exit $status)"
	else
		t_fail "$1 (exit $status)"
		_t_diag_run
	fi
}

one_line() {
	t_is "$1: one line on stderr" 1 "$(wc -l <"$ERR" | tr -d ' ')"
}

# delivered DESC SERVER CONF TLS [ARGS...]: exit 0, one more message stored,
# byte for byte, with env tls TLS and auth bob.
delivered() {
	_d=$1 _s=$2 _c=$3 _tls=$4
	shift 4
	mark "$_s"
	t_exit "$_d: exit 0" 0 send "$_c" "$@"
	_n=$((_before + 1))
	t_is "$_d: stored" "$_n" "$(msg_count "$_s")"
	if cmp -s "$EXPECTED" "$(msg_file "$_s" "$_n")"; then
		t_pass "$_d: the exact bytes"
	else
		t_fail "$_d: the exact bytes"
		diag_file "$(msg_file "$_s" "$_n")"
	fi
	t_is "$_d: tls" "$_tls" "$(env_field "$_s" "$_n" tls 2>/dev/null)"
	t_is "$_d: auth" bob "$(env_field "$_s" "$_n" auth 2>/dev/null)"
}

# no_auth DESC SERVER: since mark, no AUTH command, no password bytes,
# nothing stored.
no_auth() {
	since "$2"
	t_unlike "$1: no AUTH reached the server" "$T/since.log" \
		' C: [Aa][Uu][Tt][Hh]'
	t_unlike "$1: no password bytes reached the server" "$T/since.log" \
		"$SECRETS"
	t_is "$1: nothing stored" "$_before" "$(msg_count "$2")"
}

# refused DESC SERVER CONF STATUS REGEX [ARGS...]: exit STATUS, one line on
# stderr matching REGEX and holding no secret, no AUTH, nothing stored.
refused() {
	_d=$1 _s=$2 _c=$3 _want=$4 _re=$5
	shift 5
	mark "$_s"
	t_exit "$_d: exit $_want" "$_want" send "$_c" "$@"
	t_like "$_d: stderr says what to fix" "$ERR" "$_re"
	one_line "$_d"
	t_unlike "$_d: no password on stderr" "$ERR" "$SECRETS"
	no_auth "$_d" "$_s"
}

# ------------------------------------------------------- good servers ---

mkconf st 'host 127.0.0.1' "port $ST" "tls_trust_file $CA" 'auth on' 'user bob' \
	'password secret'
delivered 'STARTTLS + AUTH PLAIN' st st true
t_like 'STARTTLS + AUTH PLAIN: STARTTLS went first' "$(server_log st)" \
	'^1 C: STARTTLS$'
t_like 'STARTTLS + AUTH PLAIN: AUTH PLAIN used' "$(server_log st)" \
	'^1 C: AUTH PLAIN '
t_is 'no client certificate: env client_cert null' null \
	"$(env_field st 1 client_cert)"

mkconf login 'host 127.0.0.1' "port $LOGIN" "tls_trust_file $CA" 'auth on' \
	'user bob' 'password secret'
delivered 'server offering only LOGIN' login login true
t_like 'server offering only LOGIN: AUTH LOGIN used' "$(server_log login)" \
	' C: AUTH LOGIN'

# AUTH offered before TLS must wait until after it.
mkconf early 'host 127.0.0.1' "port $EARLY" "tls_trust_file $CA" 'auth on' \
	'user bob' 'password secret'
delivered 'AUTH offered before STARTTLS' early early true
sed -n '/C: STARTTLS/,$p' "$(server_log early)" >"$T/after-starttls.log"
t_like 'AUTH offered before STARTTLS: AUTH only after STARTTLS' \
	"$T/after-starttls.log" ' C: AUTH PLAIN '
t_is 'AUTH offered before STARTTLS: one AUTH in all' 1 \
	"$(grep -c ' C: AUTH' "$(server_log early)")"

mkconf tls 'host 127.0.0.1' "port $TLS" "tls_trust_file $CA" 'tls_starttls off' \
	'auth on' 'user bob' 'password secret'
delivered 'implicit TLS' tls tls true
t_unlike 'implicit TLS: no STARTTLS command' "$(server_log tls)" \
	' C: STARTTLS'

mkconf byname 'host localhost' "port $ST" "tls_trust_file $CA" 'auth on' \
	'user bob' 'password secret'
delivered 'host localhost (DNS name)' st byname true

mkconf byip 'host 127.0.0.1' "port $ST" "tls_trust_file $CA" 'auth on' \
	'user bob' 'password secret'
delivered 'host 127.0.0.1 (IP SAN)' st byip true

if grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 \
	2>/dev/null &&
	server_start v6 --host ::1 --mode starttls --cert "$CERT" \
		--key "$KEY" --auth bob:secret; then
	mkconf v6 'host ::1' "port $(server_port v6)" "tls_trust_file $CA" \
		'auth on' 'user bob' 'password secret'
	delivered 'host ::1 (IPv6 SAN)' v6 v6 true
else
	t_skip 'host ::1 (IPv6 SAN)' 'no IPv6 loopback'
fi

# ----------------------------------------------------- verification ---

mkconf wrongca 'host 127.0.0.1' "port $OTHER" "tls_trust_file $CA" 'auth on' \
	'user bob' 'password secret'
refused 'certificate from another CA' other wrongca 78 \
	'tls_trust_file|tls_fingerprint'
t_like 'certificate from another CA: offers its SHA-256 to pin' "$ERR" \
	"$(cert_sha256 "$OTHER_CERT")"
# The line it suggests, pasted into the account as shown, works.
pinline=$(sed -n 's/.*pin it by adding this line to the account: \(tls_fingerprint [0-9A-F:]*\).*/\1/p' "$ERR")
t_is 'certificate from another CA: the suggested line is complete' \
	"tls_fingerprint $(cert_sha256 "$OTHER_CERT")" "$pinline"
mkconf pasted 'host 127.0.0.1' "port $OTHER" "tls_trust_file $CA" "$pinline" \
	'auth on' 'user bob' 'password secret'
delivered 'the suggested tls_fingerprint line, pasted' other pasted true

mkconf badname 'host 127.0.0.1' "port $BADNAME" "tls_trust_file $CA" 'auth on' \
	'user bob' 'password secret'
refused 'certificate for another name' badname badname 78 \
	'tls_host_override|other\.invalid'

mkconf override 'host 127.0.0.1' "port $BADNAME" "tls_trust_file $CA" \
	'tls_host_override other.invalid' 'auth on' 'user bob' 'password secret'
delivered 'tls_host_override other.invalid' badname override true

mkconf override2 'host 127.0.0.1' "port $ST" "tls_trust_file $CA" \
	'tls_host_override other.invalid' 'auth on' 'user bob' 'password secret'
refused 'tls_host_override is what gets checked' st override2 78 \
	'tls_host_override'

mkconf expired 'host 127.0.0.1' "port $EXPIRED" "tls_trust_file $CA" 'auth on' \
	'user bob' 'password secret'
refused 'expired certificate' expired expired 78 'expire'

mkconf pin 'host 127.0.0.1' "port $ST" "tls_fingerprint $CERT_SHA256" 'auth on' \
	'user bob' 'password secret'
delivered 'tls_fingerprint without tls_trust_file' st pin true

mkconf pinlc 'host 127.0.0.1' "port $ST" \
	"tls_fingerprint $(echo "$CERT_SHA256" | tr A-F a-f)" 'auth on' 'user bob' \
	'password secret'
delivered 'tls_fingerprint in lower case' st pinlc true

mkconf pinother 'host 127.0.0.1' "port $OTHER" "tls_trust_file $CA" \
	"tls_fingerprint $(cert_sha256 "$OTHER_CERT")" 'auth on' 'user bob' \
	'password secret'
delivered 'tls_fingerprint overrides the CA check' other pinother true

mkconf wrongpin 'host 127.0.0.1' "port $OTHER" \
	"tls_fingerprint $CERT_SHA256" 'auth on' 'user bob' 'password secret'
refused 'wrong tls_fingerprint' other wrongpin 78 'tls_fingerprint'

mkconf sha1pin 'host 127.0.0.1' "port $ST" "tls_fingerprint $CERT_SHA1" \
	'auth on' 'user bob' 'password secret'
refused 'SHA-1 tls_fingerprint' st sha1pin 78 'SHA-256'

mkconf nocheck 'host 127.0.0.1' "port $OTHER" "tls_trust_file $CA" \
	'tls_certcheck off' 'auth on' 'user bob' 'password secret'
delivered 'tls_certcheck off with an unknown CA' other nocheck true
if [ -s "$ERR" ]; then
	diag "tls_certcheck off prints:"
	diag_file "$ERR"
else
	diag "tls_certcheck off prints nothing on stderr"
fi

mkconf badprio 'host 127.0.0.1' "port $ST" "tls_trust_file $CA" \
	'tls_priorities NORMAL:+BOGUS-CIPHER' 'auth on' 'user bob' 'password secret'
refused 'bad tls_priorities' st badprio 78 'NORMAL:\+BOGUS-CIPHER'

mkconf notrust 'host 127.0.0.1' "port $ST" "tls_trust_file $T/no-such-ca.pem" \
	'auth on' 'user bob' 'password secret'
refused 'missing tls_trust_file' st notrust 78 'no-such-ca\.pem'

# ------------------------------------------------ no TLS where wanted ---

mkconf nostarttls 'host 127.0.0.1' "port $PLAIN" "tls_trust_file $CA" \
	'tls on' 'tls_starttls on' 'auth on' 'user bob' 'password secret'
refused 'server without STARTTLS' plain nostarttls 78 'tls_starttls|STARTTLS'
t_unlike 'server without STARTTLS: no MAIL either' "$T/since.log" ' C: MAIL'

mkconf no454 'host 127.0.0.1' "port $NO454" "tls_trust_file $CA" 'auth on' \
	'user bob' 'password secret'
mark no454
run send no454
failed 'STARTTLS refused with 454: fails'
t_like 'STARTTLS refused with 454: stderr shows the reply' "$ERR" '454'
no_auth 'STARTTLS refused with 454' no454
t_unlike 'STARTTLS refused with 454: no MAIL in clear' "$T/since.log" ' C: MAIL'

for _s in st plain; do
	mkconf implicit-$_s 'host 127.0.0.1' "port $(server_port $_s)" \
		"tls_trust_file $CA" 'tls_starttls off' 'auth on' 'user bob' \
		'password secret'
	mark $_s
	run send implicit-$_s
	failed "implicit TLS to a $_s port: fails without hanging"
	t_like "implicit TLS to a $_s port: says the port speaks no TLS" \
		"$ERR" 'tls_starttls|TLS'
	one_line "implicit TLS to a $_s port"
	no_auth "implicit TLS to a $_s port" $_s
done

# --------------------------------------------- passwords in the clear ---

mkconf clear 'host 127.0.0.1' "port $PLAIN" 'tls off' 'auth on' 'user bob' \
	'password secret'
refused 'tls off, auth on' plain clear 78 'allow_plaintext_auth'

mkconf clearauto 'host 127.0.0.1' "port $PLAIN" 'tls off' 'user bob' \
	'password secret'
mark plain
run send clearauto
failed 'tls off, user set, auth not set: refused'
no_auth 'tls off, user set, auth not set' plain

mkconf clearplain 'host 127.0.0.1' "port $PLAIN" 'tls off' 'auth plain' \
	'user bob' 'password secret'
refused 'tls off, auth plain' plain clearplain 78 'allow_plaintext_auth'

mkconf clearlogin 'host 127.0.0.1' "port $PLAIN" 'tls off' 'auth login' \
	'user bob' 'password secret'
refused 'tls off, auth login' plain clearlogin 78 'allow_plaintext_auth'

mkconf clearok 'host 127.0.0.1' "port $PLAIN" 'tls off' 'auth on' 'user bob' \
	'password secret' 'allow_plaintext_auth on'
delivered 'tls off with allow_plaintext_auth on' plain clearok false

# ------------------------------------------------------ passwords ---

mkconf nopw 'host 127.0.0.1' "port $ST" "tls_trust_file $CA" 'auth on' 'user bob'
refused 'no password source' st nopw 77 'password'
t_like 'no password source: names the account' "$ERR" 'default'
t_like 'no password source: names passwordeval' "$ERR" 'passwordeval'

mkconf pweval 'host 127.0.0.1' "port $ST" "tls_trust_file $CA" 'auth on' \
	'user bob' 'passwordeval printf secret'
delivered 'passwordeval' st pweval true

mkconf pwfail 'host 127.0.0.1' "port $ST" "tls_trust_file $CA" 'auth on' \
	'user bob' 'passwordeval exit 3'
refused 'failing passwordeval' st pwfail 77 'passwordeval'

mkconf wrongpw 'host 127.0.0.1' "port $ST" "tls_trust_file $CA" 'auth on' \
	'user bob' 'password Wr0ngPw'
mark st
t_exit 'wrong password: exit 77' 77 send wrongpw
t_like "wrong password: stderr has the server's 535" "$ERR" '535'
one_line 'wrong password'
t_unlike 'wrong password: not on stderr' "$ERR" 'Wr0ngPw|V3Iwbmdw'
t_is 'wrong password: nothing stored' "$_before" "$(msg_count st)"

# ------------------------------------------------ client certificate ---

mkconf client 'host 127.0.0.1' "port $ST" "tls_trust_file $CA" \
	"tls_cert_file $CLIENT_CERT" "tls_key_file $CLIENT_KEY" 'auth on' 'user bob' \
	'password secret'
delivered 'client certificate' st client true
t_is 'client certificate: the server saw its CN' 'outbox test client' \
	"$(env_field st "$(msg_count st)" client_cert)"

# ------------------------------------------------------ serverinfo ---

mark st
t_exit '--serverinfo: exit 0' 0 serverinfo st
t_like '--serverinfo: shows STARTTLS' "$OUT" 'STARTTLS'
t_like '--serverinfo: shows AUTH after TLS' "$OUT" 'AUTH.*PLAIN'
t_like '--serverinfo: SHA-256 fingerprint' "$OUT" "$CERT_SHA256"
t_like '--serverinfo: subject' "$OUT" 'CN=localhost'
no_auth '--serverinfo' st

mark other
t_exit '--serverinfo with an unknown CA: exit 78' 78 serverinfo wrongca
t_like '--serverinfo with an unknown CA: says what to fix' "$ERR" \
	'tls_trust_file|tls_fingerprint'
no_auth '--serverinfo with an unknown CA' other

# -------------------------------------------------------- transcript ---

t_exit '-v: exit 0' 0 send st -v
t_unlike '-v: no password in the transcript' "$ERR" "$SECRETS"
t_like '-v: AUTH PLAIN <redacted>' "$ERR" '^--> AUTH PLAIN <redacted>$'
t_like '-v: shows the STARTTLS exchange' "$ERR" '^--> STARTTLS$'

t_exit '-v with LOGIN: exit 0' 0 send login -v
t_unlike '-v with LOGIN: no password in the transcript' "$ERR" "$SECRETS"
t_unlike '-v with LOGIN: no user name payload' "$ERR" '^--> Ym9i'
t_like '-v with LOGIN: the answers are redacted' "$ERR" '^--> <redacted>$'

done_testing
