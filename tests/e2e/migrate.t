#!/bin/sh
# migrate.t - an msmtprc with msmtp's obsolete keywords works unchanged:
# "auto_from on" with "maildomain" sends as login@maildomain (what
# "from %U@maildomain" says today), "tls_nocertcheck" turns the
# certificate check off and "tls_nostarttls" means implicit TLS, each
# checked by a real delivery; each such line gets one warning naming
# file:line and what to write instead, said to a person (a terminal, -v,
# --pretend) and never to cron.  LMTP is refused in one line pointing at
# the migration page.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

server_start st --mode starttls --cert "$CERT" --key "$KEY" --auth bob:secret ||
	bail "server did not start"
ST=$(server_port st)
server_start imp --mode tls --cert "$CERT" --key "$KEY" --auth bob:secret ||
	bail "server did not start"
IMP=$(server_port imp)
LOGIN=$(id -un)

printf 'To: alice@example.net\nSubject: old msmtprc\n\nbody\n' >"$T/msg"

# As msmtp 1.8.7 users wrote it: the domain in defaults, auto_from in the
# account; the server's certificate is from a CA nobody trusts here.
write_config "$HOME/.msmtprc" <<EOC
defaults
maildomain example.org
tls_trust_file $OTHER_CA
tls_nocertcheck

account old
host 127.0.0.1
port $ST
auth on
user bob
password secret
auto_from on

account implicit : old
port $IMP
tls_nostarttls

account default : old
EOC

n=0
t_exit "auto_from and tls_nocertcheck: delivered" 0 "$OUTBOX" alice@example.net <"$T/msg"
n=$((n + 1))
wait_messages st "$n" || diag "message $n did not arrive"
t_is "auto_from on + maildomain: the envelope sender is login@maildomain" \
	"$LOGIN@example.org" "$(env_field st "$n" mail_from)"
t_unlike "no terminal, no -v: no warning about the old keywords (cron)" "$ERR" 'obsolete'

t_exit "-v: delivered" 0 "$OUTBOX" -v alice@example.net <"$T/msg"
n=$((n + 1))
wait_messages st "$n" || diag "message $n did not arrive"
t_like "-v: tls_nocertcheck is named with file:line and its replacement" "$ERR" \
	"^outbox: warning: $HOME/.msmtprc:4: tls_nocertcheck is obsolete; write 'tls_certcheck off' instead\$"
t_like "-v: auto_from is named with file:line and its replacement" "$ERR" \
	"^outbox: warning: $HOME/.msmtprc:12: auto_from is obsolete; write 'from %U@example.org' instead\$"
t_like "-v: maildomain is named with file:line and its replacement" "$ERR" \
	"^outbox: warning: $HOME/.msmtprc:2: maildomain is obsolete; write 'from %U@example.org' instead\$"
t_is "-v: one warning for each obsolete line of the file" 4 "$(grep -c 'obsolete' "$ERR")"

run_tty "$OUTBOX" -a implicit alice@example.net <"$T/msg"
t_is "tls_nostarttls: delivered over implicit TLS" 0 "$status"
wait_messages imp 1 || diag "the implicit TLS server got nothing"
t_is "tls_nostarttls: the implicit TLS server has the message" 1 "$(msg_count imp)"
t_like "at a terminal: tls_nostarttls is named with its replacement" "$ERR" \
	"$HOME/.msmtprc:16: tls_nostarttls is obsolete; write 'tls_starttls off' instead"

t_exit "--pretend" 0 "$OUTBOX" --pretend
t_like "--pretend: from is login@maildomain, set by the auto_from line" "$OUT" \
	"^from += $LOGIN@example.org  \\($HOME/.msmtprc:12\\)"
t_like "--pretend: tls_certcheck is off, set by the tls_nocertcheck line" "$OUT" \
	"^tls_certcheck += off  \\($HOME/.msmtprc:4\\)"
t_like "--pretend: the warnings too" "$ERR" 'auto_from is obsolete'

# auto_from without maildomain: the login name alone (msmtp did so too).
write_config "$T/nodomain" <<EOC
account default
host 127.0.0.1
port $ST
tls_trust_file $CA
auth on
user bob
password secret
from ignored@example.org
auto_from
EOC
t_exit "auto_from without maildomain: --pretend" 0 "$OUTBOX" -C "$T/nodomain" --pretend
t_like "auto_from beats from, as in msmtp, and has no domain" "$OUT" "^from += $LOGIN  "
t_like "the warning says what to write" "$ERR" "auto_from is obsolete; write 'from %U' instead"

# Mistakes in the old keywords are errors like any other.
write_config "$T/badarg" <<EOC
account default
host 127.0.0.1
tls_nocertcheck yes
EOC
t_exit "tls_nocertcheck with an argument: 78" 78 "$OUTBOX" -C "$T/badarg" alice@example.net <"$T/msg"
t_like "... says what to write" "$ERR" "$T/badarg:3: tls_nocertcheck takes no argument; write 'tls_certcheck off' instead"

# LMTP is not supported: one line that points at the migration page.
write_config "$T/lmtp" <<EOC
account default
host 127.0.0.1
port 24
protocol lmtp
EOC
t_exit "protocol lmtp: 78" 78 "$OUTBOX" -C "$T/lmtp" alice@example.net <"$T/msg"
t_like "protocol lmtp: not supported, see the migration page" "$ERR" \
	'protocol lmtp is not supported.*migrating-from-msmtp'
t_is "protocol lmtp: one line" 1 "$(wc -l <"$ERR" | tr -d ' ')"

done_testing
