#!/bin/sh
# oauth2.t - OAuth2 built in (issue 14), against tests/server/oauth2server.py
# (an authorization server on 127.0.0.1 over HTTPS with the test CA) and an
# SMTP server that accepts XOAUTH2 only with an access token that server
# issued and that has not expired (it asks the server's /introspect).
#
# --authorize with the browser (authorization code + PKCE: a fake xdg-open
# plays the browser and follows the redirect to outbox's loopback
# listener) and with the device grant (the test approves the code; the
# server answers slow_down once); a send; an expired token refreshed once
# with rotation; a flush of several messages refreshing once; two
# concurrent refreshes; a revoked token -> held -> re-authorize -> -q; the
# server's XOAUTH2 error challenge explained; Microsoft's "SMTP AUTH
# disabled" named; the token endpoint down -> queued; an expired device
# code.  Tokens never show in transcripts, argv or --password-source.
#
# Runs inside its own session bus with gnome-keyring-daemon, like
# keyring.t.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
keyring_session
e2e_setup
e2e_certs
plan_lazy
keyring_start

# ------------------------------------------------------------ servers ---
OAUTH2_PY=$E2E_TOP/tests/server/oauth2server.py
USER_ADDR=jane@example.org
auth_start() {
	_e2e_script=$OAUTH2_PY server_start auth --cert "$CERT" --key "$KEY" \
		--user "$USER_ADDR" --refresh-delay 0.5 "$@" || bail "oauth2server did not start"
	AUTH=https://127.0.0.1:$(server_port auth)
}
auth_start --slow-down 1
server_start srv --mode starttls --cert "$CERT" --key "$KEY" \
	--oauth-introspect "$AUTH/introspect" --oauth-ca "$CA" --auth-mech XOAUTH2,OAUTHBEARER || bail "smtpd did not start"
PORT=$(server_port srv)
MS_REPLY='535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.'
server_start ms --mode starttls --cert "$CERT" --key "$KEY" \
	--oauth-introspect "$AUTH/introspect" --oauth-ca "$CA" --auth-mech XOAUTH2 --fault "auth:$MS_REPLY" ||
	bail "smtpd did not start"

# get PATH: what the test server says (its test-only GET endpoints).
get() {
	"$E2E_PY" -c 'import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[1])
print(urllib.request.urlopen(sys.argv[2], context=ctx).read().decode())' "$CA" "$AUTH$1"
}
refreshes() {
	get /stats | sed 's/.*"refresh": \([0-9]*\).*/\1/'
}

write_config "$XDG_CONFIG_HOME/outbox/config" <<EOC
defaults
tls_trust_file $CA
timeout 10
auth xoauth2
user $USER_ADDR
from $USER_ADDR
oauth2_provider custom
oauth2_client_id outbox-test-client
oauth2_scope smtp offline_access
oauth2_tls_trust_file $CA
oauth2_authorize_url $AUTH/authorize
oauth2_token_url $AUTH/token

account default
host 127.0.0.1
port $PORT

account dev : default
oauth2_device_url $AUTH/device

account ms : default
port $(server_port ms)

account bearer : default
auth oauthbearer
EOC

# item: the keyring item's text, outbox's own item when the test's
# secret-tool store left another one beside it.
item() {
	secret-tool search --all host 127.0.0.1 service oauth2 user "$USER_ADDR" 2>/dev/null |
		awk 'function emit() { if (schema == "org.outbox.Password") ours = sec; else other = sec }
		/^\[\/.*\]$/ { if (inb) emit(); inb = 1; sec = ""; insec = 0; schema = ""; next }
		/^secret = / { sec = substr($0, 10); insec = 1; next }
		/^created = / { insec = 0; next }
		insec { sec = sec "\n" $0; next }
		/^schema = / { schema = substr($0, 10) }
		END { if (inb) emit(); print (ours != "" ? ours : other) }'
}
field() {
	item | sed -n "s/^$1 //p"
}
# expire_cache: the cached access token's time has passed, as an hour
# later (the item is stored again with expires_at in the past).
expire_cache() {
	item | sed 's/^expires_at .*/expires_at 1000/' >"$T/item"
	secret-tool clear host 127.0.0.1 service oauth2 user "$USER_ADDR"
	secret-tool store --label=test host 127.0.0.1 service oauth2 user "$USER_ADDR" <"$T/item"
}
printf 'Subject: oauth2\n\nbody\n' >"$T/msg"
n=0

# sent DESC: one message delivered, authenticated as jane, and neither the
# access nor the refresh token in the -v transcript.
sent() {
	t_exit "$1: exit 0" 0 "$OUTBOX" -v bob@example.net <"$T/msg"
	n=$((n + 1))
	wait_messages srv "$n" 5 || diag "message $n did not arrive"
	t_is "$1: authenticated as $USER_ADDR" "$USER_ADDR" "$(env_field srv "$n" auth)"
	no_tokens "$1"
}
no_tokens() {
	cat "$OUT" "$ERR" >"$T/transcript"
	for _tok in $(field access_token) $(field refresh_token); do
		t_unlike "$1: no token in the output" "$T/transcript" "$_tok"
	done
}

# ------------------------------------------- authorize with a browser ---
t_exit "send before --authorize (queue off): exit 77" 77 "$OUTBOX" --queue=off bob@example.net <"$T/msg"
t_like "... says to run --authorize" "$ERR" \
	"no OAuth2 token in the keyring \\(host=127.0.0.1 service=oauth2 user=$USER_ADDR\\); run 'outbox -a default --authorize'"

mkdir "$T/bin"
cat >"$T/bin/xdg-open" <<EOS
#!/bin/sh
printf '%s\n' "\$*" >"$T/xdg-open.args"
exec "$E2E_PY" "$OAUTH2_PY" --browse "\$1" --ca "$CA" >"$T/browser.out" 2>&1
EOS
chmod +x "$T/bin/xdg-open"
t_exit "--authorize (browser, PKCE): exit 0" 0 \
	env DISPLAY=:99 PATH="$T/bin:$PATH" "$OUTBOX" --authorize
t_like "... says it is authorized" "$OUT" "authorized: the OAuth2 tokens for $USER_ADDR at 127.0.0.1"
t_like "... printed the sign-in URL" "$ERR" "sign in at: $AUTH/authorize\\?response_type=code"
t_like "... xdg-open got the URL with an S256 challenge" "$T/xdg-open.args" \
	"code_challenge_method=S256.*redirect_uri=|redirect_uri=.*code_challenge_method=S256"
t_like "... the browser got outbox's page" "$T/browser.out" "signed in"
item >"$T/item.now"
t_like "... the keyring item has a refresh token" "$T/item.now" "^refresh_token rt-"
t_like "... and an access token" "$T/item.now" "^access_token at-"

sent "send with the cached token"
t_is "... no refresh was needed" 0 "$(refreshes)"
t_exit "auth oauthbearer, the same token: exit 0" 0 "$OUTBOX" -a bearer -v bob@example.net <"$T/msg"
n=$((n + 1))
wait_messages srv "$n" 5 || diag "the OAUTHBEARER message did not arrive"
t_is "... authenticated as $USER_ADDR" "$USER_ADDR" "$(env_field srv "$n" auth)"
t_like "... with OAUTHBEARER" "$ERR" '^--> AUTH OAUTHBEARER <redacted>'
no_tokens "auth oauthbearer"
t_exit "--password-source: exit 0" 0 "$OUTBOX" --password-source
t_like "... names the keyring item and the expiry" "$OUT" \
	"token: OAuth2 \\(custom, $AUTH/token\\), keyring item host=127.0.0.1 service=oauth2 user=$USER_ADDR; the access token expires in [0-9]+ min"
no_tokens "--password-source"

# ------------------------------------------------ expiry and refresh ---
old_rt=$(field refresh_token)
expire_cache
get /expire >/dev/null
sent "expired token: refreshed"
t_is "... one refresh" 1 "$(refreshes)"
item >"$T/item.now"
t_like "... the new refresh token was saved" "$T/item.now" "^refresh_token rt-"
t_unlike "... the refresh token was rotated" "$T/item.now" "$old_rt"

expire_cache
get /expire >/dev/null
for i in 1 2 3; do "$OUTBOX" -odq bob@example.net <"$T/msg"; done
t_exit "a flush of 3 messages: exit 0" 0 "$OUTBOX" -q
n=$((n + 3))
wait_messages srv "$n" 5 || diag "the flushed messages did not arrive"
t_is "... all delivered" "$n" "$(msg_count srv)"
t_is "... one refresh for the flush" 2 "$(refreshes)"

expire_cache
get /expire >/dev/null
"$OUTBOX" bob@example.net <"$T/msg" >"$T/c1.out" 2>&1 &
p1=$!
"$OUTBOX" bob@example.net <"$T/msg" >"$T/c2.out" 2>&1 &
p2=$!
wait "$p1"
s1=$?
wait "$p2"
s2=$?
t_is "two concurrent sends with an expired token: both exit 0" "0 0" "$s1 $s2"
n=$((n + 2))
wait_messages srv "$n" 5 || diag "the concurrent messages did not arrive"
t_is "... both delivered" "$n" "$(msg_count srv)"
t_is "... one refresh between them" 3 "$(refreshes)"
t_is "... the newest refresh token is kept (one valid)" '1' \
	"$(get /stats | sed 's/.*"refresh_tokens": \([0-9]*\).*/\1/')"
sent "after the concurrent refresh, the kept token works"

# ---------------------------------------------- XOAUTH2 error challenge ---
item | sed 's/^access_token .*/access_token at-forged/; s/^expires_at .*/expires_at 2000000000/' >"$T/item"
secret-tool clear host 127.0.0.1 service oauth2 user "$USER_ADDR"
secret-tool store --label=test host 127.0.0.1 service oauth2 user "$USER_ADDR" <"$T/item"
t_exit "a token the server refuses (queue off): exit 77" 77 "$OUTBOX" --queue=off bob@example.net <"$T/msg"
t_like "... the XOAUTH2 challenge explained" "$ERR" \
	"the server refused the OAuth2 token \\(401\\): it expired or was revoked"
expire_cache

# ------------------------------------------------ Microsoft SMTP AUTH off ---
t_exit "Microsoft's SMTP AUTH disabled (queue off): exit 77" 77 "$OUTBOX" -a ms --queue=off bob@example.net <"$T/msg"
t_like "... names the fix" "$ERR" \
	"Microsoft 365 has SMTP AUTH turned off.*Set-CASMailbox -SmtpClientAuthenticationDisabled"

# --------------------------------- revoked -> held -> device -> -q ---
get /revoke >/dev/null
expire_cache
t_exit "a revoked refresh token: held, exit 0" 0 "$OUTBOX" -v bob@example.net <"$T/msg"
t_like "... invalid_grant explained with the fix" "$ERR" \
	"refused the refresh token \\(invalid_grant.*run 'outbox -a default --authorize'"
t_like "... the held message says what to do" "$ERR" "held: .*run 'outbox -a default --authorize'.*'outbox -q'"
no_tokens "revoked"
"$OUTBOX" -bp >"$T/mailq" 2>&1
t_like "... the message waits in the queue" "$T/mailq" "held|Held|HELD"

"$OUTBOX" -a dev --authorize >"$T/dev.out" 2>"$T/dev.err" &
dpid=$!
i=0
until grep -q 'enter the code' "$T/dev.err" 2>/dev/null || [ "$i" -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
code=$(sed -n 's/.*enter the code \([0-9-]*\).*/\1/p' "$T/dev.err")
t_like "--authorize (device): shows the URL and the code" "$T/dev.err" \
	"open $AUTH/device-login and enter the code [0-9]{4}-[0-9]{4}"
sleep 1.5
get "/approve?user_code=$code" >/dev/null
wait "$dpid"
t_is "... exit 0 after approval (pending and slow_down polled through)" 0 "$?"
t_like "... authorized" "$T/dev.out" "authorized"
t_exit "-q after re-authorizing: exit 0" 0 "$OUTBOX" -q
wait_messages srv "$((n + 1))" 5 || diag "the held message did not go"
t_is "... the held message was delivered" "$((n + 1))" "$(msg_count srv)"
n=$((n + 1))

# ------------------------------------------------ token endpoint down ---
expire_cache
server_stop auth
t_exit "token endpoint down: exit 0" 0 "$OUTBOX" bob@example.net <"$T/msg"
"$OUTBOX" -bp >"$T/mailq" 2>&1
t_like "... the queue says the endpoint cannot be reached" "$T/mailq" \
	"the OAuth2 token endpoint cannot be reached"
t_unlike "... queued, not held" "$T/mailq" "held|Held|HELD"
t_is "... not delivered" "$n" "$(msg_count srv)"

# ------------------------------------------------- expired device code ---
auth_start --device-expires 2
sed "s|^oauth2_token_url .*|oauth2_token_url $AUTH/token|; s|^oauth2_device_url .*|oauth2_device_url $AUTH/device|" \
	"$XDG_CONFIG_HOME/outbox/config" >"$T/conf2"
write_config "$XDG_CONFIG_HOME/outbox/config" <"$T/conf2"
t_exit "a device code nobody enters: exit 77" 77 "$OUTBOX" -a dev --authorize
t_like "... says it expired" "$ERR" "the code expired before it was entered"
keyring_stop
done_testing
