/* lib-t.c - tests for src/lib.c: bounded buffers, number parsing, base64,
 * line-break detection, making server text visible, hex, reading to end of
 * file. */
#include "config.h"

#include "lib.h"

#include "tap/basic.h"

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
	return 0;
}
