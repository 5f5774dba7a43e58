/* message-t.c - tests for src/message.c: where headers end, field
 * callbacks, -t recipients, the From address, header rewriting, Date
 * format, Message-ID generation and 8-bit detection. */
#include "config.h"

#include "message.h"

#include "tests/tap/basic.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MEM(s) s, sizeof(s) - 1

/* 2026-11-26 08:25:45 UTC, a Thursday. */
#define NOW 1795681545

static const struct {
	const char *in;
	size_t len;
	size_t max;          /* 0: MESSAGE_HEADER_MAX */
	const char *headers; /* the header block; NULL: an error is expected */
	const char *body;    /* or the error text */
	size_t body_len;
	bool separator;
	const char *eol;
} layout_cases[] = {
	{MEM("To: a@b\nSubject: x\n\nbody\n"), 0, "To: a@b\nSubject: x\n", MEM("body\n"), true,
	 "\n"},
	{MEM("To: a@b\r\nSubject: x\r\n\r\nbody\r\n"), 0, "To: a@b\r\nSubject: x\r\n",
	 MEM("body\r\n"), true, "\r\n"},
	{MEM("To: a@b\r\nSubject: x\n\r\nbody\n"), 0, "To: a@b\r\nSubject: x\n", MEM("body\n"),
	 true, "\r\n"},
	{MEM("To: a@b\nSubject: x\r\n\nb"), 0, "To: a@b\nSubject: x\r\n", MEM("b"), true, "\n"},
	{MEM("To: a@b\nSubject: x\n"), 0, "To: a@b\nSubject: x\n", MEM(""), false, "\n"},
	{MEM("To: a@b\nSubject: x"), 0, "To: a@b\nSubject: x", MEM(""), false, "\n"},
	{MEM(""), 0, "", MEM(""), false, "\n"},
	{MEM("\n"), 0, "", MEM(""), true, "\n"},
	{MEM("\nbody\n"), 0, "", MEM("body\n"), true, "\n"},
	{MEM("hello world\n"), 0, "", MEM("hello world\n"), false, "\n"},
	{MEM("To: a@b\nThis is the body\nmore\n"), 0, "To: a@b\n", MEM("This is the body\nmore\n"),
	 false, "\n"},
	{MEM("To: a@b\n: no name\n"), 0, "To: a@b\n", MEM(": no name\n"), false, "\n"},
	{MEM("To: a@b\n--boundary\n"), 0, "To: a@b\n", MEM("--boundary\n"), false, "\n"},
	{MEM("From me@x Thu Nov 26 09:25:45 2026\nTo: a@b\n\nbody"), 0, "To: a@b\n", MEM("body"),
	 true, "\n"},
	{MEM("From me@x Thu Nov 26 09:25:45 2026\r\nTo: a@b\r\n\r\nbody"), 0, "To: a@b\r\n",
	 MEM("body"), true, "\r\n"},
	{MEM("From me@x Thu Nov 26 09:25:45 2026\n"), 0, "", MEM(""), false, "\n"},
	{MEM("From: me@x\nTo: a@b\n\nb"), 0, "From: me@x\nTo: a@b\n", MEM("b"), true, "\n"},
	{MEM("From : me@x\n\nb"), 0, "From : me@x\n", MEM("b"), true, "\n"},
	{MEM("Subject: a\n b\n\tc\nTo: x\n\nbody"), 0, "Subject: a\n b\n\tc\nTo: x\n", MEM("body"),
	 true, "\n"},
	{MEM("To: a\n  \n\nbody"), 0, "To: a\n  \n", MEM("body"), true, "\n"},
	{MEM(" To: x\n\nbody"), 0, "", MEM(" To: x\n\nbody"), false, "\n"},
	{MEM("To: a\n\nb\0dy\n"), 0, "To: a\n", MEM("b\0dy\n"), true, "\n"},
	{MEM("To: a\nSubject: b\0c\n\n"), 0, NULL, MEM("NUL byte in header line 2"), false, NULL},
	{MEM("From x\nTo: a\n\tb\0c\n\n"), 0, NULL, MEM("NUL byte in header line 3"), false, NULL},
	{MEM("Subject: 0123456789\n\n"), 10, NULL, MEM("headers larger than 10 bytes"), false,
	 NULL},
	{MEM("Subject: 012345678\n\nmuch longer body"), 19, "Subject: 012345678\n",
	 MEM("much longer body"), true, "\n"},
	{MEM("Subject: 012345678\n\n"), 18, NULL, MEM("headers larger than 18 bytes"), false, NULL},
	/* A reader's head: the first max + 2 bytes of a longer message.  A
	 * header block of exactly max bytes and its CRLF empty line fit. */
	{"Subject: 012345678\n\r\nbody", 21, 19, "Subject: 012345678\n", MEM(""), true, "\n"},
	{"Subject: 012345678\n\nbody", 21, 19, "Subject: 012345678\n", MEM("b"), true, "\n"},
	/* A field cut by the end of the head is never taken for the body. */
	{"Subject: 012345678\nBcc: x@y\n\n", 21, 19, NULL, MEM("headers larger than 19 bytes"),
	 false, NULL},
	{"Subject: 012345678\n Bcc: x@y\n\n", 21, 19, NULL, MEM("headers larger than 19 bytes"),
	 false, NULL},
	{"Subject: 0123456789\nBcc: x@y\n\n", 21, 19, NULL, MEM("headers larger than 19 bytes"),
	 false, NULL},
	/* A body line that cannot be a field may start just before max. */
	{"Subject: 012345678\n:) x", 21, 19, "Subject: 012345678\n", MEM(":)"), false, "\n"},
	{MEM("From me@x Thu Nov 26 09:25:45 2026\n\nbody"), 10, NULL,
	 MEM("headers larger than 10 bytes"), false, NULL},
};

static void
test_layout(void)
{
	for (size_t i = 0; i < COUNT(layout_cases); i++) {
		const char *in = layout_cases[i].in;
		size_t len = layout_cases[i].len;
		size_t max = layout_cases[i].max ? layout_cases[i].max : MESSAGE_HEADER_MAX;
		struct message_layout lay;
		struct error e;
		int rc;

		error_clear(&e);
		rc = message_layout(in, len, max, &lay, &e);
		if (layout_cases[i].headers == NULL) {
			ok(rc == -1 && e.status == ST_DATAERR, "layout %zu: error", i);
			is_string(layout_cases[i].body, e.msg, "layout %zu: message", i);
			continue;
		}
		is_int(0, rc, "layout %zu: ok (%s)", i, e.msg);
		is_mem(layout_cases[i].headers, strlen(layout_cases[i].headers),
		       in + lay.header_start, lay.header_end - lay.header_start,
		       "layout %zu: headers", i);
		is_mem(layout_cases[i].body, layout_cases[i].body_len, in + lay.body_start,
		       len - lay.body_start, "layout %zu: body", i);
		is_int(layout_cases[i].separator, lay.has_separator, "layout %zu: separator", i);
		is_string(layout_cases[i].eol, lay.eol, "layout %zu: line ending", i);
	}
}

/* Field callbacks: each field as "name=raw" joined with '|'. */
struct collect {
	struct buf b;
	size_t stop_after; /* 0: never */
	size_t fail_after; /* 0: never */
	size_t n;
};

static int
collect_cb(void *ctx, const struct message_field *f, struct error *e)
{
	struct collect *c = ctx;

	buf_printf(&c->b, "%s%.*s=%.*s", c->n ? "|" : "", (int)f->name_len, f->name,
		   (int)f->raw_len, f->raw);
	c->n++;
	if (c->fail_after != 0 && c->n == c->fail_after)
		return error_set(e, ST_DATAERR, "stop %zu", f->line);
	return c->stop_after != 0 && c->n == c->stop_after;
}

static const struct {
	const char *in;
	size_t stop_after, fail_after;
	int rc;
	const char *want;
} field_cases[] = {
	{"To: a\nSubject: s\n\nX: body\n", 0, 0, 0, "To=To: a\n|Subject=Subject: s\n"},
	{"Subject: a\r\n b\r\nTo : c\r\n\r\n", 0, 0, 0,
	 "Subject=Subject: a\r\n b\r\n|To=To : c\r\n"},
	{"From x y\nA: 1\nB: 2", 0, 0, 0, "A=A: 1\n|B=B: 2"},
	{"A: 1\nB: 2\nC: 3\n", 2, 0, 0, "A=A: 1\n|B=B: 2\n"},
	{"A: 1\nB: 2\nC: 3\n", 0, 2, -1, "A=A: 1\n|B=B: 2\n"},
	{"body only\nA: 1\n", 0, 0, 0, ""},
};

static void
test_fields(void)
{
	for (size_t i = 0; i < COUNT(field_cases); i++) {
		struct collect c = {.stop_after = field_cases[i].stop_after,
				    .fail_after = field_cases[i].fail_after};
		struct error e;
		int rc;

		buf_init(&c.b, 0);
		error_clear(&e);
		rc = message_fields(field_cases[i].in, strlen(field_cases[i].in), collect_cb, &c,
				    &e);
		is_int(field_cases[i].rc, rc, "fields %zu: result", i);
		is_string(field_cases[i].want, c.b.data ? c.b.data : "", "fields %zu: fields", i);
		buf_free(&c.b);
	}
	struct message_field f = {.name = "bcc: x", .name_len = 3};

	ok(message_field_is(&f, "Bcc"), "field names ignore case");
	ok(!message_field_is(&f, "Bc"), "field names compare whole");
}

static char *
joined(const struct strlist *l)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	for (size_t i = 0; i < l->n; i++)
		buf_printf(&b, "%s%s", i ? "|" : "", l->v[i]);
	s = xstrdup(b.data ? b.data : "");
	buf_free(&b);
	return s;
}

static const struct {
	const char *preset; /* already in the list, or NULL */
	const char *in;
	size_t len;
	const char *want; /* NULL: error, and this text in its message: */
	const char *error;
} rcpt_cases[] = {
	{NULL, MEM("To: a@x, b@y\nCc: c@z\nBcc: d@w\nSubject: s\n\n"), "a@x|b@y|c@z|d@w", NULL},
	{NULL, MEM("TO: a@x\ncc: b@x\nbcc: c@x\n"), "a@x|b@x|c@x", NULL},
	{NULL, MEM("To: a@x, A@X\nCc: a@x, b@y\nTo: B@Y\n"), "a@x|b@y", NULL},
	{NULL, MEM("Bcc: a@x,\n b@y\nTo: c@z\n"), "a@x|b@y|c@z", NULL},
	{NULL, MEM("To: undisclosed-recipients:;\nBcc: h@x\n"), "h@x", NULL},
	{NULL, MEM("To: Team: a@x, \"Doe, J\" <j@x>;\n"), "a@x|j@x", NULL},
	{NULL, MEM("To: a@x\n\nCc: b@y\n"), "a@x", NULL},
	{NULL, MEM("Subject: none\n"), "", NULL},
	{NULL, MEM("To: root (Cron Daemon)\n"), "root", NULL},
	{NULL,
	 MEM("Resent-To: r1@x\nResent-Cc: r2@x\nResent-Date: d\nReceived: by x\n"
	     "Resent-To: old@x\nTo: orig@x\n"),
	 "r1@x|r2@x", NULL},
	{NULL,
	 MEM("Resent-To: new@x\nResent-Date: d1\nResent-To: old@x\nResent-Date: d2\nTo: o@x\n"),
	 "new@x", NULL},
	{NULL, MEM("Received: by x\nResent-From: f@x\nResent-Bcc: b@x\nTo: o@x\n"), "b@x", NULL},
	{NULL, MEM("Resent-From: f@x\nTo: o@x\n"), "", NULL},
	{NULL, MEM("resent-to: r@x\nTO: t@x\n"), "r@x", NULL},
	{NULL, MEM("Resent-X-Custom: 1\nResent-Cc: c@x\nResent-X-Custom: 2\n"), "c@x", NULL},
	{"a@x", MEM("To: A@x, b@y\n"), "a@x|b@y", NULL},
	{NULL, MEM("Subject: s\nTo: John Doe\n"), NULL, "To header on line 2"},
	{NULL, MEM("Resent-To: <a@b\nTo: x@y\n"), NULL, "Resent-To header on line 1"},
	{NULL, MEM("To: a@x\nCc: b\0@x\n"), NULL, "NUL byte in header line 2"},
};

static void
test_recipients(void)
{
	for (size_t i = 0; i < COUNT(rcpt_cases); i++) {
		const char *in = rcpt_cases[i].in;
		size_t len = rcpt_cases[i].len;
		struct strlist l;
		struct error e;
		int rc;

		strlist_init(&l);
		if (rcpt_cases[i].preset != NULL)
			strlist_add(&l, rcpt_cases[i].preset);
		error_clear(&e);
		rc = message_recipients(in, len, &l, &e);
		if (rcpt_cases[i].want == NULL) {
			ok(rc == -1 && e.status == ST_DATAERR, "rcpt %zu: error", i);
			ok(strstr(e.msg, rcpt_cases[i].error) != NULL, "rcpt %zu: message \"%s\"",
			   i, e.msg);
		} else {
			char *got = joined(&l);

			is_int(0, rc, "rcpt %zu: ok (%s)", i, e.msg);
			is_string(rcpt_cases[i].want, got, "rcpt %zu: recipients", i);
			free(got);
		}
		strlist_free(&l);
	}
}

static const struct {
	const char *in;
	const char *want; /* "" for NULL, "!" for an error */
} from_cases[] = {
	{"To: x@y\nFrom: Joe <joe@x>\n", "joe@x"},
	{"From: root (Cron Daemon)\n", "root"},
	{"From: a@x, b@y\nFrom: c@z\n", "a@x"},
	{"To: x@y\n", ""},
	{"From:\n", ""},
	{"Subject: x\n\nFrom: body@x\n", ""},
	{"From sender@x Thu Nov 26 09:25:45 2026\nTo: a@b\n", ""},
	{"Sender: s@x\nFrom: \"A, B\" <ab@x>\n", "ab@x"},
	{"From: John Doe\n", "!"},
	/* The address parsed before the error is freed (the sanitizer build
	 * checks for the leak). */
	{"From: a@example.org, \"unterminated\n", "!"},
	{"From: a@example.org, b@example.org (x\\\n", "!"},
};

static void
test_from(void)
{
	for (size_t i = 0; i < COUNT(from_cases); i++) {
		char unset[] = "unset";
		char *addr = unset;
		struct error e;
		int rc;

		error_clear(&e);
		rc = message_from_address(from_cases[i].in, strlen(from_cases[i].in), &addr, &e);
		if (strcmp(from_cases[i].want, "!") == 0) {
			ok(rc == -1 && e.status == ST_DATAERR && addr == NULL,
			   "from %zu: error (%s)", i, e.msg);
			continue;
		}
		is_int(0, rc, "from %zu: ok (%s)", i, e.msg);
		if (*from_cases[i].want == '\0')
			ok(addr == NULL, "from %zu: no address", i);
		else
			is_string(from_cases[i].want, addr, "from %zu: address", i);
		free(addr);
	}
}

#define DATE "Date: Thu, 26 Nov 2026 08:25:45 +0000"
#define MSGID "Message-ID: <id@test>"
#define GEN DATE "\n" MSGID "\n"

#define AUTO MESSAGE_SET_AUTO
#define ON MESSAGE_SET_ON
#define OFF MESSAGE_SET_OFF

static const struct {
	const char *in;
	size_t len;
	bool remove_bcc;
	enum message_set from, date, msgid;
	const char *from_addr, *from_name;
	size_t max;       /* 0: no bound */
	const char *want; /* NULL: error, with this in the message: */
	const char *error;
} rewrite_cases[] = {
	{MEM("To: a@x\nBcc: b@x,\n c@x\nSubject: s\n"), true, AUTO, AUTO, AUTO, "me@x", NULL, 0,
	 "To: a@x\nSubject: s\nFrom: me@x\n" GEN, NULL},
	{MEM("To: a@x\nBcc: b@x,\n c@x\nSubject: s\n"), false, AUTO, AUTO, AUTO, "me@x", NULL, 0,
	 "To: a@x\nBcc: b@x,\n c@x\nSubject: s\nFrom: me@x\n" GEN, NULL},
	{MEM("BCC: b@x\nResent-Bcc: c@x\n\tmore\nresent-bcc: d@x\nTo: a@x\n"), true, OFF, OFF, OFF,
	 NULL, NULL, 0, "To: a@x\n", NULL},
	{MEM("Bcc:\nTo: a@x\n"), true, OFF, OFF, OFF, NULL, NULL, 0, "To: a@x\n", NULL},
	{MEM("From: f@x\nDate: d\nMessage-ID: <m@x>\n"), true, AUTO, AUTO, AUTO, "me@x", NULL, 0,
	 "From: f@x\nDate: d\nMessage-ID: <m@x>\n", NULL},
	{MEM("FROM: f@x\ndate: d\nmessage-id: <m@x>\n"), true, AUTO, AUTO, AUTO, "me@x", NULL, 0,
	 "FROM: f@x\ndate: d\nmessage-id: <m@x>\n", NULL},
	{MEM("From: old@x\nTo: a@x\nFrom: old2@x\n"), true, ON, OFF, OFF, "me@x", "Me", 0,
	 "From: Me <me@x>\nTo: a@x\n", NULL},
	{MEM("From: old@x\n (folded)\nTo: a@x\n"), true, ON, OFF, OFF, "me@x", NULL, 0,
	 "From: me@x\nTo: a@x\n", NULL},
	{MEM("To: a@x\n"), true, ON, OFF, OFF, "me@x", NULL, 0, "To: a@x\nFrom: me@x\n", NULL},
	{MEM("From: old@x\nTo: a@x\n"), true, ON, OFF, OFF, "", NULL, 0, "From: old@x\nTo: a@x\n",
	 NULL},
	{MEM("To: a@x\n"), true, OFF, AUTO, AUTO, "me@x", NULL, 0, "To: a@x\n" GEN, NULL},
	{MEM("To: a@x\n"), true, AUTO, OFF, OFF, NULL, NULL, 0, "To: a@x\n", NULL},
	{MEM("To: a@x\n"), true, AUTO, ON, ON, "", NULL, 0, "To: a@x\n" GEN, NULL},
	{MEM("To: a@x\r\nSubject: s\r\n"), true, AUTO, AUTO, AUTO, "me@x", NULL, 0,
	 "To: a@x\r\nSubject: s\r\nFrom: me@x\r\n" DATE "\r\n" MSGID "\r\n", NULL},
	{MEM("To: a@x"), true, AUTO, OFF, OFF, "me@x", NULL, 0, "To: a@x\nFrom: me@x\n", NULL},
	{MEM("To: a@x\r\nSubject: s"), true, AUTO, OFF, OFF, "me@x", NULL, 0,
	 "To: a@x\r\nSubject: s\r\nFrom: me@x\r\n", NULL},
	{MEM(""), true, AUTO, AUTO, AUTO, "me@x", NULL, 0, "From: me@x\n" GEN, NULL},
	{MEM("From me@x Thu Nov 26 2026\nTo: a@x\n"), true, OFF, OFF, OFF, NULL, NULL, 0,
	 "To: a@x\n", NULL},
	{MEM("To: a@x\n\nBcc: in-body@x\n"), true, OFF, OFF, OFF, NULL, NULL, 0, "To: a@x\n", NULL},
	{MEM("To: a@x\nnot a header\nBcc: b@x\n"), true, OFF, OFF, OFF, NULL, NULL, 0, "To: a@x\n",
	 NULL},
	{MEM("To: a@x\n"), true, AUTO, OFF, OFF, "me@x", "John Doe", 0,
	 "To: a@x\nFrom: John Doe <me@x>\n", NULL},
	{MEM(""), true, AUTO, OFF, OFF, "root@h", "CronDaemon", 0, "From: CronDaemon <root@h>\n",
	 NULL},
	{MEM(""), true, AUTO, OFF, OFF, "me@x", "John Q. Doe", 0, "From: \"John Q. Doe\" <me@x>\n",
	 NULL},
	{MEM(""), true, AUTO, OFF, OFF, "me@x", "Doe, John", 0, "From: \"Doe, John\" <me@x>\n",
	 NULL},
	{MEM(""), true, AUTO, OFF, OFF, "me@x", "Say \"hi\" \\o/", 0,
	 "From: \"Say \\\"hi\\\" \\\\o/\" <me@x>\n", NULL},
	{MEM(""), true, AUTO, OFF, OFF, "me@x", "two  spaces", 0, "From: \"two  spaces\" <me@x>\n",
	 NULL},
	{MEM(""), true, AUTO, OFF, OFF, "me@x", " lead", 0, "From: \" lead\" <me@x>\n", NULL},
	{MEM(""), true, AUTO, OFF, OFF, "me@x", "J\xc3\xbcrgen", 0,
	 "From: =?UTF-8?B?SsO8cmdlbg==?= <me@x>\n", NULL},
	{MEM(""), true, AUTO, OFF, OFF, "me@x", "tab\there", 0,
	 "From: =?UTF-8?B?dGFiCWhlcmU=?= <me@x>\n", NULL},
	/* 23 two-byte characters: 44 bytes in the first word, 2 in the second. */
	{MEM(""), true, AUTO, OFF, OFF, "me@x",
	 "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
	 "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
	 "\xc3\xa4\xc3\xa4\xc3\xa4",
	 0,
	 "From: =?UTF-8?B?w6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOkw6Q=?=\n"
	 " =?UTF-8?B?w6Q=?= <me@x>\n",
	 NULL},
	{MEM(""), true, AUTO, OFF, OFF, "me@x", "Evil\r\nBcc: x@y", 0, NULL, "line break"},
	{MEM(""), true, AUTO, OFF, OFF, "me@x\nBcc: x@y", NULL, 0, NULL, "line break"},
	{MEM("To: a\0b\n"), true, OFF, OFF, OFF, NULL, NULL, 0, NULL, "NUL byte in header line 1"},
	/* A lone CR in a header line would end the line on the wire. */
	{MEM("Subject: a\rBcc: x@y\n"), true, OFF, OFF, OFF, NULL, NULL, 0, NULL,
	 "CR without LF in header line 1; end lines with LF or CRLF"},
	{MEM("To: a@b\nSubject: a\r\r\n"), true, OFF, OFF, OFF, NULL, NULL, 0, NULL,
	 "CR without LF in header line 2"},
	{MEM("To: a@b\nSubject: a\n b\rc\n"), true, OFF, OFF, OFF, NULL, NULL, 0, NULL,
	 "CR without LF in header line 3"},
	/* A CR ending the last line is its line end: not CR CR LF, which
	 * would be an empty line on the wire. */
	{MEM("To: a@b\r\nSubject: s\r"), true, AUTO, OFF, OFF, "me@x", NULL, 0,
	 "To: a@b\r\nSubject: s\r\nFrom: me@x\r\n", NULL},
	{MEM("To: a@b\nSubject: s\r"), true, OFF, OFF, OFF, NULL, NULL, 0,
	 "To: a@b\nSubject: s\r\n", NULL},
	{MEM("Subject: 0123456789\nTo: 0123456789\n"), true, OFF, OFF, OFF, NULL, NULL, 30, NULL,
	 "headers larger than 30 bytes"},
	{MEM("Subject: 0123\n"), true, AUTO, AUTO, OFF, "me@x", NULL, 40, NULL,
	 "headers larger than 40 bytes"},
};

static void
test_blank_line(void)
{
	static const struct {
		const char *in;
		bool want;
	} cases[] = {
		{"", false},
		{"To: a\n", false},
		{"To: a\n\n", true},
		{"To: a\r\n\r\nbody", true},
		{"\nbody", true},
		{"\r\nbody", true},
		{"To: a\r\nSubject: b\r\n", false},
		{"To: a\n\r", false},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		is_int(cases[i].want, message_has_blank_line(cases[i].in, strlen(cases[i].in)),
		       "message_has_blank_line case %zu", i);
}

static void
test_undisclosed(void)
{
	static const char in[] = "To: a@x\nCc: b@x,\n c@x\nBcc: d@x\nSubject: s\n";
	struct message_rewrite opts = {
		.remove_bcc = false,
		.undisclosed_recipients = true,
		.from_header = OFF,
		.date_header = OFF,
		.msgid_header = OFF,
	};
	struct error e;
	struct buf out;

	buf_init(&out, 0);
	is_int(0, message_rewrite_headers(in, sizeof in - 1, &opts, &out, &e),
	       "undisclosed_recipients: rewrite");
	is_string("Subject: s\nTo: undisclosed-recipients:;\n", out.data,
		  "undisclosed_recipients: To, Cc, Bcc replaced");
	buf_free(&out);
}

static void
test_rewrite(void)
{
	for (size_t i = 0; i < COUNT(rewrite_cases); i++) {
		struct message_rewrite opts = {
			.remove_bcc = rewrite_cases[i].remove_bcc,
			.from_header = rewrite_cases[i].from,
			.date_header = rewrite_cases[i].date,
			.msgid_header = rewrite_cases[i].msgid,
			.from_addr = rewrite_cases[i].from_addr,
			.from_name = rewrite_cases[i].from_name,
			.msgid_domain = "test",
			.msgid_override = "<id@test>",
			.now = NOW,
		};
		const char *in = rewrite_cases[i].in;
		size_t len = rewrite_cases[i].len;
		struct error e;
		struct buf out;
		int rc;

		buf_init(&out, rewrite_cases[i].max);
		error_clear(&e);
		rc = message_rewrite_headers(in, len, &opts, &out, &e);
		if (rewrite_cases[i].want == NULL) {
			ok(rc == -1 && e.status == ST_DATAERR, "rewrite %zu: error", i);
			ok(strstr(e.msg, rewrite_cases[i].error) != NULL,
			   "rewrite %zu: message \"%s\"", i, e.msg);
		} else {
			is_int(0, rc, "rewrite %zu: ok (%s)", i, e.msg);
			is_string(rewrite_cases[i].want, out.data ? out.data : "",
				  "rewrite %zu: headers", i);
		}
		buf_free(&out);
	}
}

static void
test_generated_msgid(void)
{
	struct message_rewrite opts = {
		.from_header = MESSAGE_SET_OFF,
		.date_header = MESSAGE_SET_OFF,
		.msgid_domain = "host.example",
	};
	char *a = message_make_msgid("host.example");
	char *b = message_make_msgid("host.example");
	char *c = message_make_msgid(NULL);
	struct error e;
	struct buf out;

	ok(a != NULL && b != NULL && c != NULL, "Message-IDs generated");
	is_int(1 + 32 + strlen("@host.example>"), (long)strlen(a), "Message-ID length");
	ok(a[0] == '<' && strspn(a + 1, "0123456789abcdef") == 32, "random part is hex: %s", a);
	ok(strcmp(a + 33, "@host.example>") == 0, "domain part");
	ok(strcmp(a, b) != 0, "two Message-IDs differ");
	ok(strcmp(c + 33, "@localhost>") == 0, "no domain: localhost (%s)", c);
	free(a);
	free(b);
	free(c);

	buf_init(&out, 0);
	is_int(0, message_rewrite_headers(MEM("To: a@x\n"), &opts, &out, &e), "generated id");
	ok(strncmp(out.data, "To: a@x\nMessage-ID: <", 21) == 0 &&
		   strcmp(out.data + out.len - 15, "@host.example>\n") == 0,
	   "generated Message-ID field");
	buf_free(&out);
}

static const struct {
	const char *tz;
	time_t t;
	const char *want;
} date_cases[] = {
	{"UTC0", NOW, "Thu, 26 Nov 2026 08:25:45 +0000"},
	{"CET-1CEST,M3.5.0,M10.5.0/3", NOW, "Thu, 26 Nov 2026 09:25:45 +0100"},
	{"CET-1CEST,M3.5.0,M10.5.0/3", 1783166400, "Sat, 4 Jul 2026 14:00:00 +0200"},
	{"EST5", 1799193599, "Tue, 5 Jan 2027 18:59:59 -0500"},
	{"IST-5:30", NOW, "Thu, 26 Nov 2026 13:55:45 +0530"},
	{"NST3:30", NOW, "Thu, 26 Nov 2026 04:55:45 -0330"},
	{"UTC0", 0, "Thu, 1 Jan 1970 00:00:00 +0000"},
};

static void
test_date(void)
{
	static const char *const locales[] = {"de_DE.UTF-8", "de_DE", "fr_FR.UTF-8", "C.UTF-8"};
	const char *used = NULL;
	char small[8];

	for (size_t i = 0; i < COUNT(locales) && used == NULL; i++)
		if (setlocale(LC_ALL, locales[i]) != NULL)
			used = locales[i];
	diag("locale for the Date tests: %s", used ? used : "C (none of the others installed)");
	for (size_t i = 0; i < COUNT(date_cases); i++) {
		char out[64];

		setenv("TZ", date_cases[i].tz, 1);
		tzset();
		is_int(0, message_format_date(date_cases[i].t, out, sizeof out), "date %zu: ok", i);
		is_string(date_cases[i].want, out, "date %zu: %s", i, date_cases[i].tz);
	}
	is_int(-1, message_format_date(NOW, small, sizeof small), "date: too small a buffer");
	setlocale(LC_ALL, "C");
	setenv("TZ", "UTC0", 1);
	tzset();
}

static const struct {
	const char *in;
	size_t len;
	bool want;
} eightbit_cases[] = {
	{MEM("plain ASCII\r\n"), false}, {MEM(""), false},    {MEM("nul\0and del\x7f"), false},
	{MEM("J\xc3\xbcrgen"), true},    {MEM("\x80"), true}, {MEM("end\xff"), true},
};

static void
test_8bit(void)
{
	for (size_t i = 0; i < COUNT(eightbit_cases); i++)
		is_int(eightbit_cases[i].want,
		       message_has_8bit(eightbit_cases[i].in, eightbit_cases[i].len), "8bit %zu",
		       i);
}

/* The From: field made for name: every line within 78 characters (or
 * one word that cannot be folded), continuation lines start with a blank,
 * and unfolding and decoding the encoded-words gives name back. */
static void
check_folded_from(const char *name, const char *what)
{
	struct message_rewrite opts = {
		.from_header = ON,
		.date_header = OFF,
		.msgid_header = OFF,
		.from_addr = "me@example.org",
		.from_name = name,
	};
	struct buf out, unfolded, decoded;
	struct error e = {0};
	bool lines_ok = true;
	const char *p, *end;

	buf_init(&out, 0);
	buf_init(&unfolded, 0);
	buf_init(&decoded, 0);
	is_int(0, message_rewrite_headers(MEM("Subject: s\n"), &opts, &out, &e), "%s: rewrite (%s)",
	       what, e.msg);
	is_int(0, strncmp(out.data, "Subject: s\nFrom: ", 17), "%s: the From field follows", what);
	for (p = out.data + 11; *p != '\0'; p = end + 1) {
		end = strchr(p, '\n');
		if (end == NULL || (p > out.data + 11 && *p != ' ') ||
		    (end - p > 78 && memchr(p + 1, ' ', (size_t)(end - p - 1)) != NULL))
			lines_ok = false;
		if (end == NULL)
			break;
		buf_append(&unfolded, p, (size_t)(end - p));
	}
	ok(lines_ok, "%s: folded into lines of at most 78 characters", what);
	buf_puts(&unfolded, "");
	/* The display name: encoded-words (spaces between them ignored),
	 * else the text itself. */
	p = unfolded.data + 6;
	end = strstr(p, " <me@example.org>");
	if (strncmp(p, "=?UTF-8?B?", 10) != 0) {
		buf_append(&decoded, p, end != NULL ? (size_t)(end - p) : 0);
	} else {
		while (p < end) {
			const char *q = strstr(p + 10, "?=");

			base64_decode(p + 10, (size_t)(q - p - 10), &decoded);
			p = q + 2 + (q[2] == ' ');
		}
	}
	buf_puts(&decoded, "");
	ok(end != NULL && strcmp(end, " <me@example.org>") == 0, "%s: the address ends it", what);
	is_string(name, decoded.data, "%s: the name comes back", what);
	buf_free(&out);
	buf_free(&unfolded);
	buf_free(&decoded);
}

static void
test_fold(void)
{
	char name[5001];

	memset(name, 'x', 5000);
	name[5000] = '\0';
	check_folded_from(name, "5000-character word");
	for (size_t i = 5; i < 5000; i += 6)
		name[i] = ' ';
	check_folded_from(name, "5000 characters of words");
	memset(name, 'y', 71);
	name[71] = '\0';
	check_folded_from(name, "71-character word");
	memcpy(name, "Ab ", 3);
	check_folded_from(name, "a 68-character word after a short one");
	for (size_t i = 0; i < 1000; i++)
		memcpy(name + 2 * i, "\xc3\xa4", 2);
	name[2000] = '\0';
	check_folded_from(name, "1000 two-byte characters");
}

int
main(void)
{
	plan_lazy();
	setenv("TZ", "UTC0", 1);
	tzset();
	test_layout();
	test_fields();
	test_recipients();
	test_from();
	test_rewrite();
	test_undisclosed();
	test_fold();
	test_blank_line();
	test_generated_msgid();
	test_date();
	test_8bit();
	return 0;
}
