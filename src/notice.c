/* notice.c - builds RFC 3464 failure notices as pure functions: the
 * explanation, the delivery-status fields, the original header block, the
 * MIME structure around them (RFC 6522), and a rate-limit check.
 *
 * Untrusted data: the server's reply lines (any bytes, any length: cut,
 * control characters and 8-bit bytes replaced, then folded), the host
 * names, and the original message's header block (found with
 * message_layout(), its body never copied; kept verbatim when that is
 * safe, else quoted-printable).  The MIME boundary is random and checked
 * against every part, so no input can end a part early. */
#include "config.h"

#include "notice.h"

#include "address.h"
#include "i18n.h"
#include "message.h"
#include "reply.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 5322 2.1.1: folding aims for 78 octets and must stay within 998. */
#define FOLD_SOFT 78
#define LINE_MAX_OCTETS 998
/* RFC 2045 6.7: encoded lines of at most 76 characters. */
#define QP_LINE 76
/* RFC 2047 2: an encoded-word is at most 75 characters.  39 bytes of
 * text make 52 of base64, plus 12 for "=?UTF-8?B?" and "?=": 64, short
 * enough to follow "Subject: " within FOLD_SOFT. */
#define EW_CHUNK 39
#define BOUNDARY_TRIES 8

/* The internal buffers below are unbounded (buf_init(b, 0)): their inputs
 * are bounded, so appends to them cannot fail and are not checked.  Only
 * the final append to the caller's buffer can, and is. */

/* A copy of s that fits on one line: at most NOTICE_TEXT_MAX bytes (not
 * cutting a UTF-8 sequence), control characters turned into spaces, with
 * ascii_only bytes above 0x7f into '?', blanks around it removed. */
static char *
one_line(const char *s, bool ascii_only)
{
	size_t n = utf8_cut(s, strnlen(s, NOTICE_TEXT_MAX + 1), NOTICE_TEXT_MAX);
	size_t start = 0;
	char *out = xstrndup(s, n);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c < 0x20 || c == 0x7f)
			out[i] = ' ';
		else if (c >= 0x80 && ascii_only)
			out[i] = '?';
	}
	while (start < n && out[start] == ' ')
		start++;
	while (n > start && out[n - 1] == ' ')
		n--;
	memmove(out, out + start, n - start);
	out[n - start] = '\0';
	return out;
}

/* Appends "name: value\n", folded before a space where the line would pass
 * FOLD_SOFT octets (RFC 5322 2.2.3).  A word that would pass
 * LINE_MAX_OCTETS is cut with a fold, which adds a space when unfolded:
 * the lesser harm for a server's endless reply.  value has no control
 * characters. */
static void
fold_field(struct buf *b, const char *name, const char *value)
{
	size_t col = strlen(name) + 1;
	bool words_on_line = false;
	const char *p = value;

	buf_printf(b, "%s:", name);
	for (;;) {
		size_t w;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		w = strcspn(p, " ");
		if (words_on_line && col + 1 + w > FOLD_SOFT) {
			buf_puts(b, "\n");
			col = 0;
		}
		buf_puts(b, " ");
		col++;
		while (w > 0) {
			size_t room = LINE_MAX_OCTETS - col;
			size_t take = w < room ? w : room;

			if (room == 0) {
				buf_puts(b, "\n ");
				col = 1;
				continue;
			}
			buf_append(b, p, take);
			col += take;
			p += take;
			w -= take;
		}
		words_on_line = true;
	}
	buf_puts(b, "\n");
}

/* RFC 5322 3.2.3 specials: a phrase holding one must be quoted or encoded. */
#define SPECIALS "()<>[]:;@\\,.\""

/* Whether a word can stay as it is: ASCII, and no specials in a phrase. */
static bool
plain_word(const char *w, size_t n, bool phrase)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)w[i] >= 0x80 || (phrase && strchr(SPECIALS, w[i]) != NULL))
			return false;
	return true;
}

/* s made fit for a header (RFC 2047 5).  ASCII stays as it is, or in a
 * phrase (a display name) with specials becomes a quoted-string.  Else
 * the words that must be encoded are, each run of them (with the spaces
 * between them inside, RFC 2047 6.2 drops the space between adjacent
 * encoded-words) as encoded-words; plain words in between stay plain.
 * text (a translation) goes through one_line() first. */
static char *
header_text(const char *text, bool phrase)
{
	char *s = one_line(text, false);
	struct buf b;
	const char *p = s;

	if (plain_word(s, strlen(s), phrase))
		return s;
	buf_init(&b, 0);
	if (address_is_ascii(s)) {
		buf_append_quoted(&b, s, strlen(s));
		free(s);
		return b.data;
	}
	for (;;) {
		size_t w;
		const char *end;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		w = strcspn(p, " ");
		if (b.len > 0)
			buf_puts(&b, " ");
		if (plain_word(p, w, phrase)) {
			buf_append(&b, p, w);
			p += w;
			continue;
		}
		end = p + w;
		for (;;) {
			const char *q = end + strspn(end, " ");
			size_t w2 = strcspn(q, " ");

			if (*q == '\0' || plain_word(q, w2, phrase))
				break;
			end = q + w2;
		}
		buf_append_encoded_words(&b, p, (size_t)(end - p), EW_CHUNK);
		p = end;
	}
	free(s);
	return b.data;
}

/* RFC 2045 6.7 quoted-printable of s[0..n), LF line endings, soft line
 * breaks keeping lines within QP_LINE characters. */
static void
qp_encode(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool line_end = i + 1 == n || s[i + 1] == '\n';
		char tok[3];
		size_t tl = 1;

		if (c == '\n') {
			buf_puts(b, "\n");
			col = 0;
			continue;
		}
		tok[0] = (char)c;
		if (!((c >= 33 && c <= 126 && c != '=') ||
		      ((c == ' ' || c == '\t') && !line_end))) {
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			tl = 3;
		}
		/* Room for a final '=' unless this token ends the line. */
		if (col + tl > (line_end ? QP_LINE : QP_LINE - 1)) {
			buf_puts(b, "=\n");
			col = 0;
		}
		buf_append(b, tok, tl);
		col += tl;
	}
}

/* RFC 6533 3: utf-8-addr-xtext, the 7-bit form of a UTF-8 address: QCHARs
 * as they are, every other character as "\x{HEX}" of its code point.
 * NULL for invalid UTF-8. */
static char *
utf8_addr_xtext(const char *addr)
{
	const unsigned char *p = (const unsigned char *)addr;
	size_t n = strlen(addr);
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < n;) {
		size_t len = utf8_char_len(p + i, n - i);
		uint32_t cp;

		if (len == 0) {
			buf_free(&b);
			return NULL;
		}
		cp = utf8_code_point(p + i, len);
		/* QCHAR: %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e */
		if (cp > 0x20 && cp < 0x7f && cp != '+' && cp != '=' && cp != '\\')
			buf_printf(&b, "%c", (char)cp);
		else
			buf_printf(&b, "\\x{%02" PRIX32 "}", cp);
		i += len;
	}
	return b.data;
}

/* RFC 3463 status of one recipient; see notice.h. */
static void
rcpt_status(const char *reply, char *out, size_t outlen)
{
	struct reply r;
	struct error ignored;
	const char *status = "4.4.7";

	reply_init(&r);
	if (reply != NULL && reply_feed(&r, reply, strcspn(reply, "\r\n"), &ignored) >= 0) {
		if (r.enhanced[0] != '\0' && r.enhanced[0] - '0' == r.code / 100)
			status = r.enhanced;
		else if (r.code / 100 == 5)
			status = "5.0.0";
	}
	snprintf(out, outlen, "%s", status);
}

static int
check_address(const char *addr, struct error *e)
{
	if (addr == NULL || *addr == '\0')
		return error_set(e, ST_DATAERR,
				 _("cannot write a failure notice: an address is missing"));
	if (address_check(addr, e) < 0) {
		error_prefix(e, _("cannot write a failure notice"));
		return -1;
	}
	return 0;
}

static int
check_input(const struct notice *n, struct error *e)
{
	if (n->reporting_host == NULL || *n->reporting_host == '\0')
		return error_set(e, ST_DATAERR,
				 _("cannot write a failure notice without this host's name"));
	if (n->nrcpts == 0 || n->nrcpts > NOTICE_RCPTS_MAX)
		return error_set(e, ST_DATAERR,
				 _("cannot write a failure notice for %zu recipients (1 to %d)"),
				 n->nrcpts, NOTICE_RCPTS_MAX);
	if (check_address(n->from_addr, e) < 0 || check_address(n->to_addr, e) < 0)
		return -1;
	for (size_t i = 0; i < n->nrcpts; i++)
		if (check_address(n->rcpts[i].addr, e) < 0)
			return -1;
	return 0;
}

/* Part 1: what a person reads, UTF-8 text before quoted-printable. */
static void
text_part(const struct notice *n, struct buf *b)
{
	struct buf t;
	char *host = one_line(n->reporting_host, true);

	buf_init(&t, 0);
	buf_printf(&t, _("This is outbox, the mail submission program on %s."), host);
	buf_puts(&t, "\n\n");
	buf_puts(&t, _("Your message could not be delivered to these recipients:"));
	buf_puts(&t, "\n\n");
	for (size_t i = 0; i < n->nrcpts; i++) {
		buf_printf(&t, "  %s\n    ", n->rcpts[i].addr);
		if (n->rcpts[i].reply == NULL) {
			buf_puts(&t, _("(no reply from the server)"));
		} else {
			char *reply = one_line(n->rcpts[i].reply, true);

			buf_printf(&t, _("the server said: %s"), reply);
			free(reply);
		}
		buf_puts(&t, "\n");
	}
	buf_puts(&t, "\n");
	if (n->reason != NULL && *n->reason != '\0') {
		char *reason = one_line(n->reason, false);

		buf_printf(&t, _("Reason: %s"), reason);
		buf_puts(&t, "\n");
		free(reason);
	}
	buf_puts(&t, _("outbox has given up on this message and will not try to send it again."));
	buf_puts(&t, "\n");
	buf_puts(&t, _("The headers of your message are attached; its body is not."));
	buf_puts(&t, "\n");
	qp_encode(b, t.data, t.len);
	buf_free(&t);
	free(host);
}

static void
date_field(struct buf *b, const char *name, time_t t)
{
	char date[64];

	if (t != 0 && message_format_date(t, date, sizeof date) == 0)
		fold_field(b, name, date);
}

/* A "type; value" field (RFC 3464 2.1.2) of a one_line()d value. */
static void
typed_field(struct buf *b, const char *name, const char *type, const char *value)
{
	char *clean = one_line(value, true);
	char *v = xasprintf("%s; %s", type, clean);

	fold_field(b, name, v);
	free(v);
	free(clean);
}

/* Part 2: message/delivery-status (RFC 3464 2.2, 2.3). */
static int
dsn_part(const struct notice *n, struct buf *b, struct error *e)
{
	typed_field(b, "Reporting-MTA", "dns", n->reporting_host);
	if (n->envid != NULL && *n->envid != '\0') {
		char *envid = one_line(n->envid, true);

		fold_field(b, "Original-Envelope-Id", envid);
		free(envid);
	}
	date_field(b, "Arrival-Date", n->arrival);
	for (size_t i = 0; i < n->nrcpts; i++) {
		const struct notice_rcpt *r = &n->rcpts[i];
		char status[16];

		buf_puts(b, "\n");
		if (address_is_ascii(r->addr)) {
			typed_field(b, "Final-Recipient", "rfc822", r->addr);
		} else {
			char *x = utf8_addr_xtext(r->addr);

			if (x == NULL)
				return error_set(e, ST_DATAERR,
						 _("cannot write a failure notice: the recipient "
						   "address is not valid UTF-8"));
			typed_field(b, "Final-Recipient", "utf-8", x);
			free(x);
		}
		fold_field(b, "Action", "failed");
		rcpt_status(r->reply, status, sizeof status);
		fold_field(b, "Status", status);
		if (n->remote_host != NULL && *n->remote_host != '\0')
			typed_field(b, "Remote-MTA", "dns", n->remote_host);
		if (r->reply != NULL)
			typed_field(b, "Diagnostic-Code", "smtp", r->reply);
		date_field(b, "Last-Attempt-Date", n->last_attempt);
	}
	return 0;
}

/* Part 3: the original header block with LF endings.  Verbatim when every
 * line fits and no lone CR is left; else quoted-printable.  *cte is the
 * Content-Transfer-Encoding to declare, NULL for 7bit. */
static int
headers_part(const struct notice *n, struct buf *b, const char **cte, struct error *e)
{
	struct message_layout l;
	struct buf lf;
	size_t line = 0, longest = 0;
	bool lone_cr = false, eightbit = false;

	*cte = NULL;
	if (n->orig_headers == NULL || n->orig_headers_len == 0)
		return 0;
	if (message_layout(n->orig_headers, n->orig_headers_len, MESSAGE_HEADER_MAX, &l, e) < 0) {
		error_prefix(e, _("cannot write a failure notice"));
		return -1;
	}
	buf_init(&lf, 0);
	for (size_t i = l.header_start; i < l.header_end; i++) {
		char c = n->orig_headers[i];

		if (c == '\r' && i + 1 < l.header_end && n->orig_headers[i + 1] == '\n')
			continue;
		buf_append(&lf, &c, 1);
		lone_cr |= c == '\r';
		eightbit |= (unsigned char)c >= 0x80;
		line = c == '\n' ? 0 : line + 1;
		longest = line > longest ? line : longest;
	}
	if (lf.len > 0 && lf.data[lf.len - 1] != '\n')
		buf_puts(&lf, "\n");
	if (lone_cr || longest > LINE_MAX_OCTETS) {
		qp_encode(b, lf.data, lf.len);
		*cte = "quoted-printable";
	} else {
		buf_append(b, lf.data, lf.len);
		*cte = eightbit ? "8bit" : NULL;
	}
	buf_free(&lf);
	return 0;
}

static char *
random_boundary(void)
{
	char *s = random_hex(12);
	char *boundary;

	if (s == NULL)
		return NULL;
	/* "=_" cannot occur in quoted-printable text (RFC 2045 6.7). */
	boundary = xasprintf("=_outbox_%s", s);
	free(s);
	return boundary;
}

static bool
occurs(const struct buf *parts, size_t nparts, const char *needle)
{
	for (size_t i = 0; i < nparts; i++)
		if (parts[i].len > 0 &&
		    memmem(parts[i].data, parts[i].len, needle, strlen(needle)) != NULL)
			return true;
	return false;
}

/* A boundary that no part contains (RFC 2046 5.1.1). */
static char *
pick_boundary(const struct notice *n, const struct buf *parts, size_t nparts, struct error *e)
{
	if (n->boundary_override != NULL) {
		if (occurs(parts, nparts, n->boundary_override)) {
			error_set(e, ST_SOFTWARE,
				  _("cannot write a failure notice: the MIME boundary occurs "
				    "in its text"));
			return NULL;
		}
		return xstrdup(n->boundary_override);
	}
	for (int i = 0; i < BOUNDARY_TRIES; i++) {
		char *b = random_boundary();

		if (b == NULL)
			break;
		if (!occurs(parts, nparts, b))
			return b;
		free(b);
	}
	error_set(e, ST_SOFTWARE,
		  _("cannot write a failure notice: the random number generator failed"));
	return NULL;
}

static int
notice_header(const struct notice *n, const char *boundary, struct buf *b, struct error *e)
{
	char *name = header_text(_("Mail Delivery System"), true);
	char *subject = header_text(_("Undelivered Mail Returned to Sender"), false);
	char *from = xasprintf("%s <%s>", name, n->from_addr);
	char *ctype = xasprintf("multipart/report; report-type=delivery-status; boundary=\"%s\"",
				boundary);
	char *msgid = n->msgid_override != NULL ? xstrdup(n->msgid_override)
						: message_make_msgid(n->msgid_domain);
	char date[64];
	int rc = -1;

	if (msgid == NULL) {
		error_set(e, ST_SOFTWARE,
			  _("cannot write a failure notice: the random number generator failed"));
		goto out;
	}
	if (message_format_date(n->now, date, sizeof date) < 0) {
		error_set(e, ST_SOFTWARE,
			  _("cannot write a failure notice: the time cannot be converted"));
		goto out;
	}
	fold_field(b, "From", from);
	fold_field(b, "To", n->to_addr);
	fold_field(b, "Subject", subject);
	fold_field(b, "Date", date);
	fold_field(b, "Message-ID", msgid);
	fold_field(b, "MIME-Version", "1.0");
	fold_field(b, "Content-Type", ctype);
	fold_field(b, "Auto-Submitted", "auto-replied");
	rc = 0;
out:
	free(msgid);
	free(ctype);
	free(from);
	free(subject);
	free(name);
	return rc;
}

enum { PART_TEXT, PART_DSN, PART_HEADERS, PART__COUNT };

int
notice_build(const struct notice *n, struct buf *out, struct error *e)
{
	struct buf parts[PART__COUNT], msg;
	const char *hdr_cte = NULL;
	char *boundary = NULL;
	int rc = -1;

	if (check_input(n, e) < 0)
		return -1;
	for (size_t i = 0; i < PART__COUNT; i++)
		buf_init(&parts[i], 0);
	buf_init(&msg, 0);
	text_part(n, &parts[PART_TEXT]);
	if (dsn_part(n, &parts[PART_DSN], e) < 0 ||
	    headers_part(n, &parts[PART_HEADERS], &hdr_cte, e) < 0)
		goto out;
	boundary = pick_boundary(n, parts, PART__COUNT, e);
	if (boundary == NULL || notice_header(n, boundary, &msg, e) < 0)
		goto out;
	buf_printf(&msg,
		   "\n--%s\n"
		   "Content-Type: text/plain; charset=utf-8\n"
		   "Content-Transfer-Encoding: quoted-printable\n"
		   "Content-Description: Notification\n\n",
		   boundary);
	buf_append(&msg, parts[PART_TEXT].data, parts[PART_TEXT].len);
	buf_printf(&msg,
		   "\n--%s\n"
		   "Content-Type: message/delivery-status\n"
		   "Content-Description: Delivery report\n\n",
		   boundary);
	buf_append(&msg, parts[PART_DSN].data, parts[PART_DSN].len);
	buf_printf(&msg, "\n--%s\nContent-Type: text/rfc822-headers\n", boundary);
	if (hdr_cte != NULL)
		buf_printf(&msg, "Content-Transfer-Encoding: %s\n", hdr_cte);
	buf_puts(&msg, "Content-Description: Undelivered message headers\n\n");
	buf_append(&msg, parts[PART_HEADERS].data, parts[PART_HEADERS].len);
	buf_printf(&msg, "\n--%s--\n", boundary);
	if (buf_append(out, msg.data, msg.len) < 0) {
		error_set(e, ST_DATAERR,
			  _("cannot write a failure notice: it would be larger than %zu bytes"),
			  out->max);
		goto out;
	}
	rc = 0;
out:
	free(boundary);
	buf_free(&msg);
	for (size_t i = 0; i < PART__COUNT; i++)
		buf_free(&parts[i]);
	return rc;
}

static bool
within_window(time_t t, time_t now)
{
	return t > now - NOTICE_RATE_WINDOW;
}

bool
notice_rate_ok(const time_t *sent, size_t nsent, time_t now, unsigned max_per_window)
{
	size_t recent = 0;

	for (size_t i = 0; i < nsent; i++)
		recent += within_window(sent[i], now);
	return recent < max_per_window;
}

size_t
notice_rate_prune(time_t *sent, size_t nsent, time_t now)
{
	size_t kept = 0;

	for (size_t i = 0; i < nsent; i++)
		if (within_window(sent[i], now))
			sent[kept++] = sent[i];
	return kept;
}
