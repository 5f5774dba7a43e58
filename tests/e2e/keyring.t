#!/bin/sh
# keyring.t - the password comes from the Secret Service keyring (DESIGN.md
# 1.3): an item made with msmtp's secret-tool recipe, one stored by
# `outbox --store-password`, a GNOME network-password item, ~/.netrc when
# the keyring has nothing; --password-source and --delete-password; and the
# failures: no D-Bus session (cron), a locked keyring, a daemon that does
# not answer, no item.  Each delivery is checked on the server's side, and
# the password must never show in the -v transcript or the log file.
#
# The test re-executes itself inside its own session bus (dbus-run-session)
# and its own session (setsid: no controlling terminal, so outbox never
# prompts), then starts gnome-keyring-daemon unlocked with a throw-away
# HOME, and stops it by its PID at the end.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
keyring_session
e2e_setup
e2e_certs
plan_lazy

# ------------------------------------------------------------ keyring ---
keyring_start

# ------------------------------------------------------------- server ---
PW=kr-Pw.4711
server_start srv --mode starttls --cert "$CERT" --key "$KEY" --auth "bob:$PW" ||
	bail "server did not start"
PORT=$(server_port srv)

# queue off: a missing password then ends the run with 77 instead of
# holding the message in the queue.
write_config "$XDG_CONFIG_HOME/outbox/config" <<EOC
defaults
queue off
tls on
tls_starttls on
tls_trust_file $CA
timeout 10
logfile $T/outbox.log

account default
host 127.0.0.1
port $PORT
user bob
from bob@example.org
EOC

ATTRS='host=127.0.0.1 service=smtp user=bob'
printf 'Subject: keyring\n\nbody\n' >"$T/msg"
# What the password looks like on the wire: PLAIN and LOGIN.
PW_PLAIN=$(printf '\000bob\000%s' "$PW" | base64)
PW_LOGIN=$(printf '%s' "$PW" | base64)
n=0

# delivered DESC [ENV-ARGS...]: sends with -v; exit 0, one more message,
# authenticated as bob, no password in the transcript.
delivered() {
	_desc=$1
	shift
	t_exit "$_desc: delivered" 0 env "$@" "$OUTBOX" -v alice@example.net <"$T/msg"
	n=$((n + 1))
	wait_messages srv "$n" 5 || diag "message $n did not arrive"
	t_is "$_desc: authenticated as bob" bob "$(env_field srv "$n" auth)"
	cat "$OUT" "$ERR" >"$T/transcript"
	t_unlike "$_desc: the password is not in the transcript" "$T/transcript" \
		"$PW|$PW_PLAIN|$PW_LOGIN"
}

# refused DESC REGEX [ENV-ARGS...]: exit 77, nothing delivered, and one
# stderr line matching REGEX that names the account, the attributes and
# the command that stores the password.
refused() {
	_desc=$1
	_re=$2
	shift 2
	t_exit "$_desc: exit 77" 77 env "$@" "$OUTBOX" -v alice@example.net <"$T/msg"
	t_like "$_desc: says why" "$ERR" "$_re"
	t_like "$_desc: one line with account, attributes and store command" "$ERR" \
		"account default: .*$ATTRS.*outbox -a default --store-password.*secret-tool store --label=outbox host 127.0.0.1 service smtp user bob"
	t_is "$_desc: nothing delivered" "$n" "$(msg_count srv)"
	cat "$OUT" "$ERR" >"$T/transcript"
	t_unlike "$_desc: the password is not in the transcript" "$T/transcript" "$PW"
}

# source_is DESC REGEX: --password-source's line.
source_is() {
	t_exit "$1: --password-source works" 0 "$OUTBOX" --password-source
	t_like "$1: --password-source says so" "$OUT" "$2"
	t_unlike "$1: --password-source does not print the password" "$OUT" "$PW"
}

# on_tty TRANSCRIPT [EXPECT=ANSWER...] -- CMD...: runs CMD with a new
# pseudo-terminal as its controlling terminal and stdin, typing ANSWER
# once EXPECT has been shown; what the terminal showed goes to TRANSCRIPT.
on_tty() {
	"$E2E_PY" -c '
import os, pty, select, sys, time
i = sys.argv.index("--")
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[i + 1], sys.argv[i + 1:])
seen = b""
def pump(until):
    global seen
    end = time.time() + 10
    while (until is None or until not in seen) and time.time() < end:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return
            if not data:
                return
            seen += data
for pair in sys.argv[2:i]:
    expect, answer = pair.split("=", 1)
    pump(expect.encode())
    os.write(fd, answer.encode() + b"\n")
pump(None)
for _ in range(100):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.1)
else:
    os.kill(pid, 9)
    done, status = os.waitpid(pid, 0)
with open(sys.argv[1], "wb") as f:
    f.write(seen)
sys.exit(os.waitstatus_to_exitcode(status))
' "$@"
}

item_count() {
	secret-tool search --all "$@" 2>/dev/null | grep -c '^label = '
}

# --- no item ----------------------------------------------------------
refused "no keyring item" "no keyring item $ATTRS"
source_is "no keyring item" "^password: not found: no keyring item $ATTRS"

# --- msmtp's recipe ---------------------------------------------------
printf '%s' "$PW" | secret-tool store --label=x host 127.0.0.1 service smtp user bob
ok $? "secret-tool stores msmtp's item"
delivered "secret-tool item"
source_is "secret-tool item" "^password: keyring item $ATTRS\$"
t_exit "--delete-password removes it" 0 "$OUTBOX" --delete-password
t_is "the item is gone" 0 "$(item_count host 127.0.0.1 service smtp user bob)"
t_exit "--delete-password with nothing to delete: 77" 77 "$OUTBOX" --delete-password
t_like "it says there is no item" "$ERR" "no keyring item $ATTRS"

# --- outbox --store-password -------------------------------------------
printf 'wrong\n' | "$OUTBOX" --store-password >"$T/store.out" 2>&1
ok $? "--store-password reads the password from stdin"
printf '%s\n' "$PW" | "$OUTBOX" --store-password >"$T/store.out" 2>&1
ok $? "--store-password again replaces it" || diag_file "$T/store.out"
t_is "one item after storing twice" 1 "$(item_count host 127.0.0.1 service smtp user bob)"
secret-tool search --all host 127.0.0.1 service smtp user bob >"$T/items" 2>&1
t_like "outbox's item has outbox's schema" "$T/items" '^schema = org.outbox.Password'
t_like "and the label outbox: user@host" "$T/items" '^label = outbox: bob@127.0.0.1'
t_is "secret-tool finds the stored password" "$PW" \
	"$(secret-tool lookup host 127.0.0.1 service smtp user bob)"
delivered "stored item"
source_is "stored item" "^password: keyring item $ATTRS\$"
printf '\n' | "$OUTBOX" --store-password >"$T/store.out" 2>&1
t_is "an empty password is refused" 65 "$?"
t_is "and the stored one is kept" "$PW" "$(secret-tool lookup host 127.0.0.1 service smtp user bob)"
t_exit "--delete-password removes outbox's item" 0 "$OUTBOX" --delete-password
t_is "no item left" 0 "$(item_count host 127.0.0.1 service smtp user bob)"

# --- GNOME network-password -------------------------------------------
printf '%s' "$PW" | secret-tool store --label=y server 127.0.0.1 protocol smtp user bob
ok $? "secret-tool stores a network-password item"
delivered "network-password item"
source_is "network-password item" \
	'^password: keyring \(GNOME network-password\) server=127.0.0.1 protocol=smtp user=bob$'
t_exit "--delete-password removes it too" 0 "$OUTBOX" --delete-password
t_is "no network-password item left" 0 "$(item_count server 127.0.0.1 protocol smtp user bob)"

# --- a terminal ---------------------------------------------------------
on_tty "$T/tty" "Password for=$PW" "Retype=$PW" -- "$OUTBOX" --store-password
ok $? "--store-password on a terminal asks twice"
t_unlike "the typed password is not echoed" "$T/tty" "$PW"
t_is "and it is stored" "$PW" "$(secret-tool lookup host 127.0.0.1 service smtp user bob)"
on_tty "$T/tty" "Password for=one" "Retype=two" -- "$OUTBOX" --store-password
t_is "two different passwords typed: exit 65" 65 "$?"
t_like "it says they differ" "$T/tty" 'differ'
t_is "the stored one is kept" "$PW" "$(secret-tool lookup host 127.0.0.1 service smtp user bob)"
t_exit "--delete-password" 0 "$OUTBOX" --delete-password
on_tty "$T/tty" "Password for bob at 127.0.0.1 (account default): =$PW" -- \
	sh -c '"$1" -v alice@example.net <"$2"' sh "$OUTBOX" "$T/msg"
ok $? "nothing stored: the password is asked on the terminal" || diag_file "$T/tty"
n=$((n + 1))
wait_messages srv "$n" 5 || diag "message $n did not arrive"
t_is "asked on the terminal: authenticated as bob" bob "$(env_field srv "$n" auth)"
t_unlike "asked on the terminal: the password is not shown" "$T/tty" \
	"$PW|$PW_PLAIN|$PW_LOGIN"

# --- ~/.netrc ----------------------------------------------------------
printf 'machine other.example login bob password nope\nmachine 127.0.0.1\n  login bob\n  password %s\n' \
	"$PW" >"$HOME/.netrc"
chmod 600 "$HOME/.netrc"
delivered "netrc entry"
source_is "netrc entry" "^password: $HOME/.netrc machine 127.0.0.1 login bob\$"
chmod 644 "$HOME/.netrc"
refused "netrc readable by others" "\\.netrc: not used: .*chmod 600"

# --- no D-Bus session, as under cron -------------------------------------
chmod 600 "$HOME/.netrc"
delivered "no D-Bus session, netrc entry" \
	-u DBUS_SESSION_BUS_ADDRESS -u DISPLAY -u WAYLAND_DISPLAY
rm -f "$HOME/.netrc"
printf '%s' "$PW" | secret-tool store --label=x host 127.0.0.1 service smtp user bob
refused "no D-Bus session" "no D-Bus session" \
	-u DBUS_SESSION_BUS_ADDRESS -u DISPLAY -u WAYLAND_DISPLAY
sed 's/^queue off$/queue on/' "$XDG_CONFIG_HOME/outbox/config" >"$T/queue.conf"
chmod 600 "$T/queue.conf"
t_exit "no D-Bus, queue on: the message is held, exit 0" 0 env -u DBUS_SESSION_BUS_ADDRESS \
	-u DISPLAY -u WAYLAND_DISPLAY "$OUTBOX" -C "$T/queue.conf" alice@example.net <"$T/msg"
t_like "held: stderr says why, with the store command" "$ERR" \
	"held: .*no D-Bus session.*outbox -a default --store-password"
t_exit "no D-Bus: --password-source works" 0 env -u DBUS_SESSION_BUS_ADDRESS -u DISPLAY \
	-u WAYLAND_DISPLAY "$OUTBOX" --password-source
t_like "no D-Bus: --password-source says so" "$OUT" \
	"^password: not found: keyring unavailable \\(no D-Bus session"

# --- a daemon that does not answer -------------------------------------
kill -STOP "$KEYRING_PID"
start=$(date +%s)
refused "keyring daemon stopped" "did not answer within [0-9]+ s"
t_ok "the lookup gave up within 15 s" test $(($(date +%s) - start)) -le 15
kill -CONT "$KEYRING_PID"
delivered "keyring daemon continued"

# --- locked keyring ------------------------------------------------------
dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
	org.freedesktop.Secret.Service.Lock \
	array:objpath:/org/freedesktop/secrets/collection/login >"$T/lock.out" 2>&1
ok $? "the login collection is locked" || diag_file "$T/lock.out"
refused "locked keyring" "keyring is locked"
source_is "locked keyring" "^password: not found: the keyring is locked"
printf 'machine 127.0.0.1 login bob password %s\n' "$PW" >"$HOME/.netrc"
chmod 600 "$HOME/.netrc"
delivered "locked keyring, netrc entry"

t_unlike "the password is not in the log file" "$T/outbox.log" "$PW|$PW_PLAIN|$PW_LOGIN"
keyring_stop
done_testing
