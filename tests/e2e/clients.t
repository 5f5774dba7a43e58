#!/bin/sh
# clients.t - the exact argv and message shapes that real callers hand to
# sendmail (shared/PEERS.md): git send-email, mutt, bsd-mailx, Debian cron,
# busybox crond and PHP's mail().  Each asserts what the server stored.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

server_start srv --mode starttls --cert "$CERT" --key "$KEY" --auth bob:secret \
	--pipelining --dsn || bail "server did not start"

write_config "$XDG_CONFIG_HOME/outbox/config" <<EOC
account default
host 127.0.0.1
port $(server_port srv)
tls_trust_file $CA
user bob
password secret
from bob@example.org
EOC

# The binary under the names callers use.
mkdir -p "$T/bin"
ln -s "$OUTBOX" "$T/bin/sendmail"
SENDMAIL=$T/bin/sendmail

n=0
stored() {
	n=$((n + 1))
	wait_messages srv "$n" || diag "message $n did not arrive"
	M=$(msg_file srv "$n")
}
rcpts() {
	env_field srv "$n" rcpt_tos | tr '\n' ' ' | sed 's/ $//'
}

# git send-email: one process per patch, -i and the recipients.
for i in 1 2; do
	printf 'From: Dev <dev@example.org>\nTo: list@example.net\nCc: rev@example.net\nSubject: [PATCH %s/2] fix\nDate: Thu, 26 Nov 2026 10:00:0%s +0000\nMessage-ID: <p%s@example.org>\n\n---\n diff\n' "$i" "$i" "$i" >"$T/patch$i"
	t_exit "git send-email patch $i" 0 "$SENDMAIL" -i list@example.net rev@example.net <"$T/patch$i"
	stored
	t_is "git patch $i recipients" "list@example.net rev@example.net" "$(rcpts)"
	t_like "git patch $i subject" "$M" "^Subject: \\[PATCH $i/2\\]"
done
t_exit "git send-email --envelope-sender" 0 "$SENDMAIL" -f dev@example.org -i list@example.net <"$T/patch1"
stored
t_is "git envelope sender" "dev@example.org" "$(env_field srv "$n" mail_from)"

# mutt: -oem -oi -f from -- rcpt...; Bcc passed in argv and not in the message.
printf 'From: Me <me@example.org>\nTo: a@example.net\nCc: c@example.net\nSubject: mutt\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGr\303\274\303\237e\n' >"$T/mutt"
t_exit "mutt default argv" 0 "$SENDMAIL" -oem -oi -f me@example.org -- a@example.net c@example.net secret-bcc@example.net <"$T/mutt"
stored
t_is "mutt recipients, Bcc from argv" "a@example.net c@example.net secret-bcc@example.net" "$(rcpts)"
t_is "mutt envelope sender" "me@example.org" "$(env_field srv "$n" mail_from)"
t_unlike "mutt Bcc not in the message" "$M" 'secret-bcc'
t_exit "mutt with use_8bitmime and DSN" 0 "$SENDMAIL" -B8BITMIME -oem -oi -N failure,delay -R hdrs -f me@example.org -- a@example.net <"$T/mutt"
stored
t_like "mutt 8BITMIME" "$(server_dir srv)/msg-$n.env" 'BODY=8BITMIME'
t_like "mutt DSN NOTIFY" "$(server_dir srv)/msg-$n.env" 'NOTIFY=FAILURE,DELAY'

# bsd-mailx: -i -t with the Bcc header INSIDE the message.
printf 'To: a@example.net\nBcc: blind@example.net\nSubject: mailx\n\nhello\n' >"$T/mailx"
t_exit "bsd-mailx -i -t" 0 "$SENDMAIL" -i -t <"$T/mailx"
stored
t_is "mailx recipients include the Bcc" "a@example.net blind@example.net" "$(rcpts)"
t_unlike "mailx Bcc header stripped" "$M" '^Bcc|blind'
t_exit "bsd-mailx -r" 0 "$SENDMAIL" -i -t -f other@example.org <"$T/mailx"
stored
t_is "mailx -r sender" "other@example.org" "$(env_field srv "$n" mail_from)"

# Debian cron: unqualified From header, -FCronDaemon, recipient the user.
printf 'From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@host> run-parts /etc/cron.hourly\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\n\njob output\n' >"$T/cron"
t_exit "Debian cron argv" 0 "$SENDMAIL" -FCronDaemon -i -B8BITMIME -oem root <"$T/cron"
stored
t_is "cron recipient qualified with the sender domain" "root@example.org" "$(rcpts)"
t_like "cron's From kept" "$M" '^From: root \(Cron Daemon\)'
t_like "cron job output delivered" "$M" '^job output'

# busybox crond: -ti, a message with only To and Subject.
printf 'To: ops@example.net\nSubject: busybox cron\n\nout\n' >"$T/busybox"
t_exit "busybox crond -ti" 0 "$SENDMAIL" -ti <"$T/busybox"
stored
t_is "busybox recipients from To" "ops@example.net" "$(rcpts)"
t_like "busybox: From added" "$M" '^From: bob@example.org'
t_like "busybox: Date added" "$M" '^Date: '

# PHP mail(): sendmail -t -i with headers PHP builds.
printf 'To: php@example.net\nSubject: php\nX-PHP-Originating-Script: 0:x.php\nFrom: site@example.org\n\nphp body\n' >"$T/php"
t_exit "PHP mail() argv" 0 "$SENDMAIL" -t -i <"$T/php"
stored
t_is "PHP recipient" "php@example.net" "$(rcpts)"

done_testing
