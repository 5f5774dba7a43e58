/* notice.h - failure notices (bounces) for messages outbox gives up on.
 *
 * A notice is an RFC 3464 delivery status notification in an RFC 6522
 * multipart/report; report-type=delivery-status with three parts:
 *   1. text/plain (UTF-8, quoted-printable): a translated explanation,
 *      the failed recipients with the server's reply, the reason;
 *   2. message/delivery-status: Reporting-MTA, Original-Envelope-Id,
 *      Arrival-Date, then one block per failed recipient (Final-Recipient,
 *      Action: failed, Status, Remote-MTA, Diagnostic-Code,
 *      Last-Attempt-Date);
 *   3. text/rfc822-headers: the original header block, never its body.
 * Its own header carries Auto-Submitted: auto-replied (RFC 3834) so that
 * auto-responders stay quiet.
 *
 * What the caller does (no I/O happens here): it never asks for a notice
 * for null-sender mail, sends the notice with the null envelope sender
 * (MAIL FROM:<>, RFC 5321 4.5.5) so that it can never cause another one,
 * through the user's own account (hence from_addr is the account's
 * address), and rate-limits notices with notice_rate_ok().
 *
 * Every line of the notice is at most 998 octets; long fields are folded
 * (RFC 5322 2.2.3), a word longer than a line is cut with a fold.  Values
 * from the server (replies) and hosts are untrusted: control characters
 * become spaces, and in the delivery-status part bytes above 0x7f become
 * '?'.  The notice is 7-bit except for non-ASCII from_addr/to_addr (raw
 * UTF-8 in From:/To:, RFC 6532: the caller sends it with SMTPUTF8, which
 * address_to_wire() tells it) and 8-bit bytes of the original headers
 * (that part is then labelled 8bit).  Non-ASCII recipients appear as
 * "utf-8;" addresses in their 7-bit xtext form (RFC 6533 3). */
#ifndef OUTBOX_NOTICE_H
#define OUTBOX_NOTICE_H

#include "lib.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Longest server reply or reason kept; the rest is cut. */
#define NOTICE_TEXT_MAX 4096
/* At most this many recipients in one notice. */
#define NOTICE_RCPTS_MAX 10000
/* notice_rate_ok() counts the notices sent within this many seconds. */
#define NOTICE_RATE_WINDOW 3600

struct notice_rcpt {
	const char *addr;  /* the recipient as given in RCPT TO */
	const char *reply; /* the server's reply line with its code, "550 5.1.1 no such user";
			      NULL when there was none (expired without an answer) */
};

struct notice {
	const char *from_addr;      /* the notice's From: (the account's address) */
	const char *to_addr;        /* the original envelope sender; never "" */
	const char *reporting_host; /* Reporting-MTA: this host's name */
	const char *remote_host;    /* Remote-MTA: the submission server; NULL to omit */
	const char *envid;          /* the original ENVID as given with -V (decoded), or NULL */
	const char *reason;         /* one line, translated by the caller: why outbox gave up,
				       "the server refused the message"; NULL to omit */
	const struct notice_rcpt *rcpts; /* the failed recipients, at least one */
	size_t nrcpts;
	const char *orig_headers; /* the original message (LF or CRLF); only its header */
	size_t orig_headers_len;  /* block is used, a body after it is ignored */
	time_t arrival;           /* Arrival-Date; 0 to omit */
	time_t last_attempt;      /* Last-Attempt-Date; 0 to omit */
	time_t now;               /* Date: of the notice */
	const char *msgid_domain; /* right side of the Message-ID; "localhost" if NULL */
	/* For tests; NULL for random ones (GnuTLS).  An overridden boundary
	 * that occurs in a part is an error instead of being redrawn. */
	const char *boundary_override;
	const char *msgid_override; /* the whole value, "<x@y>" */
};

/* Appends the complete notice (header, empty line, MIME body; LF line
 * endings: the wire writer makes them CRLF) to out.
 *
 * Status of each recipient (RFC 3463), from the first line of its reply:
 * the enhanced code when it has one of the same class as the reply code,
 * else 5.0.0 for a 5xx reply, else 4.4.7 (delivery time expired: a 4xx
 * reply, no reply, or one without a code).
 *
 * Errors, with out left as it was: an address that address_check()
 * refuses, invalid UTF-8 in a recipient address, an empty to_addr, no
 * reporting_host or no recipients, a NUL in the original headers
 * (ST_DATAERR); out growing past its bound (ST_DATAERR); the random
 * generator failing or an overridden boundary occurring in a part
 * (ST_SOFTWARE). */
int notice_build(const struct notice *n, struct buf *out, struct error *e);

/* Rate limit: true if fewer than max_per_window of the times in
 * sent[0..nsent) lie within NOTICE_RATE_WINDOW seconds before now.
 * Times after now (the clock went back) count as recent. */
bool notice_rate_ok(const time_t *sent, size_t nsent, time_t now, unsigned max_per_window);

/* Drops the times that no longer count (older than the window), keeping
 * the order; returns the new count.  For keeping a small state file. */
size_t notice_rate_prune(time_t *sent, size_t nsent, time_t now);

#endif
