#!/bin/sh
# hostile-input.t - crafted messages and arguments against a real server.
# Each row of the table: a message (made below), the arguments, the exit
# status expected, a fragment of stderr, and what the server stored: one
# message (then checked further) or nothing.  A message refused with exit
# 65 must also leave nothing in the queue.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

require_outbox
require_server
e2e_setup
plan_lazy

server_start srv --mode plain --pipelining || bail "server did not start"
write_config "$T/conf" <<EOC
account default
host 127.0.0.1
port $(server_port srv)
tls off
from bob@example.org
timeout 30
EOC
QDIR=$XDG_STATE_HOME/outbox/queue

# The messages, one file each: $T/NAME.in.
/usr/bin/python3 - "$T" <<'EOP'
import sys
d = sys.argv[1]
LIMIT = 1024 * 1024

def write(name, data):
    with open("%s/%s.in" % (d, name), "wb") as f:
        f.write(data)

def padded(size, head=b"To: alice@example.net\n", eol=b"\n"):
    """A header block of exactly size bytes: head, then X-Pad lines."""
    out = head
    while size - len(out) > 1000:
        out += b"X-Pad: " + b"y" * 900 + eol
    out += b"X-Pad: " + b"y" * (size - len(out) - 7 - len(eol)) + eol
    assert len(out) == size, (len(out), size)
    return out

write("empty", b"")
write("at-limit", padded(LIMIT) + b"\nbody line\n")
write("at-limit-crlf", padded(LIMIT, b"To: alice@example.net\r\n", b"\r\n")
      + b"\r\nbody line\r\n")
write("over-limit", padded(LIMIT + 1) + b"\nbody line\n")
# A Bcc field just after the 1 MiB mark, and one across it.
write("bcc-after-cut", padded(LIMIT) + b"Bcc: secret@example.net\n\nhello\n")
write("bcc-across-cut", padded(LIMIT - 6) + b"Bcc: secret@example.net\n\nhello\n")
write("nul-header", b"Subject: a\0b\nTo: alice@example.net\n\nbody\n")
write("cr-header", b"Subject: a\rBcc: secret@example.net\nTo: alice@example.net\n\nbody\n")
write("cr-smuggling", b"Subject: smuggle\n\nline one\r.\r\nMAIL FROM:<evil@example.com>\r\n"
      b"RCPT TO:<victim@example.com>\r\nDATA\r\nforged\r\n.\rlast\n.\n")
write("plain", b"Subject: s\n\nbody\n")
write("unterminated", b"From: a@example.org, \"unterminated\n\nbody\n")
write("no-colon", b"Subject: s\nthis line is no header\nBcc: secret@example.net\n\nbody\n")
write("to-10000", b"To: " + b",\n ".join(b"u%d@example.net" % i for i in range(10000))
      + b"\nSubject: many\n\nbody\n")
write("to-10001", b"To: " + b",\n ".join(b"u%d@example.net" % i for i in range(10001))
      + b"\nSubject: too many\n\nbody\n")
for name, addr in (("bad-to-atat", b"a@b@c"), ("bad-to-dots", b"a@example..org")):
    write(name, b"To: " + addr + b"\nSubject: s\n\nbody\n")
EOP

LONG_X=$(head -c 5000 /dev/zero | tr '\0' x)
LONG_WORDS=$(/usr/bin/python3 -c 'print(" ".join(["word"] * 1000))')

# row INPUT NAME EXIT STDERR STORED [ARGS...]: run outbox on $T/INPUT.in.
# STDERR is an extended regex stderr must match ("" for empty stderr);
# STORED is "one" or "none".  The stored message is then $M.
row() {
	_r_in=$1 _r_name=$2 _r_exit=$3 _r_err=$4 _r_stored=$5
	shift 5
	_r_before=$(msg_count srv)
	t_exit "$_r_name: exit $_r_exit" "$_r_exit" "$OUTBOX" -C "$T/conf" "$@" <"$T/$_r_in.in"
	if [ -n "$_r_err" ]; then
		t_like "$_r_name: stderr says /$_r_err/" "$ERR" "$_r_err"
	else
		t_is "$_r_name: stderr empty" "" "$(cat "$ERR")"
	fi
	t_is "$_r_name: stderr is at most one line" 1 "$(($(wc -l <"$ERR") <= 1))"
	if [ "$_r_stored" = one ]; then
		wait_messages srv $((_r_before + 1))
		t_is "$_r_name: the server stored one message" $((_r_before + 1)) "$(msg_count srv)"
		M=$(msg_file srv $((_r_before + 1)))
	else
		t_is "$_r_name: the server stored nothing" "$_r_before" "$(msg_count srv)"
	fi
	t_is "$_r_name: nothing left in the queue" "" "$(ls -A "$QDIR/msg" 2>/dev/null)"
}

# body_of FILE: the stored message after its first empty line.
body_of() {
	sed '1,/^\r$/d' "$1"
}

# headers_of FILE: the stored header block.
headers_of() {
	sed '/^\r$/,$d' "$1"
}

# display_name FILE: the From: display name of the stored message, unfolded
# and RFC 2047-decoded (email.header: RFC 2047 6.2, blanks between
# encoded-words ignored).
display_name() {
	/usr/bin/python3 -c '
import re, sys
from email.header import decode_header, make_header
head = open(sys.argv[1], "rb").read().split(b"\r\n\r\n", 1)[0].decode("ascii")
value = re.search(r"^From: ([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head, re.M).group(1)
value = re.sub(r"\r\n(?=[ \t])", "", value)
print(str(make_header(decode_header(value.rsplit(" <", 1)[0]))))' "$1"
}

# mail_from_count: MAIL commands the server has seen so far.
mail_from_count() {
	grep -c 'C: MAIL FROM' "$(server_log srv)"
}

# -- the table ----------------------------------------------------------
row empty empty 0 "" one alice@example.net
t_like "empty: From added" "$M" '^From: bob@example.org'
t_is "empty: empty body" "" "$(body_of "$M")"

row at-limit at-limit 0 "" one -t
t_is "at-limit: body intact, no extra empty line" "$(printf 'body line\r')" "$(body_of "$M")"
t_is "at-limit: the To recipient" alice@example.net "$(env_field srv "$(msg_count srv)" rcpt_tos)"

row at-limit-crlf at-limit-crlf 0 "" one -t
t_is "at-limit-crlf: body intact, no extra empty line" "$(printf 'body line\r')" "$(body_of "$M")"

row over-limit over-limit 65 'headers larger than 1048576 bytes' none -t

row bcc-after-cut bcc-after-cut 65 'headers larger than 1048576 bytes' none -t
row bcc-across-cut bcc-across-cut 65 'headers larger than 1048576 bytes' none -t
t_unlike "Bcc after the cut: the address never reached the server" "$(server_log srv)" 'secret@example.net'

row nul-header nul-header 65 'NUL byte in header line 1' none -t

row cr-header cr-header 65 'CR without LF in header line 1' none -t

mails=$(mail_from_count)
row cr-smuggling cr-smuggling 0 "" one alice@example.net
t_is "cr-smuggling: one MAIL FROM in the session" $((mails + 1)) "$(mail_from_count)"
t_unlike "cr-smuggling: no smuggled RCPT" "$(server_log srv)" 'C: RCPT TO:<victim'
t_is "cr-smuggling: the only recipient" alice@example.net "$(env_field srv "$(msg_count srv)" rcpt_tos)"
t_like "cr-smuggling: the forged command stayed in the body" "$M" '^MAIL FROM:<evil@example.com>.$'
/usr/bin/python3 -c '
import re, sys
data = open(sys.argv[1], "rb").read()
sys.exit(1 if re.search(rb"\r(?!\n)|(?<!\r)\n", data) else 0)' "$M"
ok $? "cr-smuggling: every stored CR and LF is part of a CRLF"
t_is "cr-smuggling: lone CRs became line ends" \
	"$(printf 'line one\r\n.\r\nMAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nforged\r\n.\r\nlast\r\n.\r')" \
	"$(body_of "$M")"

row plain "5000-char -F" 0 "" one -F "$LONG_X" alice@example.net
headers_of "$M" >"$T/hdr"
t_like "5000-char -F: Date still in the header block" "$T/hdr" '^Date: '
t_like "5000-char -F: Message-ID still in the header block" "$T/hdr" '^Message-ID: '
t_is "5000-char -F: the body is the body" "$(printf 'body\r')" "$(body_of "$M")"
t_is "5000-char -F: no header line over 78 characters" 0 \
	"$(awk 'length($0) > 79' "$T/hdr" | wc -l | tr -d ' ')"
display_name "$M" >"$T/name"
printf '%s\n' "$LONG_X" >"$T/want-name"
t_ok "5000-char -F: the display name decodes to the -F text" cmp -s "$T/want-name" "$T/name"

row plain "5000-char -F of words" 0 "" one -F "$LONG_WORDS" alice@example.net
headers_of "$M" >"$T/hdr"
t_is "5000-char -F of words: no header line over 78 characters" 0 \
	"$(awk 'length($0) > 79' "$T/hdr" | wc -l | tr -d ' ')"
display_name "$M" >"$T/name"
printf '%s\n' "$LONG_WORDS" >"$T/want-name"
t_ok "5000-char -F of words: the display name unfolds to the -F text" cmp -s "$T/want-name" "$T/name"

for addr in 'a@b@c' 'a@example..org' 'a@-bad-.org' 'a@xn--zz'; do
	row plain "argument $addr" 65 "invalid address \"$addr\"" none "$addr"
done
row plain "-f a@-bad-.org" 65 'invalid address "a@-bad-.org"' none -f a@-bad-.org alice@example.net
row plain "-f root" 65 'invalid address "root": no domain' none -f root alice@example.net
row bad-to-atat bad-to-atat 65 'invalid address "a@b@c"' none -t
row bad-to-dots bad-to-dots 65 'invalid address "a@example..org"' none -t

row plain 'dotted name' 0 'recipient carol.example.net has no domain; sending to carol.example.net@example.org' \
	one carol.example.net
t_is "dotted name: qualified" carol.example.net@example.org "$(env_field srv "$(msg_count srv)" rcpt_tos)"
row plain "bare local name" 0 "" one root
t_is "bare local name: qualified quietly" root@example.org "$(env_field srv "$(msg_count srv)" rcpt_tos)"
row plain "argument in angle brackets" 0 "" one '<alice@example.net>'
t_is "argument in angle brackets: one pair taken off" alice@example.net \
	"$(env_field srv "$(msg_count srv)" rcpt_tos)"
row plain "argument <>" 65 'invalid address ""' none '<>'

row unterminated unterminated 65 'unterminated comment, quoted string or domain literal' none alice@example.net

row no-colon no-colon 0 "" one -t alice@example.net
t_is "no-colon: only the argument recipient" alice@example.net "$(env_field srv "$(msg_count srv)" rcpt_tos)"
t_is "no-colon: the line starts the body" "$(printf 'this line is no header\r')" "$(body_of "$M" | sed -n 1p)"

row to-10000 to-10000 0 "" one -t
t_is "to-10000: every recipient" 10000 "$(env_field srv "$(msg_count srv)" rcpt_tos | wc -l | tr -d ' ')"
row to-10001 to-10001 65 'more than 10000 addresses' none -t

done_testing
