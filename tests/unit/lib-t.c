/* lib-t.c - tests for src/lib.c: bounded buffers, number parsing, base64,
 * line-break detection, making server text visible, hex, reading to end of
 * file. */
#include "config.h"

#include "lib.h"

#include "tap/basic.h"

#include <errno.h>
#include <limits.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct {
	const char *in;
	long min, max;
	int rc;
	long value;
} numbers[] = {
	{"0", 0, 10, 0, 0},
	{"10", 0, 10, 0, 10},
	{"11", 0, 10, -1, 0},
	{"", 0, 10, -1, 0},
	{"1x", 0, 10, -1, 0},
	{" 1", 0, 10, -1, 0},
	{"-1", 0, 10, -1, 0},
	{"-1", -5, 10, 0, -1},
	{"+1", 0, 10, -1, 0},
	{"99999999999999999999", 0, LONG_MAX, -1, 0},
	{"65535", 1, 65535, 0, 65535},
};

/* RFC 4648 10 test vectors. */
static const struct {
	const char *plain;
	const char *encoded;
} b64[] = {
	{"", ""},
	{"f", "Zg=="},
	{"fo", "Zm8="},
	{"foo", "Zm9v"},
	{"foob", "Zm9vYg=="},
	{"fooba", "Zm9vYmE="},
	{"foobar", "Zm9vYmFy"},
};

static const struct {
	const char *cmd;
	int timeout_ms;
	size_t max;
	enum command_status status;
	int code;
	const char *out;
} commands[] = {
	{"printf 'a b\\nc'", 5000, 0, COMMAND_OK, 0, "a b\nc"},
	{"read x; echo \"[$x]\"", 5000, 0, COMMAND_OK, 0, "[]\n"},
	{"exit 3", 5000, 0, COMMAND_EXITED, 3, ""},
	{"kill -TERM $$", 5000, 0, COMMAND_KILLED, 15, ""},
	{"yes", 5000, 4096, COMMAND_TOO_LONG, 0, NULL},
	{"sleep 10", 200, 0, COMMAND_TIMED_OUT, 0, ""},
	/* Output complete, then no exit: the deadline covers the wait too. */
	{"echo pw; exec >&-; sleep 3", 300, 0, COMMAND_TIMED_OUT, 0, "pw\n"},
	{"exec >&-; sleep 3", 300, 0, COMMAND_TIMED_OUT, 0, ""},
	/* outbox ignores SIGPIPE (main.c); the command must not inherit it. */
	{"m=$(awk '/^SigIgn/ { print $2 }' /proc/self/status); echo $((0x$m >> 12 & 1))", 5000, 0,
	 COMMAND_OK, 0, "0\n"},
};

/* buf_append_visible: what server text looks like once it is safe. */
static const struct {
	const char *in;
	size_t len; /* 0: strlen */
	const char *out;
} visible[] = {
	{"250 ok", 0, "250 ok"},
	{"\x1b]0;x\x07\x1b[31m", 0, "\\x1b]0;x\\x07\\x1b[31m"},
	{"a\tb\rc\x7f", 0, "a\\x09b\\x0dc\\x7f"},
	{"a\0b", 3, "a\\x00b"},
	{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7", 0,
	 "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7"},
	{"\xc2\x9b", 0, "\\xc2\\x9b"},                   /* C1 CSI */
	{"\xc2\xa0", 0, "\xc2\xa0"},                     /* U+00A0 is text */
	{"\xff\xfe", 0, "\\xff\\xfe"},                   /* never UTF-8 */
	{"\xc0\xaf", 0, "\\xc0\\xaf"},                   /* overlong "/" */
	{"\xed\xa0\x80", 0, "\\xed\\xa0\\x80"},          /* a surrogate */
	{"\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80"}, /* past U+10FFFF */
	{"\xe2\x82", 0, "\\xe2\\x82"},                   /* cut short */
};

static void
test_visible(void)
{
	for (size_t i = 0; i < sizeof visible / sizeof visible[0]; i++) {
		struct buf b;

		buf_init(&b, 0);
		buf_append_visible(&b, visible[i].in,
				   visible[i].len ? visible[i].len : strlen(visible[i].in));
		is_string(visible[i].out, b.data ? b.data : "", "visible %zu", i);
		buf_free(&b);
	}
}

static void
test_commands(void)
{
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		struct command_result r;
		struct buf out;

		buf_init(&out, commands[i].max);
		command_run(commands[i].cmd, commands[i].timeout_ms, &out, &r);
		is_int(commands[i].status, r.status, "command %zu (%s): status", i,
		       commands[i].cmd);
		is_int(commands[i].code, r.code, "command %zu: code", i);
		if (commands[i].out != NULL)
			is_string(commands[i].out, out.data ? out.data : "", "command %zu: output",
				  i);
		buf_free(&out);
	}
}

static const struct {
	const char *in;
	size_t len;
	bool upper;
	char sep;
	const char *out;
} hexes[] = {
	{"", 0, false, '\0', ""},
	{"", 0, true, ':', ""},
	{"\x00\x7f\xab", 3, false, '\0', "007fab"},
	{"\x00\x7f\xab", 3, true, '\0', "007FAB"},
	{"\x00\x7f\xab", 3, true, ':', "00:7F:AB"},
	{"\xff", 1, false, ':', "ff"},
};

static void
test_hex(void)
{
	for (size_t i = 0; i < sizeof hexes / sizeof hexes[0]; i++) {
		char out[16];

		memset(out, 'x', sizeof out);
		hex_encode((const unsigned char *)hexes[i].in, hexes[i].len, hexes[i].upper,
			   hexes[i].sep, out);
		is_string(hexes[i].out, out, "hex_encode %zu", i);
	}
	{
		static const char digits[] = "0123456789abcdefABCDEF";
		static const int values[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
					     11, 12, 13, 14, 15, 10, 11, 12, 13, 14, 15};

		for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
			is_int(values[i], hex_digit_value(digits[i]), "hex_digit_value '%c'",
			       digits[i]);
		is_int(-1, hex_digit_value('g'), "hex_digit_value 'g'");
		is_int(-1, hex_digit_value('/'), "hex_digit_value '/'");
		is_int(-1, hex_digit_value('\0'), "hex_digit_value NUL");
	}
}

static void
on_alarm(int sig)
{
	(void)sig;
}

/* A child writes n bytes of 'a' into a pipe (after delay_ms); the parent
 * reads them with read_to_eof into a buffer bounded by max. */
static int
read_from_child(size_t n, int delay_ms, size_t max, struct buf *b, int *err)
{
	int fds[2], rc;
	pid_t pid;

	if (pipe(fds) < 0)
		bail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		bail("fork: %s", strerror(errno));
	if (pid == 0) {
		char *data = malloc(n + 1);

		close(fds[0]);
		memset(data, 'a', n);
		usleep((useconds_t)delay_ms * 1000);
		_exit(write_all(fds[1], data, n) < 0 ? 1 : 0);
	}
	close(fds[1]);
	buf_init(b, max);
	rc = read_to_eof(fds[0], b, true);
	*err = errno;
	close(fds[0]);
	/* the child may die of SIGPIPE when the reader stopped early */
	waitpid(pid, NULL, 0);
	return rc;
}

static void
test_read_to_eof(void)
{
	static const struct {
		size_t n, max;
		int rc;
		size_t len;
	} reads[] = {
		{0, 10, 0, 0},
		{10, 10, 0, 10},
		{11, 10, -1, 0},
		{200000, 0, 0, 200000},      /* several reads */
		{200000, 200000, 0, 200000}, /* exactly the bound */
		{200001, 200000, -1, 0},
	};
	struct sigaction act, old;
	struct itimerval tick = {{0, 0}, {0, 20000}};
	struct buf b;
	int err;

	for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
		int rc = read_from_child(reads[i].n, 0, reads[i].max, &b, &err);

		is_int(reads[i].rc, rc, "read_to_eof %zu: %zu bytes, bound %zu", i, reads[i].n,
		       reads[i].max);
		if (rc == 0)
			is_int(reads[i].len, b.len, "read_to_eof %zu: all of it", i);
		else
			is_int(EFBIG, err, "read_to_eof %zu: EFBIG", i);
		buf_free(&b);
	}
	/* A signal without SA_RESTART interrupts the read: it is retried. */
	memset(&act, 0, sizeof act);
	act.sa_handler = on_alarm;
	sigemptyset(&act.sa_mask);
	sigaction(SIGALRM, &act, &old);
	setitimer(ITIMER_REAL, &tick, NULL);
	is_int(0, read_from_child(5, 300, 0, &b, &err), "read_to_eof: EINTR is retried");
	is_int(5, b.len, "read_to_eof: everything after EINTR");
	buf_free(&b);
	sigaction(SIGALRM, &old, NULL);
}

/* utf8_char_len and utf8_code_point: RFC 3629's table, edge by edge. */
static const struct {
	const char *in;
	size_t n;
	size_t len;
	uint32_t cp;
} utf8[] = {
	{"a", 1, 1, 'a'},
	{"", 1, 1, 0}, /* NUL is a character */
	{"", 0, 0, 0},
	{"\x7f", 1, 1, 0x7f},
	{"\xc2\x80", 2, 2, 0x80},
	{"\xc3\xa9", 2, 2, 0xe9},
	{"\xdf\xbf", 2, 2, 0x7ff},
	{"\xe0\xa0\x80", 3, 3, 0x800},
	{"\xe2\x82\xac", 3, 3, 0x20ac},
	{"\xed\x9f\xbf", 3, 3, 0xd7ff},
	{"\xee\x80\x80", 3, 3, 0xe000},
	{"\xef\xbf\xbf", 3, 3, 0xffff},
	{"\xf0\x90\x80\x80", 4, 4, 0x10000},
	{"\xf0\x9f\x93\xa7", 4, 4, 0x1f4e7},
	{"\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff},
	{"\xc3\xa9", 1, 0, 0},         /* cut short by n */
	{"\xe2\x82", 2, 0, 0},         /* cut short */
	{"\xe2\x82\x41", 3, 0, 0},     /* not a continuation */
	{"\x80", 1, 0, 0},             /* a stray continuation */
	{"\xc0\xaf", 2, 0, 0},         /* overlong */
	{"\xc1\xbf", 2, 0, 0},         /* overlong */
	{"\xe0\x9f\xbf", 3, 0, 0},     /* overlong */
	{"\xf0\x8f\xbf\xbf", 4, 0, 0}, /* overlong */
	{"\xed\xa0\x80", 3, 0, 0},     /* a surrogate */
	{"\xed\xbf\xbf", 3, 0, 0},     /* a surrogate */
	{"\xf4\x90\x80\x80", 4, 0, 0}, /* past U+10FFFF */
	{"\xf5\x80\x80\x80", 4, 0, 0}, /* never UTF-8 */
	{"\xff", 1, 0, 0},
};

/* utf8_cut: what is kept of in for at most max bytes. */
static const struct {
	const char *in;
	size_t max;
	size_t kept;
} cuts[] = {
	{"abc", 3, 3},
	{"abc", 5, 3},
	{"abcd", 3, 3},
	{"ab\xc3\xa9", 3, 2},
	{"ab\xc3\xa9", 4, 4},
	{"a\xe2\x82\xac", 2, 1},
	{"a\xe2\x82\xac", 3, 1},
	{"a\xf0\x9f\x93\xa7z", 4, 1},
	{"a\xf0\x9f\x93\xa7z", 5, 5},
	{"\x80\x80\x80", 2, 0},
};

static void
test_utf8(void)
{
	for (size_t i = 0; i < sizeof utf8 / sizeof utf8[0]; i++) {
		const unsigned char *s = (const unsigned char *)utf8[i].in;
		size_t len = utf8_char_len(s, utf8[i].n);

		is_int((long)utf8[i].len, (long)len, "utf8_char_len %zu", i);
		if (len > 0)
			is_int((long)utf8[i].cp, (long)utf8_code_point(s, len),
			       "utf8_code_point %zu", i);
	}
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
		is_int((long)cuts[i].kept,
		       (long)utf8_cut(cuts[i].in, strlen(cuts[i].in), cuts[i].max), "utf8_cut %zu",
		       i);
}

/* buf_append_encoded_words: words of whole characters, max bytes each. */
static const struct {
	const char *in;
	size_t max;
	const char *out;
} encoded[] = {
	{"", 45, ""},
	{"caf\xc3\xa9", 45, "=?UTF-8?B?Y2Fmw6k=?="},
	{"caf\xc3\xa9", 4, "=?UTF-8?B?Y2Fm?= =?UTF-8?B?w6k=?="},
	{"caf\xc3\xa9", 3, "=?UTF-8?B?Y2Fm?= =?UTF-8?B?w6k=?="},
	{"\xe2\x82\xac\xe2\x82\xac", 4, "=?UTF-8?B?4oKs?= =?UTF-8?B?4oKs?="},
	/* No whole character fits: a byte goes alone rather than nothing. */
	{"\xe2\x82\xac", 2, "=?UTF-8?B?4g==?= =?UTF-8?B?gqw=?="},
};

static void
test_encoded_words(void)
{
	for (size_t i = 0; i < sizeof encoded / sizeof encoded[0]; i++) {
		struct buf b;

		buf_init(&b, 0);
		buf_append_encoded_words(&b, encoded[i].in, strlen(encoded[i].in), encoded[i].max);
		is_string(encoded[i].out, b.data ? b.data : "", "encoded words %zu", i);
		buf_free(&b);
	}
}

/* fingerprint_parse with room for max bytes. */
static const struct {
	const char *in;
	size_t max;
	int rc;
	const char *bytes;
} fingerprints[] = {
	{"00", 4, 1, "\x00"},
	{"aB:Cd:eF:09", 4, 4, "\xab\xcd\xef\x09"},
	{"aB:Cd:eF:09:10", 4, -1, NULL}, /* more than max */
	{"", 4, -1, NULL},
	{"a", 4, -1, NULL},
	{"abc", 4, -1, NULL},
	{"ab:", 4, -1, NULL},
	{":ab", 4, -1, NULL},
	{"ab::cd", 4, -1, NULL},
	{"ab-cd", 4, -1, NULL},
	{"abcd", 4, -1, NULL},
	{"ag", 4, -1, NULL},
	{"ab:cd ", 4, -1, NULL},
};

static void
test_fingerprints(void)
{
	for (size_t i = 0; i < sizeof fingerprints / sizeof fingerprints[0]; i++) {
		unsigned char out[4];
		int rc = fingerprint_parse(fingerprints[i].in, out, fingerprints[i].max);

		is_int(fingerprints[i].rc, rc, "fingerprint_parse(\"%s\")", fingerprints[i].in);
		if (rc > 0 && fingerprints[i].bytes != NULL)
			is_mem(fingerprints[i].bytes, (size_t)rc, out, (size_t)rc,
			       "fingerprint_parse(\"%s\") bytes", fingerprints[i].in);
	}
}

static void
test_quoted(void)
{
	static const struct {
		const char *in, *out;
	} quoted[] = {
		{"", "\"\""},
		{"John Doe", "\"John Doe\""},
		{"a\"b\\c", "\"a\\\"b\\\\c\""},
	};

	for (size_t i = 0; i < sizeof quoted / sizeof quoted[0]; i++) {
		struct buf b;

		buf_init(&b, 0);
		buf_append_quoted(&b, quoted[i].in, strlen(quoted[i].in));
		is_string(quoted[i].out, b.data, "quoted-string %zu", i);
		buf_free(&b);
	}
}

int
main(void)
{
	struct buf b;

	plan_lazy();
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
		long v = 0;
		int rc = parse_long(numbers[i].in, numbers[i].min, numbers[i].max, &v);

		is_int(numbers[i].rc, rc, "parse_long(\"%s\")", numbers[i].in);
		if (rc == 0)
			is_int(numbers[i].value, v, "parse_long(\"%s\") value", numbers[i].in);
	}
	for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++) {
		buf_init(&b, 0);
		base64_encode((const unsigned char *)b64[i].plain, strlen(b64[i].plain), &b);
		is_string(b64[i].encoded, b.data ? b.data : "", "base64 of \"%s\"", b64[i].plain);
		buf_free(&b);
		buf_init(&b, 0);
		is_int(0, base64_decode(b64[i].encoded, strlen(b64[i].encoded), &b), "decode ok");
		is_mem(b64[i].plain, strlen(b64[i].plain), b.data, b.len, "decode of %s",
		       b64[i].encoded);
		buf_free(&b);
	}
	buf_init(&b, 0);
	is_int(-1, base64_decode("Zm9", 3, &b), "base64: length not a multiple of 4");
	is_int(-1, base64_decode("Zm9*", 4, &b), "base64: bad character");
	is_int(-1, base64_decode("Z=9v", 4, &b), "base64: padding inside");
	buf_free(&b);

	buf_init(&b, 8);
	is_int(0, buf_append(&b, "12345678", 8), "buffer fills to its bound");
	is_int(-1, buf_append(&b, "9", 1), "buffer refuses past its bound");
	is_int(8, (long)b.len, "refused append leaves it unchanged");
	buf_free(&b);
	ok(b.data == NULL && b.len == 0, "buf_free empties");

	ok(has_line_breaks("a\rb", 3), "CR found");
	ok(has_line_breaks("a\nb", 3), "LF found");
	ok(has_line_breaks("a\0b", 3), "NUL found");
	ok(!has_line_breaks("a b", 3), "clean string");
	test_visible();
	test_commands();
	test_hex();
	test_read_to_eof();
	test_utf8();
	test_encoded_words();
	test_fingerprints();
	test_quoted();
	return 0;
}
