#!/bin/sh
# sasl.t - every AUTH mechanism outbox implements, end to end against
# tests/server/smtpd.py (whose SASL side, saslserver.py, shares no code with
# outbox): PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1/-256 and their -PLUS variants
# (tls-exporter on TLS 1.3, tls-unique on TLS 1.2, checked by the server),
# XOAUTH2 and OAUTHBEARER with a 3000-character token, and EXTERNAL with a
# client certificate; the automatic choice; wrong passwords and tokens (77
# with the server's 535); a bad SCRAM server signature (cancelled with "*",
# no MAIL); and the RFC 5802 gs2 flag when -PLUS is offered but not named.
# Neither the password nor the token, nor their base64, may show up in the
# -v transcript, and the mechanisms that do not reveal the password (CRAM-MD5,
# SCRAM) must not put it, in any form, in the server's protocol log.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

PW=S3cr3t-Pw.42
WRONG_PW=Wr0ng-Pw.17
# A 3000-character bearer token: "ya29." and letters and digits.
TOKEN=ya29.$(head -c 3000 /dev/urandom | base64 | tr -d '+/=\n' |
	cut -c 1-2995)
WRONG_TOKEN=ya29.-$(echo "$TOKEN" | cut -c 7-)
printf '%s\n' "$TOKEN" >"$T/token"
printf '%s\n' "$WRONG_TOKEN" >"$T/wrong-token"
chmod 600 "$T/token" "$T/wrong-token"
t_is 'the test token has 3000 characters' 3000 "${#TOKEN}"
CLIENT_CN='outbox test client'

ALL_MECHS=PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-1,SCRAM-SHA-256,SCRAM-SHA-1-PLUS
ALL_MECHS=$ALL_MECHS,SCRAM-SHA-256-PLUS,XOAUTH2,OAUTHBEARER,EXTERNAL

# ------------------------------------------------------------- servers ---

start() {
	server_start "$@" || bail "server $1 did not start"
}

start all --mode starttls --cert "$CERT" --key "$KEY" --client-ca "$CA" \
	--auth "bob:$PW" --oauth-token "bob:$TOKEN" --auth-mech "$ALL_MECHS"
start t12 --mode starttls --tls-max 1.2 --cert "$CERT" --key "$KEY" \
	--auth "bob:$PW" \
	--auth-mech PLAIN,SCRAM-SHA-256,SCRAM-SHA-1-PLUS,SCRAM-SHA-256-PLUS
start classic --mode starttls --cert "$CERT" --key "$KEY" --auth "bob:$PW" \
	--auth-mech PLAIN,LOGIN,CRAM-MD5
start noplus --mode starttls --cert "$CERT" --key "$KEY" --auth "bob:$PW" \
	--auth-mech PLAIN,SCRAM-SHA-1,SCRAM-SHA-256
start badsig --mode starttls --cert "$CERT" --key "$KEY" --auth "bob:$PW" \
	--auth-mech SCRAM-SHA-1,SCRAM-SHA-256,SCRAM-SHA-256-PLUS \
	--scram-bad-signature
start clear --mode plain --auth "bob:$PW" --auth-mech CRAM-MD5,SCRAM-SHA-1,EXTERNAL
start oauthonly --mode starttls --cert "$CERT" --key "$KEY" \
	--oauth-token "bob:$TOKEN" --auth-mech XOAUTH2,OAUTHBEARER,EXTERNAL
start clearplain --mode plain --auth "bob:$PW" --auth-mech PLAIN

# The -PLUS tests need the server's tls-exporter (OpenSSL through ctypes):
# when smtpd.py could not get it, it says so and offers no -PLUS on TLS 1.3.
if grep -q 'SCRAM-\*-PLUS disabled' "$T/all.out" 2>/dev/null; then
	diag_file "$T/all.out"
	HAVE_EXPORTER=no
else
	HAVE_EXPORTER=yes
fi

# --------------------------------------------------------------- helpers ---

upper() {
	echo "$1" | tr '[:lower:]' '[:upper:]'
}

MSG=$T/msg.txt
printf '%s\n' 'From: alice@example.org' 'To: rcpt@example.org' \
	'Subject: sasl test' '' 'hello' >"$MSG"

# needles FILE STRING...: write to FILE (for grep -F -f) each STRING and the
# part of its base64 that does not depend on the neighbouring bytes, at each
# of the three alignments it can have inside a longer base64 payload.
needles() {
	_f=$1
	shift
	: >"$_f"
	for _s in "$@"; do
		printf '%s\n' "$_s" >>"$_f"
		for _p in '' x xx; do
			_b=$(printf '%s%s' "$_p" "$_s" | base64 | tr -d '\n')
			echo "$_b" | cut -c "5-$((${#_b} - 4))" >>"$_f"
		done
	done
}

needles "$T/pw.needles" "$PW"
needles "$T/wrongpw.needles" "$WRONG_PW"
needles "$T/token.needles" "$TOKEN"
needles "$T/wrongtoken.needles" "$WRONG_TOKEN"
cat "$T/pw.needles" "$T/wrongpw.needles" "$T/token.needles" \
	"$T/wrongtoken.needles" >"$T/all.needles"

# t_absent DESC FILE NEEDLES / t_present DESC FILE NEEDLES: FILE exists and
# holds none / some of the fixed strings in NEEDLES.
t_absent() {
	if [ -f "$2" ] && ! grep -F -q -f "$3" "$2"; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diag "$2 is missing or holds a secret:"
		grep -F -f "$3" "$2" 2>/dev/null | cut -c 1-100 | sed -n '1,5p' |
			sed 's/^/#   /'
	fi
}

t_present() {
	if grep -F -q -f "$3" "$2" 2>/dev/null; then
		ok 0 "$1"
	else
		ok 1 "$1"
	fi
}

# mkconf NAME LINE...: $T/NAME.conf, one account with LINEs, holding and
# queueing off so that account trouble is an exit status.
mkconf() {
	_c=$1
	shift
	{
		printf '%s\n' defaults 'hold_on_account_error off' 'queue off' \
			'timeout 10' 'from alice@example.org' '' 'account default' \
			'host 127.0.0.1'
		printf '%s\n' "$@"
	} | write_config "$T/$_c.conf"
}

# tlsconf NAME SERVER LINE...: STARTTLS to SERVER, verified with the test CA.
tlsconf() {
	_c=$1 _p=$(server_port "$2")
	shift 2
	mkconf "$_c" "port $_p" 'tls on' 'tls_starttls on' "tls_trust_file $CA" \
		"$@"
}

# send CONF [ARGS...]: submit $MSG through CONF (called through run).
# shellcheck disable=SC2317
send() {
	_c=$1
	shift
	timeout 30 "$OUTBOX" -C "$T/$_c.conf" "$@" rcpt@example.org <"$MSG"
}

# mark SERVER / since SERVER: the server's log lines written after mark, in
# $T/since.log (after a moment, so that a last line the client sent is in).
mark() {
	_mark=$(wc -l <"$(server_log "$1")")
	_before=$(msg_count "$1")
}

since() {
	sleep 0.2
	tail -n +"$((_mark + 1))" "$(server_log "$1")" >"$T/since.log"
}

# The decoded AUTH initial response in the lines since mark.
initial_response() {
	sed -n 's/^[0-9]* C: AUTH [A-Z0-9-]* \([A-Za-z0-9+\/=]*\)$/\1/p' \
		"$T/since.log" | sed -n 1p | base64 -d 2>/dev/null
}

# delivered DESC SERVER CONF MECH USER SECRET [ARGS...]: with -v, exit 0,
# one more message stored with auth USER and auth_mech MECH, the transcript
# shows "AUTH MECH" but no secret; SECRET (pw or token) says which needles
# must stay out of the server log when MECH does not reveal them, and must
# be in it (base64) when it does: the check can fail.
delivered() {
	_d=$1 _s=$2 _c=$3 _m=$4 _u=$5 _k=$6
	shift 6
	mark "$_s"
	t_exit "$_d: exit 0" 0 send "$_c" -v "$@"
	since "$_s"
	_n=$((_before + 1))
	t_is "$_d: stored" "$_n" "$(msg_count "$_s")"
	t_is "$_d: env auth" "$_u" "$(env_field "$_s" "$_n" auth 2>/dev/null)"
	t_is "$_d: env auth_mech" "$_m" \
		"$(env_field "$_s" "$_n" auth_mech 2>/dev/null)"
	t_like "$_d: -v shows AUTH $_m" "$ERR" "^--> AUTH $_m( |$)"
	t_absent "$_d: no secret in the -v transcript" "$ERR" "$T/all.needles"
	case $_m in
	CRAM-MD5 | SCRAM-*)
		t_absent "$_d: the password never reached the server" \
			"$T/since.log" "$T/$_k.needles"
		;;
	PLAIN | LOGIN | XOAUTH2 | OAUTHBEARER)
		t_present "$_d: the server log shows the revealed $_k (control)" \
			"$T/since.log" "$T/$_k.needles"
		;;
	esac
}

# refused DESC SERVER CONF STATUS REGEX [ARGS...]: exit STATUS, stderr
# matches REGEX and holds no secret, nothing stored.
refused() {
	_d=$1 _s=$2 _c=$3 _want=$4 _re=$5
	shift 5
	mark "$_s"
	t_exit "$_d: exit $_want" "$_want" send "$_c" "$@"
	since "$_s"
	diag "$_d: $(sed -n 1p "$ERR")"
	t_like "$_d: stderr says why" "$ERR" "$_re"
	t_absent "$_d: no secret on stderr" "$ERR" "$T/all.needles"
	t_is "$_d: nothing stored" "$_before" "$(msg_count "$_s")"
}

# -------------------------------- each mechanism named, over TLS 1.3 ---

for m in plain login cram-md5 scram-sha-1 scram-sha-256; do
	M=$(upper "$m")
	tlsconf "$m" all "auth $m" 'user bob' "password $PW"
	delivered "auth $m" all "$m" "$M" bob pw
	case $M in
	SCRAM-*)
		t_is "auth $m: gs2 flag n (-PLUS offered, not named)" 'n,,' \
			"$(initial_response | cut -c 1-3)"
		;;
	esac
done

for m in scram-sha-1-plus scram-sha-256-plus; do
	M=$(upper "$m")
	if [ "$HAVE_EXPORTER" = no ]; then
		t_skip "auth $m over TLS 1.3" 'smtpd.py has no tls-exporter'
		continue
	fi
	tlsconf "$m" all "auth $m" 'user bob' "password $PW"
	delivered "auth $m (TLS 1.3)" all "$m" "$M" bob pw
	t_like "auth $m (TLS 1.3): the server checked tls-exporter" \
		"$T/since.log" '\* scram: channel binding tls-exporter checked \(TLSv1\.3\)'
	t_is "auth $m (TLS 1.3): gs2 header p=tls-exporter" 'p=tls-exporter,,' \
		"$(initial_response | cut -c 1-16)"
done

tlsconf xoauth2 all 'auth xoauth2' 'user bob' "passwordeval cat $T/token"
delivered 'auth xoauth2, 3000-character token' all xoauth2 XOAUTH2 bob token
tlsconf oauthbearer all 'auth oauthbearer' 'user bob' \
	"passwordeval cat $T/token"
delivered 'auth oauthbearer, 3000-character token' all oauthbearer \
	OAUTHBEARER bob token
t_is 'auth oauthbearer: host= sent' 127.0.0.1 \
	"$(env_field all "$(msg_count all)" oauth_host)"
t_is 'auth oauthbearer: port= sent' "$(server_port all)" \
	"$(env_field all "$(msg_count all)" oauth_port)"

tlsconf external all 'auth external' "tls_cert_file $CLIENT_CERT" \
	"tls_key_file $CLIENT_KEY"
delivered 'auth external, client certificate' all external EXTERNAL \
	"$CLIENT_CN" pw
t_is 'auth external: the server verified the certificate' "$CLIENT_CN" \
	"$(env_field all "$(msg_count all)" client_cert)"

# ----------------------------------------------- -PLUS over TLS 1.2 ---

for m in scram-sha-1-plus scram-sha-256-plus; do
	M=$(upper "$m")
	tlsconf "$m-12" t12 "auth $m" 'user bob' "password $PW"
	delivered "auth $m (TLS 1.2)" t12 "$m-12" "$M" bob pw
	t_like "auth $m (TLS 1.2): the server checked tls-unique" \
		"$T/since.log" '\* scram: channel binding tls-unique checked \(TLSv1\.2\)'
	t_is "auth $m (TLS 1.2): gs2 header p=tls-unique" 'p=tls-unique,,' \
		"$(initial_response | cut -c 1-14)"
done

# --------------------------------------------------- automatic choice ---

if [ "$HAVE_EXPORTER" = yes ]; then
	tlsconf auto-all all 'auth on' 'user bob' "password $PW"
	delivered 'auto, everything offered (TLS 1.3)' all auto-all \
		SCRAM-SHA-256-PLUS bob pw
else
	t_skip 'auto, everything offered (TLS 1.3)' 'smtpd.py has no tls-exporter'
fi

tlsconf auto-12 t12 'user bob' "password $PW"
delivered 'auto (no auth line), -PLUS offered on TLS 1.2' t12 auto-12 \
	SCRAM-SHA-256-PLUS bob pw

tlsconf auto-classic classic 'auth on' 'user bob' "password $PW"
delivered 'auto, PLAIN LOGIN CRAM-MD5 offered' classic auto-classic PLAIN \
	bob pw

tlsconf auto-noplus noplus 'auth on' 'user bob' "password $PW"
delivered 'auto, SCRAM without -PLUS offered' noplus auto-noplus \
	SCRAM-SHA-256 bob pw
t_is 'auto, SCRAM without -PLUS: gs2 flag y (could bind, server cannot)' \
	'y,,' "$(initial_response | cut -c 1-3)"

tlsconf auto-oauth oauthonly 'auth on' 'user bob' \
	"passwordeval cat $T/token" "tls_cert_file $CLIENT_CERT" \
	"tls_key_file $CLIENT_KEY"
refused 'auto, only XOAUTH2 OAUTHBEARER EXTERNAL offered: none chosen' \
	oauthonly auto-oauth 78 'XOAUTH2'
t_unlike 'auto, only XOAUTH2 OAUTHBEARER EXTERNAL offered: no AUTH sent' \
	"$T/since.log" ' C: [Aa][Uu][Tt][Hh]'

mkconf auto-clear "port $(server_port clear)" 'tls off' 'auth on' 'user bob' \
	"password $PW"
delivered 'auto over plain SMTP, CRAM-MD5 and SCRAM-SHA-1 offered' clear \
	auto-clear SCRAM-SHA-1 bob pw
t_is 'auto over plain SMTP: env tls false' false \
	"$(env_field clear "$(msg_count clear)" tls)"
t_is 'auto over plain SMTP: gs2 flag n (no TLS)' 'n,,' \
	"$(initial_response | cut -c 1-3)"

mkconf auto-clearplain "port $(server_port clearplain)" 'tls off' 'user bob' \
	"password $PW"
refused 'auto over plain SMTP, only PLAIN offered' clearplain \
	auto-clearplain 78 'allow_plaintext_auth'
t_unlike 'auto over plain SMTP, only PLAIN: no AUTH sent' "$T/since.log" \
	' C: [Aa][Uu][Tt][Hh]'
t_absent 'auto over plain SMTP, only PLAIN: no password sent' \
	"$T/since.log" "$T/pw.needles"

# ------------------------------------------------------ wrong secrets ---

for m in plain login cram-md5 scram-sha-1 scram-sha-256 scram-sha-256-plus; do
	if [ "$m" = scram-sha-256-plus ] && [ "$HAVE_EXPORTER" = no ]; then
		t_skip "auth $m, wrong password" 'smtpd.py has no tls-exporter'
		continue
	fi
	tlsconf "wrong-$m" all "auth $m" 'user bob' "password $WRONG_PW"
	refused "auth $m, wrong password" all "wrong-$m" 77 \
		'535 5\.7\.8 Authentication credentials invalid'
	t_unlike "auth $m, wrong password: no MAIL" "$T/since.log" ' C: MAIL'
done

for m in xoauth2 oauthbearer; do
	tlsconf "wrong-$m" all "auth $m" 'user bob' \
		"passwordeval cat $T/wrong-token"
	case $m in
	xoauth2) reply='Username and Password not accepted' ;;
	*) reply='Authentication credentials invalid' ;;
	esac
	refused "auth $m, wrong token" all "wrong-$m" 77 "535 5\.7\.8 $reply"
	t_unlike "auth $m, wrong token: no MAIL" "$T/since.log" ' C: MAIL'
done

# --------------------------------------- a wrong SCRAM server signature ---

for m in scram-sha-1 scram-sha-256 scram-sha-256-plus auto; do
	if [ "$m" = auto ]; then
		line='auth on'
		want=SCRAM-SHA-256-PLUS
	else
		line="auth $m"
		want=$(upper "$m")
	fi
	if [ "$want" = SCRAM-SHA-256-PLUS ] && [ "$HAVE_EXPORTER" = no ]; then
		t_skip "bad server signature, $m" 'smtpd.py has no tls-exporter'
		continue
	fi
	tlsconf "badsig-$m" badsig "$line" 'user bob' "password $PW"
	refused "bad server signature, $m" badsig "badsig-$m" 77 '[Ss]ignature'
	t_like "bad server signature, $m: $want tried" "$T/since.log" \
		" C: AUTH $want "
	t_like "bad server signature, $m: the exchange was cancelled with *" \
		"$T/since.log" '^[0-9]+ C: \*$'
	t_unlike "bad server signature, $m: no MAIL FROM" "$T/since.log" \
		' C: MAIL'
	t_absent "bad server signature, $m: the password never reached the server" \
		"$T/since.log" "$T/pw.needles"
done

# ------------------------------------------------- EXTERNAL without TLS ---

mkconf external-clear "port $(server_port clear)" 'tls off' 'auth external' \
	"tls_cert_file $CLIENT_CERT" "tls_key_file $CLIENT_KEY"
refused 'auth external without TLS' clear external-clear 78 'TLS|tls'
t_unlike 'auth external without TLS: no AUTH sent' "$T/since.log" \
	' C: [Aa][Uu][Tt][Hh]'

done_testing
