#!/bin/sh
# cli.t - the command line as a user meets it: names (sendmail, mailq,
# newaliases), --version, --help, --pretend, and a clear one-line error with
# the documented exit status for every kind of bad invocation.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
e2e_setup
plan_lazy

mkdir -p "$T/bin"
for name in sendmail mailq newaliases; do
	ln -s "$OUTBOX" "$T/bin/$name"
done

t_exit "--version" 0 "$OUTBOX" --version
t_like "--version names outbox and GnuTLS" "$OUT" '^outbox [0-9]'
t_like "--version names the TLS library" "$OUT" 'GnuTLS'
t_like "--version without a configuration: none found" "$OUT" '^configuration files: none found$'
t_like "--version names the queue directory" "$OUT" \
	"^queue directory: ${XDG_STATE_HOME:-$HOME/.local/state}/outbox/queue\$"
write_config "$T/vconf" <<EOC
account default
host smtp.example.org
queue_dir $T/vqueue
EOC
t_exit "--version -C FILE" 0 "$OUTBOX" -C "$T/vconf" --version
t_like "--version names the configuration file it would read" "$OUT" \
	"^configuration files: ([^ ]*/outbox.conf, )?$T/vconf\$"
t_like "--version names the account's queue_dir" "$OUT" "^queue directory: $T/vqueue\$"
t_ok "--version does not make the queue directory" test ! -e "$T/vqueue"
t_exit "--help" 0 "$OUTBOX" --help
t_like "--help points to the man pages" "$OUT" 'man outbox'

t_exit "newaliases does nothing" 0 "$T/bin/newaliases"
t_exit "mailq lists the queue" 0 "$T/bin/mailq"
t_like "mailq: empty queue" "$OUT" 'queue is empty'
t_exit "-bp lists the queue" 0 "$T/bin/sendmail" -bp
t_like "-bp: empty queue" "$OUT" 'queue is empty'
t_exit "-bi is newaliases" 0 "$T/bin/sendmail" -bi

# Errors: exit 64, one line, naming what is wrong.
one_line() {
	t_is "$1: one line on stderr" 1 "$(wc -l <"$ERR" | tr -d ' ')"
}
t_exit "unknown flag: 64" 64 "$T/bin/sendmail" -Y a@example.net </dev/null
t_like "unknown flag named" "$ERR" '^sendmail: unknown option -Y'
one_line "unknown flag"
t_exit "unknown long option: 64" 64 "$OUTBOX" --no-such-thing </dev/null
t_like "unknown long option named" "$ERR" -- '--no-such-thing'
t_exit "misspelt long option: 64" 64 "$OUTBOX" --hots=mx.example a@example.net </dev/null
t_like "misspelt long option: the nearest one is suggested" "$ERR" \
	'unknown option --hots=mx.example \(did you mean --host\?\)'
one_line "misspelt long option"
t_exit "-a with --host: 64" 64 "$OUTBOX" -a work --host=mx.example a@example.net </dev/null
t_like "-a with --host: says why" "$ERR" '^outbox: -a work cannot be used with --host'
one_line "-a with --host"
t_exit "missing value: 64" 64 "$OUTBOX" -f </dev/null
t_like "missing value named" "$ERR" 'option -f needs a value'
t_exit "--password is not an option" 64 "$OUTBOX" --password=x a@example.net </dev/null
t_exit "-q with an empty queue and no configuration: 0" 0 "$OUTBOX" -q
t_exit "-odq without an account: 78" 78 "$OUTBOX" -odq a@example.net </dev/null
t_exit "-bs with no input: 0" 0 "$OUTBOX" -bs </dev/null
t_like "-bs greets" "$OUT" "^220 .* outbox ESMTP"
t_exit "bad -N: 64" 64 "$OUTBOX" -N sometimes a@example.net </dev/null
t_exit "daemon mode refused: 64" 64 "$OUTBOX" -bd </dev/null

# No configuration at all: a configuration error naming every file looked
# for, in order, and where to start.
t_exit "no account: 78" 78 "$OUTBOX" a@example.net </dev/null
t_like "no account: says how to fix it" "$ERR" 'account'
cfg=${XDG_CONFIG_HOME:-$HOME/.config}
t_like "no configuration: every file looked for, in order" "$ERR" \
	"looked for [^ ]*/outbox.conf, $cfg/outbox/config, $HOME/.outboxrc, $HOME/.msmtprc, $cfg/msmtp/config, /etc/msmtprc\\)"
t_like "no configuration: where to start" "$ERR" \
	'start from an example in [^ ]*/examples or, coming from msmtp, read [^ ]*/migrating-from-msmtp.md$'
one_line "no account"
t_exit "no configuration, -a work: 78" 78 "$OUTBOX" -a work a@example.net </dev/null
t_like "no configuration, -a work: the same error" "$ERR" 'no configuration file found'
t_exit "missing -C file: 78" 78 "$OUTBOX" -C "$T/nope" a@example.net </dev/null
t_like "missing -C file named" "$ERR" "$T/nope"

# --pretend shows the resolved account with the password masked.
write_config "$T/conf" <<EOC
account work
host smtp.example.org
user me
password hunter2
from me@example.org

account default : work
EOC
t_exit "--pretend" 0 "$OUTBOX" -C "$T/conf" --pretend
t_like "--pretend shows the account" "$OUT" 'account: default'
t_like "--pretend shows the host" "$OUT" 'host += smtp.example.org'
t_like "--pretend shows the default port" "$OUT" 'port += 587'
t_like "--pretend masks the password" "$OUT" 'password += \*\*\*\*\*\*\*\*'
t_unlike "--pretend never prints the password" "$OUT" 'hunter2'
t_exit "--pretend -a work --port=2525" 0 "$OUTBOX" -C "$T/conf" -a work --port=2525 --pretend
t_like "command-line keyword override shown" "$OUT" 'port += 2525 .*command line'
t_exit "--pretend with an unknown account: 78" 78 "$OUTBOX" -C "$T/conf" -a nosuch --pretend
t_like "unknown account named" "$ERR" 'nosuch'
t_exit "--host ignores the configuration" 0 "$OUTBOX" -C "$T/conf" --host=mx.example.net --pretend
t_like "--host account" "$OUT" 'host += mx.example.net'
t_unlike "--host: no user from the file" "$OUT" 'user += me'
t_exit "bad --port value: 78" 78 "$OUTBOX" -C "$T/conf" --port=99999 --pretend
t_like "bad port named" "$ERR" 'port'

done_testing
