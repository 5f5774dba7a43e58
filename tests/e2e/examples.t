#!/bin/sh
# examples.t - the example configurations of doc/examples/ are accepted as
# they are: outbox --pretend reads each (copied with mode 0600, as a user
# would install it) and shows the host, port, TLS and authentication the
# file means; -a picks each account of a file with several, -f picks an
# account by its from pattern, and the OAuth2 examples use the built-in
# OAuth2 (their tokens in the keyring).  No connection is made.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_setup
require_outbox
plan_lazy
EX=$E2E_TOP/doc/examples

# ere TEXT: TEXT with the characters special in an ERE escaped.
ere() {
	# shellcheck disable=SC2016
	printf '%s' "$1" | sed 's/[][\.*^$()+?{}|]/\\&/g'
}

# pretend FILE ACCOUNT ARGS [KEY=VALUE...]: --pretend with -C FILE and the
# (space-separated) ARGS exits 0, uses ACCOUNT, and shows each KEY with
# VALUE.
pretend() {
	_p_file=$1
	_p_account=$2
	_p_args=$3
	shift 3
	# shellcheck disable=SC2086
	t_exit "$_p_file${_p_args:+ $_p_args}: --pretend accepts it" 0 \
		"$OUTBOX" -C "$T/$_p_file" --pretend $_p_args
	cp "$OUT" "$T/pretend.out"
	t_like "$_p_file${_p_args:+ $_p_args}: uses account $_p_account" \
		"$T/pretend.out" "^account: $(ere "$_p_account")\$"
	for _p_kv in "$@"; do
		t_like "$_p_file${_p_args:+ $_p_args}: ${_p_kv%%=*} is ${_p_kv#*=}" \
			"$T/pretend.out" \
			"^$(ere "${_p_kv%%=*}") += $(ere "${_p_kv#*=}")  \\("
	done
}

# Every example is there, copied as a user installs it.
for f in gmail-app-password.conf gmail-oauth2.conf microsoft365-oauth2.conf \
	fastmail.conf cron-smarthost.conf; do
	if [ -f "$EX/$f" ]; then
		t_pass "doc/examples/$f exists"
	else
		t_fail "doc/examples/$f exists"
	fi
done
for path in "$EX"/*.conf; do
	f=${path##*/}
	(umask 077 && cp "$path" "$T/$f") || bail "cannot copy $path"
	t_exit "$f: --pretend accepts it as it is" 0 "$OUTBOX" -C "$T/$f" --pretend
done

pretend gmail-app-password.conf default "" \
	host=smtp.gmail.com port=587 tls=on tls_starttls=on auth=on \
	user=jane.doe@gmail.com from=jane.doe@gmail.com password="(not set)" \
	passwordeval="(not set)" logfile="$HOME/.local/state/outbox/log"
pretend gmail-app-password.conf gmail "-a gmail" \
	host=smtp.gmail.com port=587 auth=on

pretend gmail-oauth2.conf gmail "-a gmail" \
	host=smtp.gmail.com port=587 tls=on tls_starttls=on auth=xoauth2 \
	user=jane.doe@gmail.com oauth2_provider=google \
	oauth2_client_id=1234567890-abc.apps.googleusercontent.com \
	oauth2_client_secret="********" passwordeval="(not set)"

pretend microsoft365-oauth2.conf m365 "-a m365" \
	host=smtp.office365.com port=587 tls=on tls_starttls=on auth=xoauth2 \
	user=jane@example.com from=jane@example.com oauth2_provider=microsoft \
	oauth2_tenant=11111111-2222-3333-4444-555555555555 \
	oauth2_client_id=00000000-0000-0000-0000-000000000000

# No D-Bus session here: the built-in OAuth2 says where its tokens live
# and what to do without a keyring.
for f in gmail-oauth2.conf microsoft365-oauth2.conf; do
	run "$OUTBOX" -C "$T/$f" --password-source
	t_like "$f: --password-source names the keyring item" "$ERR" 'service=oauth2'
	t_like "$f: and the way without a keyring" "$ERR" 'OAuth2 helper with passwordeval'
done

pretend fastmail.conf default "" \
	host=smtp.fastmail.com port=587 tls=on tls_starttls=on auth=on \
	user=jane@fastmail.com from=jane@fastmail.com
pretend fastmail.conf fastmail "-a fastmail" \
	host=smtp.fastmail.com port=587 auth=on user=jane@fastmail.com \
	from=jane@fastmail.com from_full_name="Jane Doe"
pretend fastmail.conf example-net "-a example-net" \
	host=smtp.fastmail.com port=587 auth=on user=jane@fastmail.com \
	from="*@example.net" from_full_name="Jane Doe"
pretend fastmail.conf example-net "-f jane@example.net" \
	host=smtp.fastmail.com user=jane@fastmail.com
pretend fastmail.conf fastmail "-f jane@fastmail.com" \
	from=jane@fastmail.com

pretend cron-smarthost.conf default "" \
	host=relay.example.com port=465 tls=on tls_starttls=off auth=on \
	user=alerts@example.com from=alerts@example.com \
	passwordeval="cat /etc/outbox/relay.secret" \
	logfile=/var/log/outbox.log syslog=LOG_MAIL queue_max_age=2d \
	aliases=/etc/aliases set_from_header=on domain=server1.example.com
pretend cron-smarthost.conf smarthost "-a smarthost" \
	host=relay.example.com port=465 tls_starttls=off

done_testing
