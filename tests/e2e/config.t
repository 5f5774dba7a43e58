#!/bin/sh
# config.t - an existing msmtp configuration works unchanged: msmtp's file
# locations as the fallback, and the keywords msmtp users rely on (host,
# port, tls, tls_starttls, tls_trust_file, auth, user, password,
# passwordeval, from, domain, timeout, logfile, aliases, set_*_header,
# remove_bcc_headers, dsn_*), with file:line errors and the permission
# check for files that hold a password.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

server_start srv --mode starttls --cert "$CERT" --key "$KEY" --auth bob:secret --dsn ||
	bail "server did not start"
PORT=$(server_port srv)
server_start tls --mode tls --cert "$CERT" --key "$KEY" --auth bob:secret ||
	bail "server did not start"
TLSPORT=$(server_port tls)

printf 'To: alice@example.net\nBcc: b@example.net\nSubject: cfg\n\nbody\n' >"$T/msg"

# An msmtprc as msmtp users write it, in ~/.msmtprc, with no outbox file.
write_config "$HOME/.msmtprc" <<EOC
# msmtp configuration
defaults
auth           on
tls            on
tls_trust_file $CA
logfile        $T/msmtp.log

account        submission
host           127.0.0.1
port           $PORT
tls_starttls   on
from           bob@example.org
user           bob
passwordeval   "printf secret"
domain         client.example.org
timeout        30
set_date_header auto
set_msgid_header auto
remove_bcc_headers on
dsn_notify     failure
dsn_return     headers

account        implicit : submission
host           127.0.0.1
port           $TLSPORT
tls_starttls   off
from           *@implicit.example.org
password       secret

account default : submission
EOC

t_exit "~/.msmtprc is used when outbox has no file" 0 "$OUTBOX" -v alice@example.net <"$T/msg"
t_like "-v says msmtp's file was read" "$ERR" 'msmtp'
wait_messages srv 1
t_is "STARTTLS account delivered with auth" "bob" "$(env_field srv 1 auth)"
t_is "domain is the EHLO name" "client.example.org" "$(env_field srv 1 helo)"
t_like "dsn_notify from the file" "$(server_dir srv)/msg-1.env" 'NOTIFY=FAILURE'
t_like "dsn_return from the file" "$(server_dir srv)/msg-1.env" 'RET=HDRS'
t_unlike "remove_bcc_headers on" "$(msg_file srv 1)" '^Bcc'
t_like "logfile from defaults" "$T/msmtp.log" 'host=127.0.0.1 tls=on auth=on user=bob from=bob@example.org recipients=alice@example.net .*exitcode=EX_OK'

t_exit "-f selects the account by a from glob" 0 "$OUTBOX" -f me@implicit.example.org alice@example.net <"$T/msg"
wait_messages tls 1
t_is "implicit TLS account got it" "me@implicit.example.org" "$(env_field tls 1 mail_from)"
t_is "implicit TLS session" "true" "$(env_field tls 1 tls)"

t_exit "-a picks the account" 0 "$OUTBOX" -a implicit alice@example.net <"$T/msg"
wait_messages tls 2
t_is "-a implicit delivered there" "2" "$(msg_count tls)"

# An outbox file takes precedence over msmtp's.
write_config "$XDG_CONFIG_HOME/outbox/config" <<EOC
account default
host 127.0.0.1
port $PORT
tls_trust_file $CA
user bob
password secret
from outbox@example.org
remove_bcc_headers off
set_date_header off
set_msgid_header off
set_from_header off
EOC
t_exit "outbox's own file wins" 0 "$OUTBOX" alice@example.net <"$T/msg"
wait_messages srv 2
t_is "outbox file's sender" "outbox@example.org" "$(env_field srv 2 mail_from)"
t_like "remove_bcc_headers off keeps Bcc" "$(msg_file srv 2)" '^Bcc: b@example.net'
t_unlike "set_date_header off" "$(msg_file srv 2)" '^Date:'
t_unlike "set_msgid_header off" "$(msg_file srv 2)" '^Message-ID:'
t_unlike "set_from_header off" "$(msg_file srv 2)" '^From:'

# No line-length limit: a 10 KB password line (OAuth tokens are long).
long=$(head -c 7500 /dev/zero | tr '\0' 'x')
write_config "$T/long" <<EOC
account default
host 127.0.0.1
port $PORT
tls_trust_file $CA
user bob
password $long
from bob@example.org
hold_on_account_error off
EOC
t_exit "a 7500-character password line parses" 0 "$OUTBOX" -C "$T/long" --pretend
t_like "the line after it is read too" "$OUT" 'from += bob@example.org'
t_exit "the long password goes to the server (which refuses it): 77" 77 "$OUTBOX" -C "$T/long" alice@example.net <"$T/msg"
t_like "AUTH refusal reported with the server's words" "$ERR" 'AUTH failed: the server said: 5[0-9][0-9] '

# Errors carry file:line.
write_config "$T/bad" <<EOC
account default
host 127.0.0.1
port seventy
EOC
t_exit "bad value: 78" 78 "$OUTBOX" -C "$T/bad" alice@example.net <"$T/msg"
t_like "error names file and line" "$ERR" "$T/bad:3"
write_config "$T/unknown" <<EOC
account default
hots 127.0.0.1
EOC
t_exit "unknown keyword: 78" 78 "$OUTBOX" -C "$T/unknown" alice@example.net <"$T/msg"
t_like "unknown keyword named with file:line" "$ERR" "$T/unknown:2: .*hots"
t_like "unknown keyword: the nearest one is suggested" "$ERR" "hots' \\(did you mean host\\?\\)"
write_config "$T/misspelt" <<EOC
account work
host 127.0.0.1
tls_starttls of
EOC
t_exit "misspelt value: 78" 78 "$OUTBOX" -C "$T/misspelt" alice@example.net <"$T/msg"
t_like "misspelt value: the nearest word is suggested" "$ERR" \
	"$T/misspelt:3: .*'of' .*\\(did you mean off\\?\\)"
write_config "$T/parent" <<EOC
account work
host 127.0.0.1
account default : wrok
EOC
t_exit "misspelt parent account: 78" 78 "$OUTBOX" -C "$T/parent" alice@example.net <"$T/msg"
t_like "misspelt parent account: the nearest account is suggested" "$ERR" \
	"$T/parent:3: account wrok .*\\(did you mean work\\?\\)"
write_config "$T/accounts" <<EOC
account work
host 127.0.0.1
EOC
t_exit "misspelt -a: 78" 78 "$OUTBOX" -C "$T/accounts" -a wokr alice@example.net <"$T/msg"
t_like "misspelt -a: the nearest account is suggested" "$ERR" \
	"account wokr is not defined .*\\(did you mean work\\?\\)"
t_exit "misspelt --account: 78" 78 "$OUTBOX" -C "$T/accounts" --account=Work alice@example.net <"$T/msg"
t_like "misspelt --account: the nearest account is suggested" "$ERR" "\\(did you mean work\\?\\)"
t_exit "nothing near: 78" 78 "$OUTBOX" -C "$T/accounts" -a submission alice@example.net <"$T/msg"
t_unlike "nothing near: nothing suggested" "$ERR" "did you mean"

# A file holding a password must not be readable by others.
write_config "$T/open" <<EOC
account default
host 127.0.0.1
password secret
EOC
chmod 644 "$T/open"
t_exit "world-readable file with a password: 78" 78 "$OUTBOX" -C "$T/open" alice@example.net <"$T/msg"
t_like "the error gives the chmod to run" "$ERR" "chmod 600 $T/open"

done_testing
