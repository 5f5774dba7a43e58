/* wire.c - fuzz target: the DATA encoder (src/wire.h), with an oracle.
 *
 * The first byte picks a piece size (0: the whole input at once) and the
 * rest is the message, encoded in pieces of that size as the SMTP engine
 * encodes what it reads from the spool.  Checked on every input:
 * - the result is the same as encoding the message in one piece;
 * - it is at most 2n + 5 bytes (wire.h's bound);
 * - it ends with ".\r\n" after a line end, and holds no bare CR, no bare
 *   LF and no line "." before that end;
 * - every line starting with '.' starts with "..", and removing that one
 *   dot from each gives back the message with every line end (CRLF, LF, a
 *   lone CR) made CRLF and a CRLF added to a last line without one.
 * A failed check aborts, which libFuzzer reports as a crash. */
#include "config.h"

#include "fuzz.h"

#include "lib.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "wire oracle: %s\n", what);
		abort();
	}
}

static void
encode(const char *in, size_t n, size_t piece, struct buf *out)
{
	struct wire_encoder w;

	buf_init(out, 2 * n + 6);
	wire_init(&w);
	for (size_t at = 0; at < n;) {
		size_t take = piece == 0 || n - at < piece ? n - at : piece;

		check(wire_encode(&w, in + at, take, out) == 0, "wire_encode failed");
		at += take;
	}
	check(wire_finish(&w, out) == 0, "wire_finish failed");
}

/* The message as it must read after decoding: line ends made CRLF. */
static void
normalise(const char *in, size_t n, struct buf *out)
{
	buf_init(out, 0);
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\r' || in[i] == '\n') {
			buf_append(out, "\r\n", 2);
			if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
				i++;
		} else {
			buf_append(out, in + i, 1);
		}
	}
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		buf_append(out, "\r\n", 2);
}

/* Undoes the dot-stuffing of out (without the final ".\r\n"), checking
 * line ends and dots on the way. */
static void
decode(const char *p, size_t n, struct buf *out)
{
	buf_init(out, 0);
	for (size_t at = 0; at < n;) {
		const char *lf = memchr(p + at, '\n', n - at);
		size_t len;

		check(lf != NULL, "the last line has no line end");
		len = (size_t)(lf - (p + at)) + 1;
		check(len >= 2 && p[at + len - 2] == '\r', "a bare LF");
		check(memchr(p + at, '\r', len - 2) == NULL, "a bare CR");
		if (p[at] == '.') {
			check(len > 3 && p[at + 1] == '.', "a line starting with one dot");
			at++;
			len--;
		}
		buf_append(out, p + at, len);
		at += len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t n = size > 0 ? size - 1 : 0;
	struct buf whole, pieces, want, got;

	if (size == 0)
		return 0;
	encode(in, n, 0, &whole);
	encode(in, n, data[0], &pieces);
	check(whole.len == pieces.len && memcmp(whole.data, pieces.data, whole.len) == 0,
	      "encoding in pieces differs from encoding at once");
	check(whole.len <= 2 * n + 5, "longer than 2n + 5");
	check(whole.len >= 3 && memcmp(whole.data + whole.len - 3, ".\r\n", 3) == 0,
	      "does not end with .CRLF");
	check(whole.len == 3 || whole.data[whole.len - 4] == '\n',
	      "the end is not a line of its own");
	normalise(in, n, &want);
	decode(whole.data, whole.len - 3, &got);
	check(want.len == got.len && (want.len == 0 || memcmp(want.data, got.data, want.len) == 0),
	      "decoding does not give the message back");
	buf_free(&whole);
	buf_free(&pieces);
	buf_free(&want);
	buf_free(&got);
	return 0;
}
