/* notice-t.c - tests for src/notice.c: the MIME structure of a failure
 * notice, the delivery-status fields per recipient (Status from the
 * enhanced code or the default), folding of long replies, hostile bytes
 * in replies, the original headers without the body, input errors, the
 * rate limit, translated strings in the header (through a gettext()
 * defined here, which the program's own calls reach first), and a parse
 * of the result by Python's email package. */
#include "config.h"

#include "notice.h"

#include "tap/basic.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef ENABLE_NLS
#include <libintl.h>
#endif

#define NOW ((time_t)1780000000)
#define BOUNDARY "BOUNDARY"

static char tmpdir[] = "/tmp/notice-t.XXXXXX";

/* Fake translations: msgid, translation; NULL msgid ends a table. */
struct fake_translation {
	const char *msgid, *text;
};

static const struct fake_translation fr[] = {
	{"Mail Delivery System", "Syst\xc3\xa8me de livraison du courrier \xc3\xa9lectronique"},
	{"Undelivered Mail Returned to Sender",
	 "Message non distribu\xc3\xa9, retourn\xc3\xa9 \xc3\xa0 l'exp\xc3\xa9"
	 "diteur "
	 "\xe2\x80\x94 \xc3\xa7"
	 "a arrive m\xc3\xaa"
	 "me aux meilleurs \xf0\x9f\x93\xac"},
	{"The headers of your message are attached; its body is not.",
	 "Les en-t\xc3\xaates de votre message sont joints, pas son corps."},
	{NULL, NULL},
};

static const struct fake_translation specials[] = {
	{"Mail Delivery System", "Mail Delivery (outbox), \"mailer\\\""},
	{"Undelivered Mail Returned to Sender", "Undelivered\r\nBcc: evil@example.org"},
	{NULL, NULL},
};

static const struct fake_translation *translating;

#ifdef ENABLE_NLS
/* Optimised builds turn gettext() into dgettext() and that into
 * dcgettext() (libintl.h): replace all three so the module's _() calls
 * reach the fake translations. */
#undef gettext
#undef dgettext
#undef dcgettext
static char *
fake_gettext(const char *msgid)
{
	for (const struct fake_translation *t = translating; t != NULL && t->msgid != NULL; t++)
		if (strcmp(t->msgid, msgid) == 0)
			return (char *)(uintptr_t)t->text; /* gettext's own contract */
	return (char *)(uintptr_t)msgid;
}

char *
gettext(const char *msgid)
{
	return fake_gettext(msgid);
}

char *
dgettext(const char *domain, const char *msgid)
{
	return fake_gettext(msgid);
}

char *
dcgettext(const char *domain, const char *msgid, int category)
{
	return fake_gettext(msgid);
}
#endif

static const char orig_crlf[] = "Received: from x\r\n"
				"\tby y; Thu, 1 Jan 2026 00:00:00 +0000\r\n"
				"From: Alice <alice@example.org>\r\n"
				"To: bob@example.net\r\n"
				"Subject: hello\r\n"
				"\r\n"
				"SECRET-BODY-LINE\r\n"
				"more body\r\n";
static const char orig_lf[] = "Received: from x\n"
			      "\tby y; Thu, 1 Jan 2026 00:00:00 +0000\n"
			      "From: Alice <alice@example.org>\n"
			      "To: bob@example.net\n"
			      "Subject: hello\n";

static const struct notice_rcpt one_rcpt[] = {
	{"bob@example.net", "550 5.1.1 <bob@example.net>: no such user"},
};

static void
base_notice(struct notice *n, const struct notice_rcpt *r, size_t nr)
{
	memset(n, 0, sizeof *n);
	n->from_addr = "alice@example.org";
	n->to_addr = "alice@example.org";
	n->reporting_host = "laptop.example.org";
	n->remote_host = "smtp.example.org";
	n->reason = "the server refused the message";
	n->rcpts = r;
	n->nrcpts = nr;
	n->orig_headers = orig_crlf;
	n->orig_headers_len = sizeof orig_crlf - 1;
	n->arrival = NOW - 3600;
	n->last_attempt = NOW - 60;
	n->now = NOW;
	n->msgid_domain = "example.org";
	n->boundary_override = BOUNDARY;
	n->msgid_override = "<notice-1@example.org>";
}

static int
build(const struct notice *n, struct buf *out, struct error *e)
{
	buf_init(out, 0);
	error_clear(e);
	return notice_build(n, out, e);
}

/* The longest line, or SIZE_MAX when a CR or NUL is in s. */
static size_t
longest_line(const char *s, size_t len)
{
	size_t line = 0, longest = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\0')
			return SIZE_MAX;
		line = s[i] == '\n' ? 0 : line + 1;
		longest = line > longest ? line : longest;
	}
	return longest;
}

static bool
is_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* Part idx (0-based) of a multipart body with boundary b, without the
 * line ending that belongs to the next delimiter.  NULL if missing. */
static char *
mime_part(const char *msg, const char *b, int idx)
{
	char *delim = xasprintf("\n--%s\n", b);
	char *next = xasprintf("\n--%s", b);
	const char *p = msg, *end;
	char *part = NULL;

	for (int i = 0; i <= idx && p != NULL; i++) {
		p = strstr(p, delim);
		if (p != NULL)
			p += strlen(delim);
	}
	if (p != NULL && (end = strstr(p, next)) != NULL)
		part = xstrndup(p, (size_t)(end - p));
	free(delim);
	free(next);
	return part;
}

/* The body of a part (after its first empty line). */
static const char *
part_body(const char *part)
{
	const char *p = part != NULL ? strstr(part, "\n\n") : NULL;

	return p != NULL ? p + 2 : "";
}

/* The unfolded value of the first field called name in block (which ends
 * at its first empty line), newly allocated, or NULL. */
static char *
field(const char *block, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = block;
	struct buf v;

	while (*p != '\0' && *p != '\n') {
		if (strncmp(p, name, nlen) == 0 && p[nlen] == ':')
			break;
		p = strchr(p, '\n');
		if (p == NULL)
			return NULL;
		p++;
	}
	if (*p == '\0' || *p == '\n')
		return NULL;
	p += nlen + 1;
	while (*p == ' ')
		p++;
	buf_init(&v, 0);
	for (; *p != '\0'; p++) {
		if (*p == '\n' && p[1] != ' ' && p[1] != '\t')
			break;
		if (*p != '\n')
			buf_append(&v, p, 1);
	}
	return v.data != NULL ? v.data : xstrdup("");
}

static size_t
count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(s, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void
check_field(const char *block, const char *name, const char *want, const char *what)
{
	char *v = field(block, name);

	if (want == NULL)
		ok(v == NULL, "%s: no %s (got %s)", what, name, v != NULL ? v : "none");
	else
		is_string(want, v, "%s: %s", what, name);
	free(v);
}

/* One recipient each: Final-Recipient, Status and Diagnostic-Code. */
static const struct {
	const char *addr;
	const char *reply;
	const char *final;
	const char *status;
	const char *diag;
} rcpt_cases[] = {
	{"bob@example.net", "550 5.1.1 no such user", "rfc822; bob@example.net", "5.1.1",
	 "smtp; 550 5.1.1 no such user"},
	{"bob@example.net", "554 transaction failed", "rfc822; bob@example.net", "5.0.0",
	 "smtp; 554 transaction failed"},
	{"bob@example.net", "451 4.3.0 try later", "rfc822; bob@example.net", "4.3.0",
	 "smtp; 451 4.3.0 try later"},
	{"bob@example.net", "451 try later", "rfc822; bob@example.net", "4.4.7",
	 "smtp; 451 try later"},
	{"bob@example.net", NULL, "rfc822; bob@example.net", "4.4.7", NULL},
	{"bob@example.net", "550 4.1.1 wrong class", "rfc822; bob@example.net", "5.0.0",
	 "smtp; 550 4.1.1 wrong class"},
	{"bob@example.net", "no code at all", "rfc822; bob@example.net", "4.4.7",
	 "smtp; no code at all"},
	{"bob@example.net", "550 5.7.1 bad\r\nInjected: yes\r\n\r\n--=_outbox_x--",
	 "rfc822; bob@example.net", "5.7.1", "smtp; 550 5.7.1 bad Injected: yes --=_outbox_x--"},
	{"bob@example.net", "550 5.1.1 cut\0Hidden: yes", "rfc822; bob@example.net", "5.1.1",
	 "smtp; 550 5.1.1 cut"},
	{"bob@example.net", "550 5.1.1 gr\xc3\xbc\xc3\x9f\tx\x1b[0m", "rfc822; bob@example.net",
	 "5.1.1", "smtp; 550 5.1.1 gr???? x [0m"},
	{"a+b=c@example.net", "550 5.1.1 x", "rfc822; a+b=c@example.net", "5.1.1",
	 "smtp; 550 5.1.1 x"},
	{"j\xc3\xb6ran@example.net", "550 5.1.1 x", "utf-8; j\\x{F6}ran@example.net", "5.1.1",
	 "smtp; 550 5.1.1 x"},
	{"\xe7\x94\xa8+\xf0\x9f\x98\x80@\xe4\xbe\x8b.example", "553 5.1.3 x",
	 "utf-8; \\x{7528}\\x{2B}\\x{1F600}@\\x{4F8B}.example", "5.1.3", "smtp; 553 5.1.3 x"},
};

static void
test_rcpt_cases(void)
{
	for (size_t i = 0; i < sizeof rcpt_cases / sizeof rcpt_cases[0]; i++) {
		struct notice_rcpt r = {rcpt_cases[i].addr, rcpt_cases[i].reply};
		struct notice n;
		struct buf out;
		struct error e;
		char what[32];
		char *dsn, *rblock;

		snprintf(what, sizeof what, "rcpt case %zu", i);
		base_notice(&n, &r, 1);
		if (!is_int(0, build(&n, &out, &e), "%s: built (%s)", what, e.msg)) {
			buf_free(&out);
			continue;
		}
		dsn = mime_part(out.data, BOUNDARY, 1);
		rblock = dsn != NULL ? strstr(part_body(dsn), "\n\n") : NULL;
		ok(rblock != NULL, "%s: a per-recipient block", what);
		if (rblock != NULL) {
			rblock += 2;
			check_field(rblock, "Final-Recipient", rcpt_cases[i].final, what);
			check_field(rblock, "Action", "failed", what);
			check_field(rblock, "Status", rcpt_cases[i].status, what);
			check_field(rblock, "Remote-MTA", "dns; smtp.example.org", what);
			check_field(rblock, "Diagnostic-Code", rcpt_cases[i].diag, what);
		}
		ok(longest_line(out.data, out.len) <= 998, "%s: lines within 998", what);
		ok(strstr(out.data, "\nInjected:") == NULL && strstr(out.data, "\nHidden:") == NULL,
		   "%s: nothing injected", what);
		is_int(4, count(out.data, "--" BOUNDARY), "%s: four delimiter lines", what);
		free(dsn);
		buf_free(&out);
	}
}

static void
test_structure(void)
{
	static const char close[] = "\n--" BOUNDARY "--\n";
	struct notice n;
	struct buf out;
	struct error e;
	char *p[4], *ct;

	base_notice(&n, one_rcpt, 1);
	if (!is_int(0, build(&n, &out, &e), "base notice built (%s)", e.msg))
		return;
	check_field(out.data, "From", "Mail Delivery System <alice@example.org>", "notice");
	check_field(out.data, "To", "alice@example.org", "notice");
	check_field(out.data, "Subject", "Undelivered Mail Returned to Sender", "notice");
	check_field(out.data, "Date", "Thu, 28 May 2026 20:26:40 +0000", "notice");
	check_field(out.data, "Message-ID", "<notice-1@example.org>", "notice");
	check_field(out.data, "MIME-Version", "1.0", "notice");
	check_field(out.data, "Auto-Submitted", "auto-replied", "notice");
	ct = field(out.data, "Content-Type");
	is_string("multipart/report; report-type=delivery-status; boundary=\"" BOUNDARY "\"", ct,
		  "notice: Content-Type");
	free(ct);
	ok(longest_line(out.data, out.len) <= 78, "notice: short lines");
	ok(is_ascii(out.data, out.len), "notice: ASCII");

	/* Delimiters: three opening ones, then the closing one at the end. */
	is_int(3, count(out.data, "\n--" BOUNDARY "\n"), "three part delimiters");
	is_int(1, count(out.data, "\n--" BOUNDARY "--\n"), "one close delimiter");
	ok(out.len > sizeof close - 1 &&
		   strcmp(out.data + out.len - (sizeof close - 1), close) == 0,
	   "close delimiter ends the notice");
	for (int i = 0; i < 4; i++)
		p[i] = mime_part(out.data, BOUNDARY, i);
	ok(p[0] && p[1] && p[2] && !p[3], "exactly three parts");
	if (p[0] && p[1] && p[2]) {
		check_field(p[0], "Content-Type", "text/plain; charset=utf-8", "part 1");
		check_field(p[0], "Content-Transfer-Encoding", "quoted-printable", "part 1");
		check_field(p[1], "Content-Type", "message/delivery-status", "part 2");
		check_field(p[1], "Content-Transfer-Encoding", NULL, "part 2");
		check_field(p[2], "Content-Type", "text/rfc822-headers", "part 3");
		check_field(p[2], "Content-Transfer-Encoding", NULL, "part 3");
		ok(strstr(p[0], "  bob@example.net\n") != NULL, "text names the recipient");
		ok(strstr(p[0], "the server said: 550 5.1.1 <bob@example.net>: no such user") !=
			   NULL,
		   "text quotes the reply");
		ok(strstr(p[0], "Reason: the server refused the message\n") != NULL,
		   "text gives the reason");
		ok(strstr(p[0], "The headers of your message are attached") != NULL,
		   "text says the headers are attached");
		check_field(part_body(p[1]), "Reporting-MTA", "dns; laptop.example.org", "dsn");
		check_field(part_body(p[1]), "Original-Envelope-Id", NULL, "dsn");
		check_field(part_body(p[1]), "Arrival-Date", "Thu, 28 May 2026 19:26:40 +0000",
			    "dsn");
		check_field(strstr(part_body(p[1]), "\n\n") + 2, "Last-Attempt-Date",
			    "Thu, 28 May 2026 20:25:40 +0000", "dsn recipient");
		is_string(orig_lf, part_body(p[2]), "original headers verbatim, with LF");
	}
	ok(strstr(out.data, "SECRET-BODY-LINE") == NULL, "no body of the original");
	for (int i = 0; i < 4; i++)
		free(p[i]);
	buf_free(&out);
}

/* Per-recipient blocks for 1 and 3 recipients, envid, optional fields. */
static void
test_blocks(void)
{
	static const struct notice_rcpt three[] = {
		{"a@example.net", "550 5.1.1 a unknown"},
		{"b@example.net", "552 5.2.2 b over quota"},
		{"c@example.net", NULL},
	};
	static const size_t sizes[] = {1, 3};

	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		struct notice n;
		struct buf out;
		struct error e;
		char *dsn;

		base_notice(&n, three, sizes[s]);
		n.envid = "QQ314159";
		n.remote_host = NULL;
		n.arrival = 0;
		n.last_attempt = 0;
		if (!is_int(0, build(&n, &out, &e), "%zu rcpts: built (%s)", sizes[s], e.msg))
			continue;
		dsn = mime_part(out.data, BOUNDARY, 1);
		if (dsn != NULL) {
			const char *body = part_body(dsn);
			const char *blk = body;

			check_field(body, "Original-Envelope-Id", "QQ314159", "envid");
			check_field(body, "Arrival-Date", NULL, "arrival 0");
			is_int(sizes[s], count(body, "\n\nFinal-Recipient: "), "%zu rcpts: blocks",
			       sizes[s]);
			is_int(sizes[s], count(body, "\n\n"), "%zu rcpts: block separators",
			       sizes[s]);
			for (size_t i = 0; i < sizes[s]; i++) {
				char *want = xasprintf("rfc822; %s", three[i].addr);

				blk = strstr(blk, "\n\n") + 2;
				check_field(blk, "Final-Recipient", want, "block");
				check_field(blk, "Remote-MTA", NULL, "block");
				check_field(blk, "Last-Attempt-Date", NULL, "block");
				free(want);
			}
		}
		ok(dsn != NULL, "%zu rcpts: delivery-status part", sizes[s]);
		free(dsn);
		buf_free(&out);
	}
}

/* A 2000-octet reply: folded before spaces within 78 octets when it has
 * words, cut with folds within 998 when it has none. */
static void
test_folding(void)
{
	for (int spaced = 0; spaced < 2; spaced++) {
		struct notice_rcpt r = {"bob@example.net", NULL};
		struct notice n;
		struct buf out, reply;
		struct error e;
		char *diag, *dsn;

		buf_init(&reply, 0);
		buf_puts(&reply, "550 5.7.1");
		while (reply.len < 2000)
			buf_puts(&reply, spaced ? " word" : "x");
		r.reply = reply.data;
		base_notice(&n, &r, 1);
		if (!is_int(0, build(&n, &out, &e), "fold %d: built", spaced))
			continue;
		dsn = mime_part(out.data, BOUNDARY, 1);
		diag = dsn != NULL ? field(strstr(part_body(dsn), "\n\n") + 2, "Diagnostic-Code")
				   : NULL;
		if (spaced) {
			char *want = xasprintf("smtp; %s", reply.data);

			is_string(want, diag, "fold: unfolds to the reply");
			ok(longest_line(out.data, out.len) <= 78, "fold: lines within 78");
			free(want);
		} else {
			/* The cut adds one space per fold; remove them to compare. */
			struct buf joined;

			buf_init(&joined, 0);
			for (const char *p = diag != NULL ? diag : ""; *p != '\0'; p++)
				if (*p != ' ' || p[1] != 'x' || p[-1] != 'x')
					buf_append(&joined, p, 1);
			is_string(reply.data, joined.data != NULL ? joined.data + 6 : "",
				  "cut: the whole reply is there");
			ok(diag != NULL && count(diag, "x x") >= 2, "cut: folded at least twice");
			ok(longest_line(out.data, out.len) <= 998, "cut: lines within 998");
			buf_free(&joined);
		}
		free(diag);
		free(dsn);
		buf_free(&reply);
		buf_free(&out);
	}
}

/* The original headers: CRLF or LF, mbox line, 8-bit, long lines, lone
 * CR, no body, no blank line. */
static const struct {
	const char *orig;
	const char *want_body; /* the part's body as written */
	const char *cte;
} hdr_cases[] = {
	{"A: 1\r\nB: 2\r\n\r\nBODYTEXT\r\n", "A: 1\nB: 2\n", NULL},
	{"From alice Thu Jan  1 00:00:00 2026\nA: 1\n\nBODYTEXT\n", "A: 1\n", NULL},
	{"A: 1\nB: only headers", "A: 1\nB: only headers\n", NULL},
	{"Subject: gr\xc3\xbc\xc3\x9f\n\nBODYTEXT\n", "Subject: gr\xc3\xbc\xc3\x9f\n", "8bit"},
	{"A: x\ry\n\nBODYTEXT\n", "A: x=0Dy\n", "quoted-printable"},
	{"", "", NULL},
};

static void
test_headers_part(void)
{
	for (size_t i = 0; i < sizeof hdr_cases / sizeof hdr_cases[0]; i++) {
		struct notice n;
		struct buf out;
		struct error e;
		char *part;

		base_notice(&n, one_rcpt, 1);
		n.orig_headers = hdr_cases[i].orig;
		n.orig_headers_len = strlen(hdr_cases[i].orig);
		if (!is_int(0, build(&n, &out, &e), "headers case %zu: built (%s)", i, e.msg))
			continue;
		part = mime_part(out.data, BOUNDARY, 2);
		is_string(hdr_cases[i].want_body, part_body(part), "headers case %zu: body", i);
		check_field(part != NULL ? part : "", "Content-Transfer-Encoding", hdr_cases[i].cte,
			    "headers case");
		ok(strstr(out.data, "BODYTEXT") == NULL, "headers case %zu: no body", i);
		free(part);
		buf_free(&out);
	}

	/* A header line over 998 octets goes quoted-printable. */
	{
		struct notice n;
		struct buf out, orig;
		struct error e;

		buf_init(&orig, 0);
		buf_puts(&orig, "X-Long: ");
		while (orig.len < 2000)
			buf_puts(&orig, "y");
		buf_puts(&orig, "\n\nbody\n");
		base_notice(&n, one_rcpt, 1);
		n.orig_headers = orig.data;
		n.orig_headers_len = orig.len;
		if (is_int(0, build(&n, &out, &e), "long header: built")) {
			char *part = mime_part(out.data, BOUNDARY, 2);

			check_field(part != NULL ? part : "", "Content-Transfer-Encoding",
				    "quoted-printable", "long header");
			ok(longest_line(out.data, out.len) <= 998, "long header: lines within 998");
			free(part);
		}
		buf_free(&out);
		buf_free(&orig);
	}
}

/* Input that is refused, and what the error says. */
static const struct {
	const char *what;
	const char *from, *to, *host, *rcpt, *orig;
	size_t nrcpts;
	const char *boundary;
	size_t out_max;
	enum status status;
} err_cases[] = {
	{"null sender", "a@x", "", "h", "b@x", "A: 1\n", 1, BOUNDARY, 0, ST_DATAERR},
	{"no to", "a@x", NULL, "h", "b@x", "A: 1\n", 1, BOUNDARY, 0, ST_DATAERR},
	{"from with CRLF", "a@x\r\nBcc: c@x", "a@x", "h", "b@x", "A: 1\n", 1, BOUNDARY, 0,
	 ST_DATAERR},
	{"rcpt with LF", "a@x", "a@x", "h", "b@x\nX: y", "A: 1\n", 1, BOUNDARY, 0, ST_DATAERR},
	{"rcpt bad UTF-8", "a@x", "a@x", "h", "\xff\xfe@x", "A: 1\n", 1, BOUNDARY, 0, ST_DATAERR},
	{"rcpt surrogate", "a@x", "a@x", "h", "\xed\xa0\x80@x", "A: 1\n", 1, BOUNDARY, 0,
	 ST_DATAERR},
	{"no recipients", "a@x", "a@x", "h", "b@x", "A: 1\n", 0, BOUNDARY, 0, ST_DATAERR},
	{"no host", "a@x", "a@x", NULL, "b@x", "A: 1\n", 1, BOUNDARY, 0, ST_DATAERR},
	{"boundary in headers", "a@x", "a@x", "h", "b@x", "A: --BOUNDARY\n", 1, BOUNDARY, 0,
	 ST_SOFTWARE},
	{"output bound", "a@x", "a@x", "h", "b@x", "A: 1\n", 1, BOUNDARY, 100, ST_DATAERR},
};

static void
test_errors(void)
{
	for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
		struct notice_rcpt r = {err_cases[i].rcpt, "550 5.1.1 x"};
		struct notice n;
		struct buf out;
		struct error e;

		base_notice(&n, &r, err_cases[i].nrcpts);
		n.from_addr = err_cases[i].from;
		n.to_addr = err_cases[i].to;
		n.reporting_host = err_cases[i].host;
		n.orig_headers = err_cases[i].orig;
		n.orig_headers_len = strlen(err_cases[i].orig);
		n.boundary_override = err_cases[i].boundary;
		buf_init(&out, err_cases[i].out_max);
		buf_puts(&out, "keep");
		error_clear(&e);
		is_int(-1, notice_build(&n, &out, &e), "%s: refused", err_cases[i].what);
		is_int(err_cases[i].status, e.status, "%s: class", err_cases[i].what);
		ok(e.msg[0] != '\0' && strchr(e.msg, '\n') == NULL, "%s: one-line message: %s",
		   err_cases[i].what, e.msg);
		is_string("keep", out.data, "%s: output untouched", err_cases[i].what);
		buf_free(&out);
	}

	/* A NUL in the original headers. */
	{
		static const char nul[] = "A: x\0y\n\nbody\n";
		struct notice n;
		struct buf out;
		struct error e;

		base_notice(&n, one_rcpt, 1);
		n.orig_headers = nul;
		n.orig_headers_len = sizeof nul - 1;
		is_int(-1, build(&n, &out, &e), "NUL in headers refused");
		is_int(ST_DATAERR, e.status, "NUL in headers: class");
		buf_free(&out);
	}
}

/* Without overrides: a random boundary and Message-ID, new each time. */
static void
test_random(void)
{
	struct notice n;
	struct buf a, b;
	struct error e;
	char *ca, *cb, *ia, *ib;

	base_notice(&n, one_rcpt, 1);
	n.boundary_override = NULL;
	n.msgid_override = NULL;
	if (build(&n, &a, &e) < 0 || build(&n, &b, &e) < 0)
		bail("random notice: %s", e.msg);
	ca = field(a.data, "Content-Type");
	cb = field(b.data, "Content-Type");
	ia = field(a.data, "Message-ID");
	ib = field(b.data, "Message-ID");
	ok(ca != NULL && strstr(ca, "boundary=\"=_outbox_") != NULL, "random boundary: %s",
	   ca ? ca : "(none)");
	ok(ca != NULL && cb != NULL && strcmp(ca, cb) != 0, "boundaries differ");
	ok(ia != NULL && ib != NULL && strcmp(ia, ib) != 0, "Message-IDs differ");
	ok(ia != NULL && ia[0] == '<' && strstr(ia, "@example.org>") != NULL, "Message-ID: %s",
	   ia ? ia : "(none)");
	free(ca);
	free(cb);
	free(ia);
	free(ib);
	buf_free(&a);
	buf_free(&b);
}

static const struct {
	time_t sent[4];
	size_t nsent;
	unsigned max;
	bool ok;
	size_t kept;
} rate_cases[] = {
	{{0}, 0, 3, true, 0},
	{{0}, 0, 0, false, 0},
	{{NOW - 10, NOW - 20}, 2, 3, true, 2},
	{{NOW - 10, NOW - 20, NOW - 30}, 3, 3, false, 3},
	{{NOW - 4000, NOW - 3600, NOW - 20, NOW - 30}, 4, 3, true, 2},
	{{NOW - 3599, NOW - 20, NOW - 30}, 3, 3, false, 3},
	{{NOW + 500, NOW - 20, NOW - 5000}, 3, 2, false, 2},
};

static void
test_rate(void)
{
	for (size_t i = 0; i < sizeof rate_cases / sizeof rate_cases[0]; i++) {
		time_t t[4];

		memcpy(t, rate_cases[i].sent, sizeof t);
		is_int(rate_cases[i].ok,
		       notice_rate_ok(t, rate_cases[i].nsent, NOW, rate_cases[i].max),
		       "rate case %zu: allowed", i);
		is_int((long)rate_cases[i].kept,
		       (long)notice_rate_prune(t, rate_cases[i].nsent, NOW), "rate case %zu: kept",
		       i);
		ok(notice_rate_ok(t, rate_cases[i].kept, NOW, rate_cases[i].max) ==
			   rate_cases[i].ok,
		   "rate case %zu: same answer after pruning", i);
	}
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		bail("cannot write %s", path);
}

/* Python's email package parses the notice as RFC 6522 says. */
static const char py_check[] =
	"import email, email.policy, sys\n"
	"d = sys.argv[1]\n"
	"m = email.message_from_bytes(open(d + \"/notice\", \"rb\").read(), "
	"policy=email.policy.default)\n"
	"assert m.get_content_type() == \"multipart/report\", m.get_content_type()\n"
	"assert m.get_param(\"report-type\") == \"delivery-status\"\n"
	"assert m[\"Auto-Submitted\"] == \"auto-replied\"\n"
	"assert not m.defects, m.defects\n"
	"p = list(m.iter_parts())\n"
	"t = [x.get_content_type() for x in p]\n"
	"assert t == [\"text/plain\", \"message/delivery-status\", \"text/rfc822-headers\"], t\n"
	"assert not any(x.defects for x in p), [x.defects for x in p]\n"
	"b = p[1].get_payload()\n"
	"assert len(b) == 1 + int(sys.argv[2]), len(b)\n"
	"assert all(x[\"Action\"] == \"failed\" for x in b[1:])\n"
	"want = open(d + \"/text\", \"rb\").read().decode()\n"
	"assert want in p[0].get_content(), p[0].get_content()\n"
	"h = p[2].get_payload(decode=True)\n"
	"w = open(d + \"/headers\", \"rb\").read()\n"
	"assert h == w, (h, w)\n"
	"import os\n"
	"if os.path.exists(d + \"/subject\"):\n"
	"    want = open(d + \"/subject\", \"rb\").read().decode()\n"
	"    assert str(m[\"Subject\"]) == want, (str(m[\"Subject\"]), want)\n"
	"    want = open(d + \"/fromname\", \"rb\").read().decode()\n"
	"    name = m[\"From\"].addresses[0].display_name\n"
	"    assert name == want, (name, want)\n";

/* Writes the notice and what to expect, runs py_check on them.  subject
 * and fromname may be NULL (not checked). */
static void
python_parses(const struct buf *out, size_t nrcpts, const char *headers, const char *text,
	      const char *subject, const char *fromname, const char *what)
{
	static const char *const names[] = {"notice", "headers", "text", "subject", "fromname"};
	const char *data[] = {out->data, headers, text, subject, fromname};
	char *cmd;

	if (access("/usr/bin/python3", X_OK) != 0) {
		skip("/usr/bin/python3 is missing");
		return;
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *path = xasprintf("%s/%s", tmpdir, names[i]);

		unlink(path);
		if (data[i] != NULL)
			write_file(path, data[i], i == 0 ? out->len : strlen(data[i]));
		free(path);
	}
	cmd = xasprintf("/usr/bin/python3 %s/check.py %s %zu >&2", tmpdir, tmpdir, nrcpts);
	is_int(0, system(cmd), "python parses the notice: %s", what);
	free(cmd);
}

static void
test_python(void)
{
	static const struct notice_rcpt three[] = {
		{"a@example.net", "550 5.1.1 a unknown"},
		{"b\xc3\xa9@example.net", "552 5.2.2 b over quota"},
		{"c@example.net", NULL},
	};
	static const struct {
		const char *what;
		const struct notice_rcpt *rcpts;
		size_t n;
		const char *orig, *headers, *text;
	} cases[] = {
		{"one", one_rcpt, 1, orig_crlf, orig_lf, "the server said: 550 5.1.1"},
		{"three", three, 3, "Subject: gr\xc3\xbc\xc3\x9f\n\nbody\n",
		 "Subject: gr\xc3\xbc\xc3\x9f\n", "b\xc3\xa9@example.net"},
		{"qp", one_rcpt, 1, "A: x\ry=z\n\nbody\n", "A: x\ry=z\n", "no such user"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct notice n;
		struct buf out;
		struct error e;

		base_notice(&n, cases[i].rcpts, cases[i].n);
		n.orig_headers = cases[i].orig;
		n.orig_headers_len = strlen(cases[i].orig);
		n.boundary_override = NULL;
		if (build(&n, &out, &e) < 0)
			bail("python %s: %s", cases[i].what, e.msg);
		python_parses(&out, cases[i].n, cases[i].headers, cases[i].text, NULL, NULL,
			      cases[i].what);
		buf_free(&out);
	}
}

/* Translated display name and subject: RFC 2047 encoded-words for UTF-8,
 * a quoted-string for ASCII with specials. */
static void
test_translated(void)
{
	static const struct {
		const char *what;
		const struct fake_translation *table;
		const char *from;    /* the From: field as written, or NULL: encoded */
		const char *subject; /* as Python decodes it */
	} cases[] = {
		{"utf-8", fr, NULL, fr[1].text},
		{"specials", specials,
		 "\"Mail Delivery (outbox), \\\"mailer\\\\\\\"\" <alice@example.org>",
		 "Undelivered Bcc: evil@example.org"},
	};

#ifndef ENABLE_NLS
	skip("built without NLS");
	return;
#endif
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct notice n;
		struct buf out;
		struct error e;
		char *from, *hdr_end;
		bool words_ok = true;

		translating = cases[i].table;
		base_notice(&n, one_rcpt, 1);
		n.boundary_override = NULL;
		if (build(&n, &out, &e) < 0)
			bail("translated %s: %s", cases[i].what, e.msg);
		translating = NULL;
		hdr_end = strstr(out.data, "\n\n");
		ok(hdr_end != NULL && is_ascii(out.data, (size_t)(hdr_end - out.data)),
		   "%s: the header is ASCII", cases[i].what);
		ok(longest_line(out.data, out.len) <= 78, "%s: lines within 78", cases[i].what);
		ok(strstr(out.data, "\nBcc:") == NULL, "%s: no field injected", cases[i].what);
		from = field(out.data, "From");
		if (cases[i].from != NULL) {
			is_string(cases[i].from, from, "%s: From", cases[i].what);
		} else {
			for (const char *w = strstr(out.data, "=?"); w != NULL && w < hdr_end;) {
				const char *end = strstr(w + 10, "?=");

				words_ok &= strncmp(w, "=?UTF-8?B?", 10) == 0 && end != NULL &&
					    end + 2 - w <= 75;
				w = end != NULL ? strstr(end + 2, "=?") : NULL;
			}
			ok(from != NULL && strncmp(from, "=?UTF-8?B?", 10) == 0 && words_ok,
			   "%s: encoded-words of at most 75 characters", cases[i].what);
		}
		python_parses(&out, 1, orig_lf, cases[i].table == fr ? fr[2].text : "the server",
			      cases[i].subject, cases[i].table[0].text, cases[i].what);
		free(from);
		buf_free(&out);
	}
}

static void
remove_tmpdir(void)
{
	static const char *const names[] = {"check.py", "notice",  "headers",
					    "text",     "subject", "fromname"};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *p = xasprintf("%s/%s", tmpdir, names[i]);

		unlink(p);
		free(p);
	}
	rmdir(tmpdir);
}

int
main(void)
{
	char *script;

	/* Dates in the checks are UTC. */
	setenv("TZ", "UTC", 1);
	if (mkdtemp(tmpdir) == NULL)
		bail("cannot create a temporary directory");
	script = xasprintf("%s/check.py", tmpdir);
	write_file(script, py_check, sizeof py_check - 1);
	free(script);
	plan_lazy();
	test_structure();
	test_rcpt_cases();
	test_blocks();
	test_folding();
	test_headers_part();
	test_errors();
	test_random();
	test_rate();
	test_python();
	test_translated();
	remove_tmpdir();
	return 0;
}
