/* reply.h - SMTP reply and EHLO capability parsing (RFC 5321 4.2, 4.1.1.1).
 *
 * Pure functions over lines the server sent: every line and every reply is
 * bounded, so a hostile or broken server cannot make outbox grow without
 * limit. */
#ifndef OUTBOX_REPLY_H
#define OUTBOX_REPLY_H

#include "status.h"

#include <stdbool.h>
#include <stddef.h>

#define REPLY_LINE_MAX 2048 /* RFC 5321 says 512; be generous, not unbounded */
#define REPLY_LINES_MAX 128 /* lines in one multi-line reply */
#define REPLY_TEXT_MAX 8192 /* kept text of one reply */

struct reply {
	int code;                  /* 3-digit code, 0 while incomplete */
	char enhanced[16];         /* "5.1.1" when the first line carries one */
	char text[REPLY_TEXT_MAX]; /* text of every line without code, joined by '\n' */
	size_t text_len;
	size_t lines;
	bool complete;
};

void reply_init(struct reply *r);

/* Feeds one line without its CRLF.  Returns 1 when the reply is complete,
 * 0 when more lines are due, -1 (ST_SERVER_TEMP) when the line is not a
 * well-formed reply line or the reply is too long. */
int reply_feed(struct reply *r, const char *line, size_t len, struct error *e);

/* The first line's text, for messages: "5.1.1 no such user" style. */
const char *reply_first_line(const struct reply *r, char *out, size_t outlen);

enum caps_flag {
	CAP_PIPELINING = 1u << 0,
	CAP_SIZE = 1u << 1,
	CAP_8BITMIME = 1u << 2,
	CAP_SMTPUTF8 = 1u << 3,
	CAP_DSN = 1u << 4,
	CAP_STARTTLS = 1u << 5,
	CAP_AUTH = 1u << 6,
	CAP_ENHANCEDSTATUSCODES = 1u << 7,
	CAP_CHUNKING = 1u << 8,
};

struct caps {
	unsigned flags;
	unsigned long size_max; /* SIZE argument; 0 = no limit given */
	char auth[512];         /* AUTH mechanisms, upper case, space separated */
};

/* Reads the extension keywords of a 250 EHLO reply (the greeting line is
 * skipped).  Unknown keywords are ignored. */
void caps_parse(const struct reply *ehlo, struct caps *c);

/* Whether the AUTH list holds mechanism name (case-insensitive). */
bool caps_has_auth(const struct caps *c, const char *mech);

/* Writes "PIPELINING SIZE=1000 ..." for traces and --serverinfo. */
void caps_describe(const struct caps *c, char *out, size_t outlen);

#endif
