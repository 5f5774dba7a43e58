/* wire-t.c - tests for src/wire.c: CRLF, lone CR and LF, dot-stuffing,
 * long lines sent whole, and that splitting the input anywhere gives the
 * same output; plus an oracle over many generated inputs. */
#include "config.h"

#include "wire.h"

#include "tap/basic.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *in;
	const char *out;
	const char *what;
} cases[] = {
	{"", ".\r\n", "empty message"},
	{"a\n", "a\r\n.\r\n", "bare LF becomes CRLF"},
	{"a\r\n", "a\r\n.\r\n", "CRLF stays"},
	{"a", "a\r\n.\r\n", "missing final line ending added"},
	{".\n", "..\r\n.\r\n", "lone dot stuffed"},
	{"a\n.b\n..c\n", "a\r\n..b\r\n...c\r\n.\r\n", "leading dots stuffed"},
	{"a.\n", "a.\r\n.\r\n", "dot inside a line untouched"},
	{"a\rb\n", "a\r\nb\r\n.\r\n", "bare CR ends the line"},
	{"a\r", "a\r\n.\r\n", "trailing bare CR ends the line"},
	{"\r\n.\r\n", "\r\n..\r\n.\r\n", "dot after CRLF stuffed"},
	{"x\n\n", "x\r\n\r\n.\r\n", "empty line kept"},
	{"a\r.\r\nb\n", "a\r\n..\r\nb\r\n.\r\n", "CR dot CRLF cannot end the data"},
	{"a\n.\rb\n", "a\r\n..\r\nb\r\n.\r\n", "LF dot CR cannot end the data"},
	{"a\r\r\nb", "a\r\n\r\nb\r\n.\r\n", "CR CR LF: two line ends"},
	{"a\n\rb", "a\r\n\r\nb\r\n.\r\n", "LF CR: two line ends"},
	{"\r.", "\r\n..\r\n.\r\n", "dot after a leading CR stuffed"},
};

static void
encode(const char *in, size_t n, size_t split, struct buf *out)
{
	struct wire_encoder w;

	wire_init(&w);
	buf_init(out, 0);
	for (size_t i = 0; i < n; i += split)
		wire_encode(&w, in + i, n - i < split ? n - i : split, out);
	wire_finish(&w, out);
}

/* Deterministic pseudo-random numbers (xorshift64), so a failure repeats. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* What the receiver must get back: every CRLF, lone CR and lone LF as
 * CRLF, and a final CRLF when the input does not end with a line end. */
static void
normalised(const char *in, size_t n, struct buf *out)
{
	buf_init(out, 0);
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
			i++;
		if (in[i] == '\r' || in[i] == '\n')
			buf_append(out, "\r\n", 2);
		else
			buf_append(out, in + i, 1);
	}
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		buf_append(out, "\r\n", 2);
}

/* Checks the wire rules on enc (the encoder's output) and that undoing
 * the dot-stuffing gives want; returns NULL or what is wrong. */
static const char *
oracle(const struct buf *enc, const struct buf *want)
{
	const char *p = enc->data;
	size_t n = enc->len;
	struct buf body;
	const char *why = NULL;

	if (n < 3 || memcmp(p + n - 3, ".\r\n", 3) != 0 || (n > 3 && p[n - 4] != '\n'))
		return "does not end with CRLF . CRLF";
	n -= 3;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'))
			return "a CR without LF";
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return "an LF without CR";
	}
	buf_init(&body, 0);
	for (size_t start = 0; start < n && why == NULL;) {
		const char *lf = memchr(p + start, '\n', n - start);
		size_t end = (size_t)(lf - p) + 1;

		if (end - start == 3 && p[start] == '.')
			why = "a line that is only a dot";
		else if (p[start] == '.' && (end - start < 4 || p[start + 1] != '.'))
			why = "a leading dot not stuffed";
		else if (p[start] == '.')
			buf_append(&body, p + start + 1, end - start - 1);
		else
			buf_append(&body, p + start, end - start);
		start = end;
	}
	if (why == NULL && (body.len != want->len ||
			    (body.len > 0 && memcmp(body.data, want->data, body.len) != 0)))
		why = "unstuffed output differs from the normalised input";
	buf_free(&body);
	return why;
}

/* Many inputs, each encoded whole and in random pieces. */
static void
test_oracle(void)
{
	static const char alphabet[] = "\r\n.a\r\n. ";
	char in[300];
	size_t failures = 0;
	const size_t rounds = 20000;

	for (size_t r = 0; r < rounds; r++) {
		size_t n = (size_t)(next_random() % sizeof in);
		struct wire_encoder w;
		struct buf whole, split, want;
		const char *why;

		for (size_t i = 0; i < n; i++)
			in[i] = r % 4 == 0 ? (char)next_random()
					   : alphabet[next_random() % (sizeof alphabet - 1)];
		encode(in, n, n + 1, &whole);
		wire_init(&w);
		buf_init(&split, 0);
		for (size_t i = 0; i < n;) {
			size_t k = (size_t)(next_random() % 5);

			if (k > n - i)
				k = n - i;
			wire_encode(&w, in + i, k, &split);
			i += k;
		}
		wire_finish(&w, &split);
		normalised(in, n, &want);
		why = oracle(&whole, &want);
		if (why == NULL &&
		    (split.len != whole.len || memcmp(split.data, whole.data, whole.len) != 0))
			why = "split input gives another output";
		if (why != NULL && failures++ < 5)
			diag("round %zu (%zu bytes): %s", r, n, why);
		buf_free(&whole);
		buf_free(&split);
		buf_free(&want);
	}
	is_int(0, (long)failures, "oracle: %zu inputs, random bytes and splits", rounds);
}

int
main(void)
{
	struct buf out;
	char line[3000];

	plan_lazy();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (size_t split = 1; split <= 3; split++) {
			size_t n = strlen(cases[i].in);

			encode(cases[i].in, n, split == 3 ? n + 1 : split, &out);
			is_mem(cases[i].out, strlen(cases[i].out), out.data, out.len,
			       "%s (split %zu)", cases[i].what, split);
			buf_free(&out);
		}
	}

	/* NUL and 8-bit bytes pass unchanged. */
	encode("a\0\xff\n", 4, 100, &out);
	is_mem("a\0\xff\r\n.\r\n", 8, out.data, out.len, "NUL and 8-bit bytes pass");
	buf_free(&out);

	/* A 2000-octet line goes out whole: long lines are not broken (this
	 * used to insert a CRLF after every 998 octets). */
	memset(line, 'x', 2000);
	line[2000] = '\n';
	for (size_t split = 7; split <= 4096; split *= 8) {
		encode(line, 2001, split, &out);
		ok(out.len == 2000 + 2 + 3 && memcmp(out.data, line, 2000) == 0 &&
			   memcmp(out.data + 2000, "\r\n.\r\n", 5) == 0,
		   "2000-octet line sent whole (split %zu)", split);
		buf_free(&out);
	}

	/* A dot after 998 octets is no line start: not stuffed. */
	memset(line, 'x', 998);
	line[998] = '.';
	encode(line, 999, 5, &out);
	ok(out.len == 999 + 2 + 3 && out.data[998] == '.' && out.data[999] == '\r',
	   "a dot after 998 octets is not stuffed");
	buf_free(&out);

	test_oracle();
	return 0;
}
