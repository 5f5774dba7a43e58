/* reply-t.c - tests for src/reply.c: reply lines, multi-line replies,
 * malformed replies, bounds and EHLO capabilities. */
#include "config.h"

#include "reply.h"

#include "tap/basic.h"

#include <stdio.h>
#include <string.h>

static int
feed_all(struct reply *r, const char *const *lines, struct error *e)
{
	int rc = 0;

	reply_init(r);
	for (size_t i = 0; lines[i] != NULL; i++) {
		rc = reply_feed(r, lines[i], strlen(lines[i]), e);
		if (rc != 0)
			break;
	}
	return rc;
}

static const struct {
	const char *lines[4];
	int rc;
	int code;
	const char *enhanced;
	const char *text;
} cases[] = {
	{{"250 OK", NULL}, 1, 250, "", "OK"},
	{{"220-hello", "220 there", NULL}, 1, 220, "", "hello\nthere"},
	{{"550 5.1.1 no such user", NULL}, 1, 550, "5.1.1", "5.1.1 no such user"},
	{{"354", NULL}, 1, 354, "", ""},
	{{"250-a", NULL}, 0, 250, "", "a"},
	{{"25 short", NULL}, -1, 0, "", ""},
	{{"abc def", NULL}, -1, 0, "", ""},
	{{"650 bad class", NULL}, -1, 0, "", ""},
	{{"250x", NULL}, -1, 0, "", ""},
	{{"250-a", "251 b", NULL}, -1, 250, "", "a"},
	{{"421 4.3.2 shutting down", NULL}, 1, 421, "4.3.2", "4.3.2 shutting down"},
};

int
main(void)
{
	struct reply r;
	struct error e;
	struct caps c;
	char desc[512];

	plan_lazy();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = feed_all(&r, cases[i].lines, &e);

		is_int(cases[i].rc, rc, "case %zu: result", i);
		if (cases[i].rc >= 0) {
			is_int(cases[i].code, r.code, "case %zu: code", i);
			is_string(cases[i].enhanced, r.enhanced, "case %zu: enhanced code", i);
			is_string(cases[i].text, r.text, "case %zu: text", i);
		} else {
			ok(e.status == ST_SERVER_TEMP, "case %zu: malformed is temporary", i);
		}
	}

	/* More than REPLY_LINES_MAX lines is refused. */
	reply_init(&r);
	{
		int rc = 0;

		for (int i = 0; i < REPLY_LINES_MAX + 5 && rc == 0; i++)
			rc = reply_feed(&r, "250-x", 5, &e);
		is_int(-1, rc, "too many lines refused");
	}

	/* The kept text is bounded. */
	{
		char line[REPLY_LINE_MAX];
		int rc = 0;

		memset(line, 'y', sizeof line);
		memcpy(line, "250-", 4);
		reply_init(&r);
		for (int i = 0; i < 20 && rc == 0; i++)
			rc = reply_feed(&r, line, sizeof line, &e);
		ok(r.text_len < sizeof r.text, "text bounded");
	}

	{
		const char *ehlo[] = {"250-mail.example.org greets you",
				      "250-PIPELINING",
				      "250-SIZE 35882577",
				      "250-8BITMIME",
				      "250-AUTH PLAIN LOGIN cram-md5",
				      "250-AUTH=LOGIN",
				      "250-ENHANCEDSTATUSCODES",
				      "250-STARTTLS",
				      "250-SMTPUTF8",
				      "250-DSN",
				      "250-X-UNKNOWN thing",
				      "250 CHUNKING",
				      NULL};

		is_int(1, feed_all(&r, ehlo, &e), "EHLO reply parsed");
		caps_parse(&r, &c);
		is_int(CAP_PIPELINING | CAP_SIZE | CAP_8BITMIME | CAP_AUTH |
			       CAP_ENHANCEDSTATUSCODES | CAP_STARTTLS | CAP_SMTPUTF8 | CAP_DSN |
			       CAP_CHUNKING,
		       c.flags, "every capability seen");
		is_int(35882577, (long)c.size_max, "SIZE value");
		is_string("PLAIN LOGIN CRAM-MD5", c.auth, "AUTH list upper-cased, no duplicates");
		ok(caps_has_auth(&c, "login"), "caps_has_auth ignores case");
		ok(!caps_has_auth(&c, "XOAUTH2"), "caps_has_auth: absent mechanism");
		caps_describe(&c, desc, sizeof desc);
		ok(strstr(desc, "SIZE=35882577") != NULL && strstr(desc, "AUTH(PLAIN") != NULL,
		   "caps_describe: %s", desc);
	}
	{
		const char *ehlo[] = {"250-host", "250-STARTTLSX", "250 PIPELINING2", NULL};

		feed_all(&r, ehlo, &e);
		caps_parse(&r, &c);
		is_int(0, c.flags, "keyword prefixes are not capabilities");
	}
	{
		const char *ehlo[] = {"250 PIPELINING", NULL};

		feed_all(&r, ehlo, &e);
		caps_parse(&r, &c);
		is_int(0, c.flags, "the greeting line is not a capability");
	}
	return 0;
}
