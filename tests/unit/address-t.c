/* address-t.c - tests for src/address.c: address-list parsing, envelope
 * checks, sender normalisation, IDNA, qualification and from matching. */
#include "config.h"

#include "address.h"

#include "tests/tap/basic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An expected list is the addresses joined with '|'; NULL means an error. */
static const struct {
	const char *in;
	size_t len; /* 0: strlen(in) */
	const char *want;
} list_cases[] = {
	{"a@b.example", 0, "a@b.example"},
	{"John Doe <john@x.org>", 0, "john@x.org"},
	{"\"Doe, John\" <j@x>, k@y", 0, "j@x|k@y"},
	{"John Q. Public <jqp@x.example>", 0, "jqp@x.example"},
	{"(c) a@b (nested (x \\) y) z), c@d", 0, "a@b|c@d"},
	{"a@b (x \\( y)", 0, "a@b"},
	{"undisclosed-recipients:;", 0, ""},
	{"undisclosed-recipients: ;", 0, ""},
	{"team: a@x, b@y;, c@z", 0, "a@x|b@y|c@z"},
	{"team: a@x, Bob <b@y>", 0, "a@x|b@y"},
	{"\"my team\": x@y;", 0, "x@y"},
	{"<@a.example,@b.example:user@host>", 0, "user@host"},
	{"Joe <@a.example:joe@c.example>", 0, "joe@c.example"},
	{"a@b,\r\n c@d", 0, "a@b|c@d"},
	{"a@b,\n\tc@d\n", 0, "a@b|c@d"},
	{"Long\r\n Name <a@b>", 0, "a@b"},
	{"root", 0, "root"},
	{"root (Cron Daemon)", 0, "root"},
	{"\"john doe\"@x", 0, "\"john doe\"@x"},
	{"\"john\"@x", 0, "john@x"},
	{"\"a\\\"b\"@x", 0, "\"a\\\"b\"@x"},
	{"\"a@b\"@x", 0, "\"a@b\"@x"},
	{"\"a,b\" <c@d>, e@f", 0, "c@d|e@f"},
	{"\"fold\r\n ed\"@x", 0, "\"fold ed\"@x"},
	{"john . doe @ example . com", 0, "john.doe@example.com"},
	{"a@[192.0.2.1]", 0, "a@[192.0.2.1]"},
	{",,a@b,,", 0, "a@b"},
	{"", 0, ""},
	{"   \r\n ", 0, ""},
	{"<>", 0, ""},
	{"<a@b>", 0, "a@b"},
	{"user@b\xc3\xbc"
	 "cher.example",
	 0,
	 "user@b\xc3\xbc"
	 "cher.example"},
	{"M\xc3\xbcller <m@x>", 0, "m@x"},
	{"=?UTF-8?B?w6Q=?= <a@b>", 0, "a@b"},
	{"a@b; c@d", 0, "a@b|c@d"},
	{"A@B, a@b", 0, "A@B|a@b"},
	{"<a@b> (comment)", 0, "a@b"},
	{"a@b,\n", 0, "a@b"},
	{"\"a<b\" <c@d>", 0, "c@d"},
	{"<a@b>, <c@d>", 0, "a@b|c@d"},
	{"a@b (with, comma)", 0, "a@b"},
	{"UNDISCLOSED-RECIPIENTS:;", 0, ""},
	{"\"unterminated@x", 0, NULL},
	{"(unterminated a@b", 0, NULL},
	{"a@[1.2.3.4", 0, NULL},
	{"<a@b", 0, NULL},
	{"a@b>", 0, NULL},
	{"John Doe", 0, NULL},
	{"John Doe a@b", 0, NULL},
	{"a@b@c", 0, NULL},
	{"@x", 0, NULL},
	{"a@", 0, NULL},
	{"a@b..c", 0, NULL},
	{"x: y: z;", 0, NULL},
	{"<a@b> <c@d>", 0, NULL},
	{"<a,b@c>", 0, NULL},
	{"<@a.example joe@c>", 0, NULL},
	{"a\0b@c", 5, NULL},
	{"\"a\x01"
	 "b\"@c",
	 0, NULL},
	{"good@x, John Doe", 0, NULL},
	{"\"\"@x", 0, NULL},
	{"Joe <joe@x", 0, NULL},
	/* A backslash as the very last byte quotes nothing (the parser must
	 * not read past the end: run under the sanitizers). */
	{"\"abc\\", 0, NULL},
	{"a@b, \"abc\\", 0, NULL},
	{"(abc\\", 0, NULL},
	{"a@b (c\\", 0, NULL},
	{"a@b (c \\)", 0, NULL},
	{"a@[1.2.3.4\\", 0, NULL},
	{"a@b, <c@[1.2.3.4\\", 0, NULL},
	{"a@example.org, \"unterminated", 0, NULL},
	{"\"a\\\\\"@x", 0, "\"a\\\\\"@x"},
	{"a@b (c\\\\)", 0, "a@b"},
};

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

static void
test_list(void)
{
	for (size_t i = 0; i < sizeof list_cases / sizeof list_cases[0]; i++) {
		size_t len = list_cases[i].len ? list_cases[i].len : strlen(list_cases[i].in);
		/* An exact copy without a terminating NUL, so that the sanitizers
		 * see any read past the end. */
		char *in = xmalloc(len ? len : 1);
		struct strlist l;
		struct error e;
		int rc;

		memcpy(in, list_cases[i].in, len);
		strlist_init(&l);
		error_clear(&e);
		rc = address_list_parse(in, len, &l, &e);
		if (list_cases[i].want == NULL) {
			ok(rc == -1 && e.status == ST_DATAERR && l.n == 0, "list %zu: error (%s)",
			   i, e.msg);
		} else {
			char *got = joined(&l);

			ok(rc == 0, "list %zu: parses (%s)", i, e.msg);
			is_string(list_cases[i].want, got, "list %zu: addresses", i);
			free(got);
		}
		strlist_free(&l);
		free(in);
	}
}

static void
test_list_bounds(void)
{
	struct strlist l;
	struct error e;
	struct buf b;
	char local[1000];

	/* 998 octets is the longest address accepted. */
	memset(local, 'a', sizeof local);
	strlist_init(&l);
	buf_init(&b, 0);
	buf_printf(&b, "%.*s@b", 996, local);
	ok(address_list_parse(b.data, b.len, &l, &e) == 0 && l.n == 1, "998-byte address");
	buf_reset(&b);
	buf_printf(&b, "x@y, %.*s@b", 997, local);
	ok(address_list_parse(b.data, b.len, &l, &e) == -1, "999-byte address refused");
	ok(strstr(e.msg, "998") != NULL, "error says the limit: %s", e.msg);
	is_int(1, (long)l.n, "a failed parse leaves the list as it was");
	strlist_free(&l);

	buf_reset(&b);
	for (int i = 0; i < ADDRESS_LIST_MAX; i++)
		buf_printf(&b, "u%d@x,", i);
	ok(address_list_parse(b.data, b.len, &l, &e) == 0, "10000 addresses");
	is_int(ADDRESS_LIST_MAX, (long)l.n, "all of them");
	strlist_free(&l);
	buf_puts(&b, "one@more");
	ok(address_list_parse(b.data, b.len, &l, &e) == -1 && e.status == ST_DATAERR,
	   "10001 addresses refused");
	is_int(0, (long)l.n, "nothing kept");
	strlist_free(&l);
	buf_free(&b);
}

static const struct {
	const char *addr;
	bool valid;
	const char *shown; /* a part of the error message, for invalid ones */
} check_cases[] = {
	{"a@b.example", true, NULL},
	{"", true, NULL},
	{"root", true, NULL},
	{"<a@b>", true, NULL},
	{"<>", true, NULL},
	{"\"john doe\"@x", true, NULL},
	{"\"a\\\"b\"@x", true, NULL},
	{"a@b\r\nRCPT TO:<c@d>", false, "a@b\\r\\nRCPT TO:<c@d>"},
	{"a@b\n", false, "a@b\\n"},
	{"a\rb@c", false, "a\\rb@c"},
	{"a\x01"
	 "b@c",
	 false, "a\\x01b@c"},
	{"a b@c", false, "space"},
	{"a@b\tc", false, "a@b\\tc"},
	{"<a@b", false, "angle"},
	{"a@b>", false, "angle"},
	{"<<a@b>>", false, "angle"},
	{"a<b>@c", false, "angle"},
	{"<", false, "angle"},
	{"\"a@b", false, "quotes"},
};

static void
test_check(void)
{
	for (size_t i = 0; i < sizeof check_cases / sizeof check_cases[0]; i++) {
		struct error e;
		int rc;

		error_clear(&e);
		rc = address_check(check_cases[i].addr, &e);
		if (check_cases[i].valid) {
			is_int(0, rc, "check %zu: valid (%s)", i, e.msg);
			continue;
		}
		ok(rc == -1 && e.status == ST_DATAERR, "check %zu: invalid", i);
		ok(strstr(e.msg, check_cases[i].shown) != NULL, "check %zu: message \"%s\"", i,
		   e.msg);
		ok(strchr(e.msg, '\n') == NULL && strchr(e.msg, '\r') == NULL,
		   "check %zu: message is one line", i);
	}
}

static const struct {
	const char *arg;
	const char *want; /* NULL: error */
} sender_cases[] = {
	{"<user@x>", "user@x"},
	{"user@x", "user@x"},
	{"<>", ""},
	{"", ""},
	{" <user@x> ", "user@x"},
	{"<\"a b\"@x>", "\"a b\"@x"},
	{"<user@x", NULL},
	{"user@x>", NULL},
	{"<a@b\nc>", NULL},
	{"John <j@x>", NULL},
};

static void
test_sender(void)
{
	for (size_t i = 0; i < sizeof sender_cases / sizeof sender_cases[0]; i++) {
		char *out = NULL;
		struct error e;
		int rc;

		error_clear(&e);
		rc = address_normalize_sender(sender_cases[i].arg, &out, &e);
		if (sender_cases[i].want == NULL) {
			ok(rc == -1 && e.status == ST_DATAERR && out == NULL,
			   "sender %zu: error (%s)", i, e.msg);
			continue;
		}
		is_int(0, rc, "sender %zu: accepted (%s)", i, e.msg);
		is_string(sender_cases[i].want, out, "sender %zu: result", i);
		free(out);
	}
}

static const struct {
	const char *addr;
	const char *want; /* NULL: error */
	bool smtputf8;
} wire_cases[] = {
	{"user@example.com", "user@example.com", false},
	{"user@b\xc3\xbc"
	 "cher.example",
	 "user@xn--bcher-kva.example", false},
	{"user@B\xc3\x9c"
	 "CHER.example",
	 "user@xn--bcher-kva.example", false},
	{"\"a b\"@b\xc3\xbc"
	 "cher.example",
	 "\"a b\"@xn--bcher-kva.example", false},
	{"\xc3\xbcser@example.com", "\xc3\xbcser@example.com", true},
	{"\xc3\xbcser@b\xc3\xbc"
	 "cher.example",
	 "\xc3\xbcser@b\xc3\xbc"
	 "cher.example",
	 true},
	{"\xc3\xbcser", "\xc3\xbcser", true},
	{"user@[192.0.2.1]", "user@[192.0.2.1]", false},
	{"user@xn--bcher-kva.example", "user@xn--bcher-kva.example", false},
	{"root", "root", false},
	{"", "", false},
	{"user@\xff.example", NULL, false},
	{"user@\xc0\xaf.example", NULL, false},
	{"user@\xed\xa0\x80.example", NULL, false},
	{"\xc3@example.com", NULL, false},
	{"user@a\xc2\xa0"
	 "b.example",
	 NULL, false},
	{"user@\xe2\x80\x8b.example", NULL, false},
	{"user@-\xc3\xbc-.example", NULL, false},
	{"user@\xe2\x98\x83.example", "user@xn--n3h.example", false},
};

static void
test_wire(void)
{
	for (size_t i = 0; i < sizeof wire_cases / sizeof wire_cases[0]; i++) {
		bool utf8 = false;
		struct error e;
		char *out;

		error_clear(&e);
		out = address_to_wire(wire_cases[i].addr, &utf8, &e);
		if (wire_cases[i].want == NULL) {
			ok(out == NULL && e.status == ST_DATAERR, "wire %zu: error (%s)", i, e.msg);
			ok(strstr(e.msg, "example") != NULL, "wire %zu: error names the address",
			   i);
			continue;
		}
		is_string(wire_cases[i].want, out, "wire %zu: result (%s)", i, e.msg);
		is_int(wire_cases[i].smtputf8, utf8, "wire %zu: SMTPUTF8 needed", i);
		free(out);
	}
	bool utf8 = true;
	struct error e;
	char *out = address_to_wire("a@b", &utf8, &e);

	ok(utf8, "needs_smtputf8 is never cleared");
	free(out);
	ok(address_is_ascii("a@b.example"), "ASCII address");
	ok(!address_is_ascii("a@b\xc3\xbc"), "non-ASCII address");
}

/* RFC 5321 Mailbox syntax; shown: a part of the error message. */
static const struct {
	const char *addr;
	const char *shown; /* NULL: valid */
} mailbox_cases[] = {
	{"a@example.org", NULL},
	{"first.last+tag@sub.example.org", NULL},
	{"\"john doe\"@example.org", NULL},
	{"\"a\\\"b\"@x", NULL},
	{"\"a@b\"@example.org", NULL},
	{"a@localhost", NULL},
	{"a@xn--bcher-kva.example", NULL},
	{"a@XN--BCHER-KVA.example", NULL},
	{"a@xn--ls8h.example", NULL},
	{"a@[192.0.2.1]", NULL},
	{"a@[IPv6:2001:db8::1]", NULL},
	{"a@[ipv6:::1]", NULL},
	{"\xc3\xbcser@b\xc3\xbc"
	 "cher.example",
	 NULL},
	{"a@0.example", NULL},
	{"a@b@c", "\"a@b@c\": the part before the last @"},
	{"a@example..org", "\"a@example..org\": the domain is not a valid host name"},
	{"a@-bad-.org", "\"a@-bad-.org\": the domain is not a valid host name"},
	{"a@bad-.org", "not a valid host name"},
	{"a@example.org.", "not a valid host name"},
	{"a@.example.org", "not a valid host name"},
	{"a@my_host.example", "not a valid host name"},
	{"a@", "not a valid host name"},
	{"a@xn--zz", "\"a@xn--zz\": the domain has an invalid xn-- (IDNA) label"},
	{"a@xn--a.example", "invalid xn-- (IDNA) label"},
	{"a@sub.xn--zz.example", "invalid xn-- (IDNA) label"},
	{"carol.example.net", "\"carol.example.net\": no domain"},
	{"root", "no domain"},
	{"", "no domain"},
	{"@example.org", "not a valid local part"},
	{".a@example.org", "not a valid local part"},
	{"a.@example.org", "not a valid local part"},
	{"a..b@example.org", "not a valid local part"},
	{"a(b)@example.org", "not a valid local part"},
	{"\"\"@example.org", "not a valid local part"},
	{"\"a\\\"@example.org", "no domain"},
	{"a@[1.2.3]", "address literal"},
	{"a@[1.2.3.4", "address literal"},
	{"a@[IPv6:1.2.3.4]", "address literal"},
	{"a@[example.org]", "address literal"},
	{"a@b\xc3\xbc_cher.example", "not a valid host name"},
};

static void
test_mailbox(void)
{
	char label[80], domain[300];

	for (size_t i = 0; i < sizeof mailbox_cases / sizeof mailbox_cases[0]; i++) {
		struct error e;
		int rc;

		error_clear(&e);
		rc = address_check_mailbox(mailbox_cases[i].addr, &e);
		if (mailbox_cases[i].shown == NULL) {
			is_int(0, rc, "mailbox %zu: valid (%s)", i, e.msg);
			continue;
		}
		ok(rc == -1 && e.status == ST_DATAERR && strstr(e.msg, mailbox_cases[i].shown),
		   "mailbox %zu: refused (%s)", i, e.msg);
	}
	/* Labels of up to 63 octets, domains of up to 255. */
	memset(label, 'a', sizeof label);
	snprintf(domain, sizeof domain, "a@%.63s.example", label);
	is_int(0, address_check_mailbox(domain, NULL), "63-octet label");
	snprintf(domain, sizeof domain, "a@%.64s.example", label);
	is_int(-1, address_check_mailbox(domain, &(struct error){0}), "64-octet label refused");
	snprintf(domain, sizeof domain, "a@%.63s.%.63s.%.63s.%.63s", label, label, label, label);
	is_int(0, address_check_mailbox(domain, NULL), "255-octet domain");
	snprintf(domain, sizeof domain, "a@%.63s.%.63s.%.63s.%.63s.a", label, label, label, label);
	is_int(-1, address_check_mailbox(domain, &(struct error){0}), "257-octet domain refused");
}

static const struct {
	const char *addr, *domain, *want;
} qualify_cases[] = {
	{"root", "host.example", "root@host.example"},
	{"a@b", "host.example", "a@b"},
	{"\"a@b\"", "host.example", "\"a@b\"@host.example"},
	{"", "host.example", ""},
	{"root", "", "root"},
	{"root", NULL, "root"},
};

static void
test_qualify(void)
{
	for (size_t i = 0; i < sizeof qualify_cases / sizeof qualify_cases[0]; i++) {
		char *q = address_qualify(qualify_cases[i].addr, qualify_cases[i].domain);

		is_string(qualify_cases[i].want, q, "qualify %zu", i);
		free(q);
	}
}

int
main(void)
{
	plan_lazy();
	test_list();
	test_list_bounds();
	test_check();
	test_sender();
	test_wire();
	test_mailbox();
	test_qualify();
	return 0;
}
