/* transport-t.c - tests for src/transport.c over a socketpair: buffered
 * writes go out whole and in order, lines come back one by one with their
 * bound, and a closed peer, a NUL byte, an overlong line, a deadline and
 * bytes injected before TLS are each refused with the right class. */
#include "config.h"

#include "transport.h"

#include "lib.h"
#include "net.h"
#include "tap/basic.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TIMEOUT_MS 3000

/* A transport on one end of a socketpair; *peer is the other end. */
static void
open_pair(struct transport *t, int *peer)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
	    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) < 0)
		bail("socketpair failed");
	transport_init(t, sv[0], TIMEOUT_MS);
	*peer = sv[1];
}

static void
put(int fd, const char *s, size_t n)
{
	if (write(fd, s, n) != (ssize_t)n)
		bail("write failed");
}

/* Everything the peer can read now, without waiting. */
static void
drain(int fd, struct buf *out)
{
	char chunk[8192];
	ssize_t n;

	while ((n = recv(fd, chunk, sizeof chunk, MSG_DONTWAIT)) > 0)
		buf_append(out, chunk, (size_t)n);
}

static void
test_writes(void)
{
	struct transport t;
	struct buf seen, want;
	struct error e;
	char big[TRANSPORT_OUT_MAX + 1000];
	int peer;

	open_pair(&t, &peer);
	buf_init(&seen, 0);
	buf_init(&want, 0);
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 26);
	is_int(0, transport_write(&t, "MAIL FROM:<a>\r\n", 15, &e), "a small write");
	drain(peer, &seen);
	is_int(0, (long)seen.len, "is kept until the flush");
	is_int(0, transport_write(&t, "RCPT TO:<b>\r\n", 13, &e), "a second one");
	is_int(0, transport_write(&t, big, sizeof big, &e), "a write past the buffer");
	drain(peer, &seen);
	is_int(TRANSPORT_OUT_MAX, (long)seen.len, "sends one full buffer");
	is_int(0, transport_write(&t, "DATA\r\n", 6, &e), "a last small write");
	is_int(0, transport_flush(&t, &e), "the flush");
	drain(peer, &seen);
	buf_puts(&want, "MAIL FROM:<a>\r\nRCPT TO:<b>\r\n");
	buf_append(&want, big, sizeof big);
	buf_puts(&want, "DATA\r\n");
	ok(seen.len == want.len && memcmp(seen.data, want.data, want.len) == 0,
	   "the peer got every byte, in order");
	is_int(0, transport_flush(&t, &e), "an empty flush");
	ok(!transport_is_encrypted(&t), "a plain connection is not encrypted");
	buf_free(&seen);
	buf_free(&want);
	transport_close(&t);
	close(peer);
}

static void
test_lines(void)
{
	static const char input[] = "250-first\r\n250 second\nthird";
	struct transport t;
	char line[REPLY_LINE_MAX + 1];
	struct error e;
	int peer;

	open_pair(&t, &peer);
	put(peer, input, sizeof input - 1);
	is_int(9, transport_read_line(&t, line, &e), "a CRLF line");
	is_string("250-first", line, "its text");
	is_int(10, transport_read_line(&t, line, &e), "a bare LF line");
	is_string("250 second", line, "its text");
	shutdown(peer, SHUT_WR);
	error_clear(&e);
	is_int(-1, transport_read_line(&t, line, &e), "an unfinished line, then the end");
	is_int(ST_CONNECT, e.status, "the peer closing is a connectivity failure (%s)", e.msg);
	ok(t.received == sizeof input - 1, "every byte is counted as received");
	transport_close(&t);
	close(peer);
}

static void
test_refused_input(void)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
	} cases[] = {
		{"a NUL byte", "250 a\0b\r\n", 9},
		{"a line longer than REPLY_LINE_MAX", NULL, REPLY_LINE_MAX + 10},
	};
	char line[REPLY_LINE_MAX + 1], longline[REPLY_LINE_MAX + 12];
	struct transport t;
	struct error e;
	int peer;

	memset(longline, 'x', sizeof longline);
	memcpy(longline + REPLY_LINE_MAX + 10, "\r\n", 2);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		open_pair(&t, &peer);
		if (cases[i].bytes != NULL)
			put(peer, cases[i].bytes, cases[i].len);
		else
			put(peer, longline, sizeof longline);
		error_clear(&e);
		is_int(-1, transport_read_line(&t, line, &e), "%s: refused", cases[i].what);
		is_int(ST_SERVER_TEMP, e.status, "%s: the server's fault (%s)", cases[i].what,
		       e.msg);
		transport_close(&t);
		close(peer);
	}
}

static void
test_deadline(void)
{
	char line[REPLY_LINE_MAX + 1];
	struct transport t;
	struct error e;
	int peer;

	open_pair(&t, &peer);
	transport_set_deadline(&t, net_deadline(30));
	error_clear(&e);
	is_int(-1, transport_read_line(&t, line, &e), "a silent peer past the deadline");
	is_int(ST_CONNECT, e.status, "a connectivity failure (%s)", e.msg);
	ok(transport_expired(&t), "the deadline is past");
	transport_clear_deadline(&t);
	ok(!transport_expired(&t), "no deadline once cleared");
	transport_close(&t);
	close(peer);
}

static void
test_injection(void)
{
	static const char input[] = "220 go ahead\r\n250 injected\r\n";
	struct tls_params p = {.host = "localhost", .timeout_ms = TIMEOUT_MS};
	char line[REPLY_LINE_MAX + 1];
	struct transport t;
	struct error e;
	unsigned char *cb = NULL;
	const char *type = NULL;
	size_t len = 0;
	int peer;

	open_pair(&t, &peer);
	put(peer, input, sizeof input - 1);
	transport_read_line(&t, line, &e);
	error_clear(&e);
	is_int(-1, transport_start_tls(&t, &p, &e), "bytes after the 220: no TLS on top of them");
	is_int(ST_SERVER_TEMP, e.status, "refused as the server's fault (%s)", e.msg);
	is_int(-1, transport_channel_binding(&t, &type, &cb, &len), "no channel binding in clear");
	transport_close(&t);
	is_int(-1, t.fd, "closed");
	close(peer);
}

int
main(void)
{
	plan_lazy();
	test_writes();
	test_lines();
	test_refused_input();
	test_deadline();
	test_injection();
	return 0;
}
