/* message.h - the header block of a submitted message, as pure functions.
 *
 * A message is raw bytes: LF or CRLF line endings (mixed is fine), any
 * bytes in the body (NUL included), maybe no body, maybe no blank line
 * after the headers.  The rules, the same in every function here:
 *
 * - A first line that starts with "From " and is not a field (no ':'
 *   after "From" and blanks) is an mbox envelope line, not a header.  It
 *   is dropped from what is sent: it would otherwise become the first
 *   line of the body and confuse the recipient's MUA.
 * - A field starts with a line "name:" (name of printable ASCII other
 *   than ':', optionally followed by blanks before the ':', RFC 5322
 *   3.6.8 and 4.5) and takes the following lines that start with a space
 *   or tab (folding).
 * - An empty line ends the headers; the body starts after it.  Any other
 *   line that is neither a field nor a continuation also ends the headers
 *   and is the first line of the body (sendmail does the same).
 * - A NUL byte in a header line is an ST_DATAERR error; in the body it is
 *   left alone.
 *
 * The design is one callback per complete field (message_fields()), plus
 * message_layout() for where the headers and the body are.  The callers
 * then ask for recipients (-t), the From address, or a rewritten header
 * block, each over the same bytes. */
#ifndef OUTBOX_MESSAGE_H
#define OUTBOX_MESSAGE_H

#include "lib.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The default bound on the header block. */
#define MESSAGE_HEADER_MAX (1024 * 1024)

/* Where things are in a message; all offsets into the buffer given. */
struct message_layout {
	size_t header_start; /* after a leading mbox "From " line, else 0 */
	size_t header_end;   /* one past the last field, its line ending included */
	size_t body_start;   /* after the empty line; == header_end without one */
	bool has_separator;  /* an empty line ended the headers */
	const char *eol;     /* "\r\n" if the first field's line ends in CRLF, else "\n" */
};

/* Finds the header block of buf[0..len).  More than max_header bytes up to
 * the end of the headers (the mbox line included) is an ST_DATAERR error
 * "headers larger than N bytes"; so is a NUL in a header line.
 * buf may be only the first bytes of the message (at least max_header + 2
 * of them, see spool_read()): a last line without LF that ends past
 * max_header and may still be a field counts as too large, never as the
 * first line of the body. */
int message_layout(const char *buf, size_t len, size_t max_header, struct message_layout *out,
		   struct error *e);

/* One field, exactly as in the input. */
struct message_field {
	const char *name; /* the field name, without blanks and ':' */
	size_t name_len;
	const char *raw;   /* the whole field: name, ':', value, folded lines, */
	size_t raw_len;    /* and the line endings, byte for byte */
	const char *value; /* what follows the ':' up to the end of raw */
	size_t value_len;
	size_t line; /* 1-based number of the field's first line in the input */
};

/* Returns 0 to go on, >0 to stop quietly, <0 to stop with e filled. */
typedef int (*message_field_cb)(void *ctx, const struct message_field *f, struct error *e);

/* Calls cb for each field of the header block of buf[0..len), in order.
 * buf may be a whole message or just its header block: scanning stops
 * where the headers end.  Returns 0, or -1 (NUL in a header, or cb's
 * error). */
int message_fields(const char *buf, size_t len, message_field_cb cb, void *ctx, struct error *e);

/* True if the name of f is name, ignoring case. */
bool message_field_is(const struct message_field *f, const char *name);

/* The recipients for -t, appended to out: To, Cc and Bcc; but when the
 * message has Resent- fields, the Resent-To, Resent-Cc and Resent-Bcc of
 * the topmost Resent- block only (RFC 5322 3.6.6: the newest).  A block
 * is a run of adjacent Resent- fields, ended by any other field or by a
 * Resent- field that the block already has.  Addresses already in out,
 * or seen before, are skipped (compared ignoring case); order is kept. */
int message_recipients(const char *hdr, size_t hlen, struct strlist *out, struct error *e);

/* The first address of the first From: field, newly allocated, or NULL
 * when there is no From: field or it holds no address. */
int message_from_address(const char *hdr, size_t hlen, char **out, struct error *e);

enum message_set {
	MESSAGE_SET_AUTO, /* add the field when the message has none */
	MESSAGE_SET_ON,   /* From: replace an existing one; Date, Message-ID: as AUTO */
	MESSAGE_SET_OFF,  /* never add or change the field */
};

struct message_rewrite {
	bool remove_bcc;             /* drop Bcc: and Resent-Bcc: fields with their folded lines */
	bool undisclosed_recipients; /* drop To:, Cc:, Bcc:; add "To: undisclosed-recipients:;" */
	enum message_set from_header;
	enum message_set date_header;
	enum message_set msgid_header;
	const char *from_addr;      /* address for a generated From:; NULL or "" = none */
	const char *from_name;      /* display name for it (-F, from_full_name); may be NULL */
	const char *msgid_domain;   /* right side of a generated Message-ID; "localhost" if unset */
	const char *msgid_override; /* the whole Message-ID value ("<x@y>"), for tests */
	time_t now;                 /* for Date:, written in local time */
};

/* Writes the header block of hdr[0..hlen) to out, rewritten by opts: the
 * fields kept are copied byte for byte, a From: that from_header ON
 * replaces is replaced where the first one was (later ones dropped), and
 * missing From:, Date:, Message-ID: are appended in that order after the
 * existing fields.  Generated lines end like the first field's line (LF
 * if there is none): the wire writer makes all endings CRLF later.  out
 * always ends with a line ending unless it is empty, and never with the
 * empty line: the caller writes layout.eol, then the body.  A from_name or
 * from_addr with a line break, a CR not followed by LF in a header line
 * (on the wire it would end the line, splitting the field), or out growing
 * past its bound, is an ST_DATAERR error. */
int message_rewrite_headers(const char *hdr, size_t hlen, const struct message_rewrite *opts,
			    struct buf *out, struct error *e);

/* RFC 5322 3.3 date-time in local time with a numeric zone, English day
 * and month names whatever the locale: "Thu, 26 Nov 2026 09:25:45 +0100".
 * Writes at most size bytes; returns 0, or -1 when t cannot be converted. */
int message_format_date(time_t t, char *out, size_t size);

/* A new Message-ID value "<random@domain>" (128 random bits from GnuTLS),
 * newly allocated; "localhost" when domain is NULL or empty.  NULL if the
 * random generator fails. */
char *message_make_msgid(const char *domain);

/* True once buf[0..len) holds an empty line (LF LF, LF CR LF, or one at
 * the very start): the header block is complete.  Lets readers stop
 * keeping or reading bytes early; message_layout() has the last word. */
bool message_has_blank_line(const char *buf, size_t len);

/* True if any byte of buf[0..len) is 0x80 or above (BODY=8BITMIME). */
bool message_has_8bit(const char *buf, size_t len);

#endif
