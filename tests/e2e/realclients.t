#!/bin/sh
# realclients.t - the real client programs send through outbox to a STARTTLS +
# AUTH server: git send-email (a two-patch series), mutt in batch mode (Cc,
# Bcc, an attachment), bsd-mailx (a Bcc header inside the message), Debian
# cron (as root, in a private mount namespace with outbox bind-mounted over
# /usr/sbin/sendmail) and PHP's mail().  Each asserts what the server stored.
# A client that is not installed is skipped with the package to install.
# cron runs the job at the next minute boundary: it is started first and
# checked last, so the whole file takes about a minute as root.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
e2e_certs
plan_lazy

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(e2e_python)

# The servers: one for the fast clients, one for cron (numbering apart).
server_start srv --mode starttls --cert "$CERT" --key "$KEY" --auth bob:secret \
	--pipelining --dsn || bail "server did not start"
server_start cronsrv --mode starttls --cert "$CERT" --key "$KEY" \
	--auth bob:secret --pipelining --dsn || bail "server did not start"

# outbox_config PORT LOGFILE: an account for that server on stdout.
outbox_config() {
	cat <<EOC
account default
host 127.0.0.1
port $1
tls_trust_file $CA
user bob
password secret
from bob@example.org
logfile $2
EOC
}
outbox_config "$(server_port srv)" "$T/outbox.log" |
	write_config "$XDG_CONFIG_HOME/outbox/config"

n=0
# stored DESC: the next message on srv arrived; its path is in $M.
stored() {
	n=$((n + 1))
	wait_messages srv "$n" 10
	ok $? "$1: message $n stored" || diag_file "$T/outbox.log"
	M=$(msg_file srv "$n")
}
# rcpts [SERVER N]: the envelope recipients, space-separated.
rcpts() {
	env_field "${1:-srv}" "${2:-$n}" rcpt_tos | tr '\n' ' ' | sed 's/ $//'
}
# headers FILE: the header block of a stored message, CRs removed.
headers() {
	tr -d '\r' <"$1" | sed '/^$/q'
}
# mime_part FILE NAME: the decoded bytes of the MIME part whose filename is
# NAME, or of the first text/plain part when NAME is "-".
cat >"$T/mime.py" <<'EOP'
import email, email.policy, sys
with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=email.policy.default)
for part in msg.walk():
    if part.is_multipart():
        continue
    if sys.argv[2] == "-":
        if part.get_content_type() == "text/plain" and not part.get_filename():
            break
    elif part.get_filename() == sys.argv[2]:
        break
else:
    sys.exit("no such part")
sys.stdout.buffer.write(part.get_payload(decode=True))
EOP
mime_part() {
	"$PY" "$T/mime.py" "$1" "$2"
}

# ------------------------------------------------ Debian cron: start ---
# Debian cron hard-codes /usr/sbin/sendmail and calls it with its own
# environment; under systemd that has no HOME, so outbox must find root's
# home from passwd.  cron runs here with `env -i`, root's home is a private
# directory holding the config and the queue, and every mount lives in a
# private mount namespace that disappears with it.
CRON_TOKEN=cron-output-$$-$(date +%s)
cron_ns=
cron_skip=
if [ "$(id -u)" -ne 0 ]; then
	cron_skip="needs root (mount namespace, bind mount over /usr/sbin/sendmail)"
elif ! command -v cron >/dev/null 2>&1 && [ ! -x /usr/sbin/cron ]; then
	cron_skip="cron not installed (Debian package cron)"
elif ! command -v unshare >/dev/null 2>&1 ||
	! unshare --mount --propagation private true 2>/dev/null; then
	cron_skip="unshare --mount does not work here"
elif [ ! -e /usr/sbin/sendmail ] || [ ! -d /var/spool/cron/crontabs ] ||
	[ ! -d /etc/cron.d ] || [ ! -e /etc/crontab ]; then
	cron_skip="no /usr/sbin/sendmail, /etc/crontab, /etc/cron.d or /var/spool/cron/crontabs to mount over"
fi

cron_stop() {
	[ -n "$cron_ns" ] || return 0
	: >"$T/cron/stop"
	[ -s "$T/cron/pid" ] && kill -TERM "$(cat "$T/cron/pid")" 2>/dev/null
	wait "$cron_ns" 2>/dev/null
	cron_ns=
}
trap 'cron_stop; _e2e_cleanup' EXIT

if [ -z "$cron_skip" ]; then
	C=$T/cron
	mkdir -p "$C/cron.d" "$C/crontabs" "$C/root"
	chmod 700 "$C/root"
	: >"$C/crontab"
	outbox_config "$(server_port cronsrv)" "$T/cron-outbox.log" |
		write_config "$C/root/.config/outbox/config"
	printf 'MAILTO=cronuser@example.net\n* * * * * echo %s\n' "$CRON_TOKEN" \
		>"$C/crontabs/root"
	chmod 600 "$C/crontabs/root"
	# The namespace's shell stops cron on the stop file, when $T goes
	# away or after 100 s, whichever comes first.
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private sh -c '
		C=$1
		set -e
		mount --bind "$2" /usr/sbin/sendmail
		mount --bind "$C/crontab" /etc/crontab
		mount --bind "$C/cron.d" /etc/cron.d
		mount --bind "$C/crontabs" /var/spool/cron/crontabs
		mount --bind "$C/root" /root
		mount -t tmpfs -o mode=0755 tmpfs /run
		set +e
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C cron -f -L 15 &
		echo $! >"$C/pid"
		i=0
		while [ -d "$C" ] && [ ! -e "$C/stop" ] && [ $i -lt 100 ]; do
			sleep 1
			i=$((i + 1))
		done
		kill -TERM "$(cat "$C/pid")" 2>/dev/null
		wait
	' sh "$C" "$OUTBOX" </dev/null >"$T/cron.out" 2>&1 &
	cron_ns=$!
	cron_started=$(date +%s)
fi

# ---------------------------------------------------- git send-email ---
git_skip=
if ! command -v git >/dev/null 2>&1; then
	git_skip="git not installed (Debian package git)"
elif [ ! -x "$(git --exec-path)/git-send-email" ]; then
	git_skip="git send-email not installed (Debian package git-email)"
elif ! perl -MMail::Address -e 1 2>/dev/null; then
	git_skip="Mail::Address missing (Debian package libmailtools-perl)"
fi
if [ -n "$git_skip" ]; then
	t_skip "git send-email" "$git_skip"
else
	unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_CONFIG_GLOBAL \
		GIT_CONFIG_PARAMETERS 2>/dev/null || :
	GIT_CONFIG_NOSYSTEM=1
	GIT_AUTHOR_NAME=Dev
	GIT_AUTHOR_EMAIL=dev@example.org
	GIT_COMMITTER_NAME=Dev
	GIT_COMMITTER_EMAIL=dev@example.org
	GIT_AUTHOR_DATE='2026-11-26 10:00:00 +0000'
	GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
	export GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL \
		GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL GIT_AUTHOR_DATE \
		GIT_COMMITTER_DATE
	R=$T/repo
	{
		git -c init.defaultBranch=main init -q "$R" &&
			printf 'one\n' >"$R/f" && git -C "$R" add f &&
			git -C "$R" commit -q -m base &&
			printf 'two\n' >>"$R/f" &&
			git -C "$R" commit -q -a -m "add two" &&
			printf 'three\n' >>"$R/f" &&
			git -C "$R" commit -q -a -m "add three" &&
			git -C "$R" format-patch -q -2 -o "$T/patches"
	} >"$T/git.out" 2>&1
	ok $? "git: a repository with two patches" || diag_file "$T/git.out"
	t_ok "git send-email through outbox: exit 0" \
		git -C "$R" send-email --from="Dev <dev@example.org>" \
		--to=list@example.net --cc=rev@example.net --confirm=never \
		--suppress-cc=all --no-validate --sendmail-cmd="$OUTBOX" \
		"$T"/patches/0001-*.patch "$T"/patches/0002-*.patch </dev/null
	stored "git patch 1"
	g1=$n
	stored "git patch 2"
	g2=$n
	t_like "git patch 1 subject" "$(msg_file srv $g1)" '^Subject: \[PATCH 1/2\] add two'
	t_like "git patch 2 subject" "$(msg_file srv $g2)" '^Subject: \[PATCH 2/2\] add three'
	t_is "git patch 1 recipients" "list@example.net rev@example.net" "$(rcpts srv $g1)"
	t_is "git patch 2 recipients" "list@example.net rev@example.net" "$(rcpts srv $g2)"
	t_is "git envelope sender is the account's from" "bob@example.org" \
		"$(env_field srv $g1 mail_from)"
	t_like "git From header" "$(msg_file srv $g1)" '^From: Dev <dev@example.org>'
	id1=$(headers "$(msg_file srv $g1)" | sed -n 's/^Message-I[Dd]: *//p')
	t_is "patch 2 is In-Reply-To patch 1" "$id1" \
		"$(headers "$(msg_file srv $g2)" | sed -n 's/^In-Reply-To: *//p')"
	# The stored body is the patch body byte for byte (CRLF on the wire).
	sed '1,/^$/d' "$T"/patches/0002-*.patch >"$T/patch2.body"
	tr -d '\r' <"$(msg_file srv $g2)" | sed '1,/^$/d' >"$T/stored2.body"
	t_ok "git patch 2 body unchanged" cmp "$T/patch2.body" "$T/stored2.body"

	t_ok "git send-email --envelope-sender=auto: exit 0" \
		git -C "$R" send-email --from="Dev <dev@example.org>" \
		--to=list@example.net --confirm=never --suppress-cc=all \
		--no-validate --envelope-sender=auto --sendmail-cmd="$OUTBOX" \
		"$T"/patches/0001-*.patch </dev/null
	stored "git --envelope-sender"
	t_is "git -f reaches MAIL FROM" "dev@example.org" "$(env_field srv $n mail_from)"
	t_is "git --envelope-sender recipients" "list@example.net" "$(rcpts)"
fi

# ----------------------------------------------------------------- mutt ---
if ! command -v mutt >/dev/null 2>&1; then
	t_skip "mutt" "mutt not installed (Debian package mutt)"
else
	# mutt's default $sendmail is "/usr/sbin/sendmail -oem -oi"; with
	# $envelope_from it adds -f, then "--" and every recipient, Bcc too.
	cat >"$T/muttrc" <<EOM
set sendmail="$OUTBOX -oem -oi"
set from=me@example.org
set realname="Me Example"
set use_from=yes
set envelope_from=yes
set record=""
set hostname=example.org
set charset=utf-8
set send_charset=utf-8
EOM
	"$PY" -c 'import os, sys; sys.stdout.buffer.write(bytes(range(256)) + os.urandom(4000))' \
		>"$T/attachment.bin"
	printf 'mutt body line\nGr\303\274\303\237e\n' >"$T/mutt.body"
	(
		cd "$T" && LC_ALL=C.UTF-8 mutt -n -F "$T/muttrc" -s "mutt subject" \
			-c cc@example.net -b bcc@example.net -a "$T/attachment.bin" \
			-- to@example.net <"$T/mutt.body"
	) >"$T/mutt.out" 2>&1
	ok $? "mutt batch send: exit 0" || diag_file "$T/mutt.out"
	stored "mutt"
	t_is "mutt recipients include the Bcc" \
		"to@example.net cc@example.net bcc@example.net" "$(rcpts)"
	t_is "mutt envelope sender from -f" "me@example.org" \
		"$(env_field srv $n mail_from)"
	headers "$M" >"$T/mutt.hdrs"
	t_like "mutt From header" "$T/mutt.hdrs" '^From: Me Example <me@example.org>$'
	t_like "mutt Cc header" "$T/mutt.hdrs" '^Cc: cc@example.net$'
	t_unlike "mutt: no Bcc header stored" "$T/mutt.hdrs" '^[Bb][Cc][Cc]:'
	t_unlike "mutt: the Bcc address is nowhere in the message" "$M" 'bcc@example'
	mime_part "$M" attachment.bin >"$T/attachment.out" 2>"$T/mime.err"
	t_ok "mutt attachment decodes to the original bytes" \
		cmp "$T/attachment.bin" "$T/attachment.out"
	mime_part "$M" - >"$T/mutt.text" 2>"$T/mime.err"
	t_ok "mutt text part is the UTF-8 body" cmp "$T/mutt.body" "$T/mutt.text"
	t_like "mutt 8-bit body sent with BODY=8BITMIME" \
		"$(server_dir srv)/msg-$n.env" 'BODY=8BITMIME'
fi

# ------------------------------------------------------------ bsd-mailx ---
if ! command -v bsd-mailx >/dev/null 2>&1; then
	t_skip "bsd-mailx" "bsd-mailx not installed (Debian package bsd-mailx)"
else
	# bsd-mailx writes -b into a Bcc: header and runs "$sendmail -i -t"
	# (plus "-f X" with -r).  A pass-through wrapper records what it
	# handed over, to show the Bcc header really was inside.
	cat >"$T/mailx-sendmail" <<EOW
#!/bin/sh
printf '%s\n' "\$@" >"$T/mailx.argv"
tee "$T/mailx.in" | exec "$OUTBOX" "\$@"
EOW
	chmod 755 "$T/mailx-sendmail"
	printf 'set sendmail=%s\n' "$T/mailx-sendmail" >"$T/mailrc"
	printf 'mailx body\n' | MAILRC=$T/mailrc bsd-mailx -s "mailx subject" \
		-b bcc@example.net -r me@example.org to@example.net \
		>"$T/mailx.out" 2>&1
	ok $? "bsd-mailx -s -b -r: exit 0" || diag_file "$T/mailx.out"
	stored "bsd-mailx"
	t_like "bsd-mailx called sendmail with -t" "$T/mailx.argv" '^-t$'
	t_like "bsd-mailx put the Bcc header inside the message" \
		"$T/mailx.in" '^Bcc: bcc@example.net'
	t_is "bsd-mailx recipients include the Bcc" \
		"to@example.net bcc@example.net" "$(rcpts)"
	t_is "bsd-mailx -r sets the envelope sender" "me@example.org" \
		"$(env_field srv $n mail_from)"
	headers "$M" >"$T/mailx.hdrs"
	t_unlike "bsd-mailx: no Bcc header stored" "$T/mailx.hdrs" '^[Bb][Cc][Cc]:'
	t_unlike "bsd-mailx: the Bcc address is nowhere in the message" "$M" 'bcc@example'
	t_like "bsd-mailx Subject" "$T/mailx.hdrs" '^Subject: mailx subject$'
	t_like "bsd-mailx body" "$M" '^mailx body'
fi

# ------------------------------------------------------------ PHP mail() ---
if ! command -v php >/dev/null 2>&1; then
	t_skip "PHP mail()" "php not installed (Debian package php-cli)"
else
	# PHP runs sendmail_path through sh -c and appends mail()'s fifth
	# argument; the extra headers carry Cc and Bcc for -t to find.
	# shellcheck disable=SC2016 # PHP code
	php -n -d sendmail_path="$OUTBOX -t -i" -r '
		$ok = mail("php@example.net", "php subject", "php body\nsecond line",
			"From: Site <site@example.org>\r\nCc: pcc@example.net\r\nBcc: pbcc@example.net",
			"-fbounce@example.org");
		exit($ok ? 0 : 3);' >"$T/php.out" 2>&1
	ok $? "PHP mail(): returns true" || diag_file "$T/php.out"
	stored "PHP mail()"
	t_is "PHP recipients from To, Cc and Bcc" \
		"php@example.net pcc@example.net pbcc@example.net" "$(rcpts)"
	t_is "PHP fifth argument -f sets the envelope sender" \
		"bounce@example.org" "$(env_field srv $n mail_from)"
	headers "$M" >"$T/php.hdrs"
	t_unlike "PHP: no Bcc header stored" "$T/php.hdrs" '^[Bb][Cc][Cc]:'
	t_unlike "PHP: the Bcc address is nowhere in the message" "$M" 'pbcc@'
	t_like "PHP From header kept" "$T/php.hdrs" '^From: Site <site@example.org>$'
	t_like "PHP Subject" "$T/php.hdrs" '^Subject: php subject$'
	t_like "PHP: Date added" "$T/php.hdrs" '^Date: '
	tr -d '\r' <"$M" | sed '1,/^$/d' >"$T/php.body"
	printf 'php body\nsecond line\n' >"$T/php.want"
	t_ok "PHP body" cmp "$T/php.want" "$T/php.body"
fi

# ------------------------------------------------- Debian cron: check ---
if [ -n "$cron_skip" ]; then
	t_skip "Debian cron" "$cron_skip"
else
	# The job runs at the first minute boundary after cron started; a
	# namespace that failed to set up ends at once.
	while [ "$(msg_count cronsrv)" -lt 1 ] && _e2e_alive "$cron_ns" &&
		[ $(($(date +%s) - cron_started)) -lt 75 ]; do
		sleep 0.2
	done
	wait_messages cronsrv 1 1
	ok $? "cron mailed the job's output through outbox" || {
		diag "cron output:"
		diag_file "$T/cron.out"
		diag_file "$T/cron-outbox.log"
	}
	cron_stop
	CM=$(msg_file cronsrv 1)
	t_is "cron recipient is MAILTO" "cronuser@example.net" "$(rcpts cronsrv 1)"
	t_is "cron envelope sender is the account's from" "bob@example.org" \
		"$(env_field cronsrv 1 mail_from)"
	headers "$CM" >"$T/cron.hdrs"
	t_like "cron From header kept" "$T/cron.hdrs" '^From: root \(Cron Daemon\)$'
	t_like "cron To header" "$T/cron.hdrs" '^To: cronuser@example.net$'
	t_like "cron Subject names the job" "$T/cron.hdrs" "^Subject: Cron <root@[^>]*> echo $CRON_TOKEN\$"
	t_like "cron: the job's output is the body" "$CM" "^$CRON_TOKEN"
	t_like "outbox used root's home from passwd (HOME unset)" \
		"$T/cron-outbox.log" 'action=delivered'
	t_ok "the queue is in root's home" test -d "$C/root/.local/state/outbox/queue/msg"
	t_is "nothing left in root's queue" "" "$(ls -A "$C/root/.local/state/outbox/queue/msg" 2>/dev/null)"
	t_is "no mount leaked out of the namespace" 0 \
		"$(grep -c -e "$T" /proc/self/mountinfo)"
fi

done_testing
