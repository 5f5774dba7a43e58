/* address_envelope-t.c - tests for src/address_envelope.c, table-driven:
 * address_check at its limits (998 octets, quotes and escapes, angle
 * brackets, control bytes) and how its errors show the address (escaped,
 * cut after 200 octets); address_normalize_sender's trimming; the wire
 * form (IDNA conversions, SMTPUTF8 that is set and never cleared, invalid
 * UTF-8); the RFC 5321 Mailbox check on literals, quoted local parts and
 * UTF-8; address_is_ascii. */
#include "config.h"

#include "address_private.h"

#include "tap/basic.h"

#include <stdlib.h>
#include <string.h>

/* An address of n octets: "a...a@x" (n >= 3), newly allocated. */
static char *
long_address(size_t n, const char *tail)
{
	size_t t = strlen(tail);
	char *s = xmalloc(n + 1);

	memset(s, 'a', n - t);
	memcpy(s + n - t, tail, t);
	s[n] = '\0';
	return s;
}

static const struct {
	const char *addr;
	const char *why; /* NULL: accepted; else a piece of the message */
} checks[] = {
	{"a@b", NULL},
	{"\"a b\"@x", NULL},
	{"\"a\\\"b c\"@x", NULL},
	{"\"<a>\"@x", NULL},
	{"\"a,b\"@x", NULL},
	{"<a@b>", NULL},
	{"<>", NULL},
	{"\xc3\xbc@x", NULL},
	{"a@b\x7f", "\"a@b\\x7f\": contains a control character"},
	{"a\tb@c", "\"a\\tb@c\": contains a control character"},
	{"a\x1b[31m@c", "\"a\\x1b[31m@c\": contains a control character"},
	{"\"a\x01\"@x", "contains a control character"},
	{"\"a\" b@x", "contains a space outside quotes"},
	{" a@b", "contains a space outside quotes"},
	{"<", "unbalanced angle brackets"},
	{">", "unbalanced angle brackets"},
	{"<a@b>>", "unbalanced angle brackets"},
	{"<<a@b>", "unbalanced angle brackets"},
	{"a<b@c>", "unbalanced angle brackets"},
	{"\"a", "unbalanced quotes"},
	{"a\\\"@x", "unbalanced quotes"},
	{"\"a\\", "unbalanced quotes"},
	{"\"a\\\"", "unbalanced quotes"},
	{"a@b\r", "\"a@b\\r\": contains a line break"},
	{"a@b\nRCPT TO:<c@d>", "contains a line break"},
};

static void
test_check(void)
{
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
		struct error e;
		int rc;

		error_clear(&e);
		rc = address_check(checks[i].addr, &e);
		if (checks[i].why == NULL)
			is_int(0, rc, "check %zu: accepted (%s)", i, e.msg);
		else
			ok(rc < 0 && e.status == ST_DATAERR && strstr(e.msg, checks[i].why) != NULL,
			   "check %zu: refused: %s", i, e.msg);
	}
}

static void
test_check_lengths(void)
{
	char *addr = long_address(ADDRESS_MAX, "@x");
	struct error e;
	char *shown;

	is_int(0, address_check(addr, &e), "998 octets are accepted");
	free(addr);
	addr = long_address(ADDRESS_MAX + 1, "@x");
	ok(address_check(addr, &e) < 0 && strstr(e.msg, "longer than 998 bytes") != NULL,
	   "999 octets are refused: %.60s...", e.msg);
	free(addr);
	addr = long_address(ADDRESS_MAX + 1, "@x\n");
	ok(address_check(addr, &e) < 0 && strstr(e.msg, "line break") != NULL,
	   "a line break is named before the length");
	free(addr);

	/* The message shows the first 200 octets, then "...". */
	addr = long_address(300, " b");
	shown = xasprintf("\"%.200s...\": contains a space outside quotes", addr);
	ok(address_check(addr, &e) < 0 && strstr(e.msg, shown) != NULL,
	   "a long address is shown cut after 200 octets");
	free(shown);
	free(addr);
}

static const struct {
	const char *arg;
	const char *want; /* NULL: refused */
} senders[] = {
	{"a@b", "a@b"},
	{"  <a@b>  ", "a@b"},
	{"\t<>\t", ""},
	{"   ", ""},
	{"<\"a b\"@x>", "\"a b\"@x"},
	{"<\xc3\xbc@x>", "\xc3\xbc@x"},
	{"<<a@b>>", "<a@b>"}, /* one pair only: the Mailbox check refuses the rest */
	{"< a@b >", NULL},
	{"<a@b", NULL},
	{"<>x", NULL},
	{"a@b <c@d>", NULL},
	{"\r\n<a@b>", NULL},
};

static void
test_normalize(void)
{
	for (size_t i = 0; i < sizeof senders / sizeof senders[0]; i++) {
		struct error e;
		char *out = NULL;
		int rc;

		error_clear(&e);
		rc = address_normalize_sender(senders[i].arg, &out, &e);
		if (senders[i].want != NULL) {
			if (is_int(0, rc, "sender %zu: accepted (%s)", i, e.msg))
				is_string(senders[i].want, out, "... as '%s'", senders[i].want);
		} else {
			ok(rc < 0 && e.status == ST_DATAERR, "sender %zu: refused: %s", i, e.msg);
		}
		free(out);
	}
}

static const struct {
	const char *addr;
	const char *wire; /* NULL: refused, why holds a piece of the message */
	bool smtputf8;
	const char *why;
} wires[] = {
	{"a@example.org", "a@example.org", false, NULL},
	{"a@B\xc3\x9c"
	 "CHER.example",
	 "a@xn--bcher-kva.example", false, NULL},
	{"a@fa\xc3\x9f.de", "a@xn--fa-hia.de", false, NULL},
	{"a@b\xc3\xbc"
	 "cher\xef\xbc\x8e"
	 "example",
	 "a@xn--bcher-kva.example", false, NULL},
	{"a@b@b\xc3\xbc"
	 "cher.example",
	 "a@b@xn--bcher-kva.example", false, NULL},
	{"\"a b\"@b\xc3\xbc"
	 "cher.example",
	 "\"a b\"@xn--bcher-kva.example", false, NULL},
	{"\xc3\xbc@[192.0.2.1]", "\xc3\xbc@[192.0.2.1]", true, NULL},
	{"\"\xc3\xbc \xc3\xbc\"@example.org", "\"\xc3\xbc \xc3\xbc\"@example.org", true, NULL},
	{"\xf0\x9f\x93\xa7@example.org", "\xf0\x9f\x93\xa7@example.org", true, NULL},
	{"\xff@example.org", NULL, false, "@example.org\": not valid UTF-8"},
	{"a@x\xc3", NULL, false, "not valid UTF-8"},
	{"a@\xe0\x80\xaf.example", NULL, false, "not valid UTF-8"},
	{"a@\xf4\x90\x80\x80.example", NULL, false, "not valid UTF-8"},
	{"a@\xc2\xa0.example", NULL, false, "the domain"},
};

static void
test_wire(void)
{
	for (size_t i = 0; i < sizeof wires / sizeof wires[0]; i++) {
		bool smtputf8 = false;
		struct error e;
		char *w;

		error_clear(&e);
		w = address_to_wire(wires[i].addr, &smtputf8, &e);
		if (wires[i].wire != NULL) {
			is_string(wires[i].wire, w, "wire %zu (%s)", i, e.msg);
			is_int(wires[i].smtputf8, smtputf8, "... SMTPUTF8 %s",
			       wires[i].smtputf8 ? "needed" : "not needed");
		} else {
			ok(w == NULL && e.status == ST_DATAERR &&
				   strstr(e.msg, wires[i].why) != NULL,
			   "wire %zu: refused: %s", i, e.msg);
		}
		free(w);
	}
	{
		bool smtputf8 = true;
		struct error e;
		char *w = address_to_wire("a@b\xc3\xbc"
					  "cher.example",
					  &smtputf8, &e);

		ok(smtputf8, "SMTPUTF8 once set is never cleared");
		free(w);
	}
}

static const struct {
	const char *addr;
	const char *why; /* NULL: a valid Mailbox */
} mailboxes[] = {
	{"a@[IPv6:::ffff:192.0.2.1]", NULL},
	{"a@[192.0.2.255]", NULL},
	{"\"a\\ b\"@example.org", NULL},
	{"\"a\\\"b\"@example.org", NULL},
	{"\xc3\xbc.x@example.org", NULL},
	{"a@B\xc3\x9c"
	 "CHER.example",
	 NULL},
	{"a@a-b--c.example", NULL},
	{"a@1.2.3.example", NULL},
	{"a@[192.0.2.256]", "the address literal is not [IPv4] or [IPv6:...]"},
	{"a@[ 192.0.2.1]", "address literal"},
	{"a@[IPv6:2001:db8::1%eth0]", "address literal"},
	{"a@[IPv4:192.0.2.1]", "address literal"},
	{"a@[]", "address literal"},
	{"\"a\x01\"@example.org", "not a valid local part"},
	{"\"a\\\x01\"@example.org", "not a valid local part"},
	{"\"\\\"@example.org", "no domain"},
	{"<a@b>", "not a valid local part"},
	{"a@xn--", "not a valid host name"},
	{"a@example-.org", "not a valid host name"},
	{"a@\xe2\x80\x8b.example", "not a valid host name"},
	{"a@xn--bcher-kva-.example", "not a valid host name"},
};

static void
test_mailbox(void)
{
	for (size_t i = 0; i < sizeof mailboxes / sizeof mailboxes[0]; i++) {
		struct error e;
		int rc;

		error_clear(&e);
		rc = address_check_mailbox(mailboxes[i].addr, &e);
		if (mailboxes[i].why == NULL)
			is_int(0, rc, "mailbox %zu: valid (%s)", i, e.msg);
		else
			ok(rc < 0 && e.status == ST_DATAERR &&
				   strstr(e.msg, mailboxes[i].why) != NULL,
			   "mailbox %zu: refused: %s", i, e.msg);
	}
}

static void
test_ascii(void)
{
	static const struct {
		const char *s;
		bool ascii;
	} cases[] = {
		{"", true},      {"a@b", true},          {"\x7f\x01", true},
		{"\x80", false}, {"a@b\xc3\xbc", false},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		is_int(cases[i].ascii, address_is_ascii(cases[i].s), "address_is_ascii %zu", i);
}

int
main(void)
{
	plan_lazy();
	test_check();
	test_check_lengths();
	test_normalize();
	test_wire();
	test_mailbox();
	test_ascii();
	return 0;
}
