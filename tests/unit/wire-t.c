/* wire-t.c - tests for src/wire.c: CRLF, dot-stuffing, long lines, and
 * that splitting the input anywhere gives the same output. */
#include "config.h"

#include "wire.h"

#include "tap/basic.h"

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
	{"a\rb\n", "a\rb\r\n.\r\n", "bare CR kept"},
	{"a\r", "a\r\r\n.\r\n", "trailing bare CR kept"},
	{"\r\n.\r\n", "\r\n..\r\n.\r\n", "dot after CRLF stuffed"},
	{"x\n\n", "x\r\n\r\n.\r\n", "empty line kept"},
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

	/* 2000 octets: a CRLF after 998 and after 1996. */
	memset(line, 'x', 2000);
	line[2000] = '\n';
	encode(line, 2001, 4096, &out);
	is_int(2000 + 2 * 3 + 3, (long)out.len, "long line: two extra breaks");
	ok(memcmp(out.data + 998, "\r\nx", 3) == 0, "break after 998 octets");
	ok(memcmp(out.data + 1998, "\r\nx", 3) == 0, "break after 1996 octets");
	buf_free(&out);

	/* Exactly 998 octets: no extra break. */
	encode(line, 998, 7, &out);
	is_int(998 + 2 + 3, (long)out.len, "998 octets: no break");
	buf_free(&out);

	/* A dot that lands at the start of a broken line is stuffed. */
	memset(line, 'x', 998);
	line[998] = '.';
	encode(line, 999, 5, &out);
	ok(out.len == 998 + 2 + 2 + 2 + 3 && memcmp(out.data + 998, "\r\n..\r\n", 6) == 0,
	   "dot after a forced break is stuffed");
	buf_free(&out);
	return 0;
}
