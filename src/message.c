/* message.c - finding, reading and rewriting the header block of a
 * submitted message: fields as callbacks, -t recipients, the From:
 * address, generated From:/Date:/Message-ID:, Bcc removal.
 *
 * Untrusted data: the whole message as read from stdin.  Every scan is
 * bounded by the buffer length and the header block by a caller's limit;
 * NUL bytes in header lines are refused; names and addresses that go into
 * generated fields are checked for line breaks so nothing can inject a
 * field. */
#include "config.h"

#include "message.h"

#include "address.h"
#include "i18n.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- scanning --- */

/* RFC 5322 3.6.8 ftext. */
static bool
is_ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* If line[0..n) starts a field, the length of its name, and *colon is
 * where its ':' is; else 0.  Blanks before the ':' are obsolete syntax
 * (RFC 5322 4.5) that real mail still has.  *cut (may be NULL) says
 * whether line ends before it could tell: a name, maybe blanks, no ':'
 * yet. */
static size_t
field_name_len(const char *line, size_t n, size_t *colon, bool *cut)
{
	size_t i = 0, j;

	while (i < n && is_ftext((unsigned char)line[i]))
		i++;
	for (j = i; j < n && (line[j] == ' ' || line[j] == '\t'); j++)
		;
	if (cut != NULL)
		*cut = j >= n;
	if (i == 0 || j >= n || line[j] != ':')
		return 0;
	*colon = j;
	return i;
}

/* One past the end of the line starting at pos: after its LF, or len. */
static size_t
next_line(const char *buf, size_t len, size_t pos)
{
	const char *lf = memchr(buf + pos, '\n', len - pos);

	return lf != NULL ? (size_t)(lf - buf) + 1 : len;
}

/* The length of the line buf[pos..next) without its LF or CRLF. */
static size_t
content_len(const char *buf, size_t pos, size_t next)
{
	size_t n = next - pos;

	if (n > 0 && buf[pos + n - 1] == '\n')
		n--;
	if (n > 0 && buf[pos + n - 1] == '\r')
		n--;
	return n;
}

/* A leading mbox "From " line (see message.h). */
static bool
is_mbox_from(const char *buf, size_t len)
{
	size_t colon;

	return len >= 5 && memcmp(buf, "From ", 5) == 0 &&
	       field_name_len(buf, content_len(buf, 0, next_line(buf, len, 0)), &colon, NULL) == 0;
}

/* Hands a complete field to cb; returns cb's answer. */
static int
flush_field(struct message_field *f, message_field_cb cb, void *ctx, struct error *e)
{
	int rc = 0;

	if (f->raw != NULL && cb != NULL) {
		f->value_len = (size_t)(f->raw + f->raw_len - f->value);
		rc = cb(ctx, f, e);
	}
	f->raw = NULL;
	return rc;
}

static int
too_large(size_t max, struct error *e)
{
	return error_set(e, ST_DATAERR, _("headers larger than %zu bytes"), max);
}

/* The one scanner behind message_layout() and message_fields().  Returns
 * 0 when the headers were scanned to their end, 1 when cb stopped it, -1
 * on error.  buf may be the first bytes of a longer message (a reader's
 * head): a last line without LF past max is then not judged as a body
 * line while it may still be a field. */
static int
scan_headers(const char *buf, size_t len, size_t max, message_field_cb cb, void *ctx,
	     struct message_layout *lay, struct error *e)
{
	struct message_field f = {.raw = NULL};
	size_t pos = 0, line = 1;
	int rc;

	*lay = (struct message_layout){.eol = "\n"};
	if (is_mbox_from(buf, len)) {
		pos = next_line(buf, len, 0);
		line++;
	}
	if (pos > max)
		return too_large(max, e);
	lay->header_start = lay->header_end = pos;
	while (pos < len) {
		size_t next = next_line(buf, len, pos);
		size_t n = content_len(buf, pos, next);
		size_t colon = 0, name_len = 0;
		bool cont = f.raw != NULL && (buf[pos] == ' ' || buf[pos] == '\t');
		bool cut = false;

		if (!cont)
			name_len = field_name_len(buf + pos, n, &colon, &cut);
		if (!cont && name_len == 0 && cut && n > 0 && next > max && buf[next - 1] != '\n')
			return too_large(max, e);
		if (!cont && name_len == 0) {
			/* An empty line, or the first line of the body. */
			rc = flush_field(&f, cb, ctx, e);
			lay->header_end = pos;
			lay->has_separator = n == 0;
			lay->body_start = n == 0 ? next : pos;
			return rc < 0 ? -1 : rc > 0;
		}
		if (next > max)
			return too_large(max, e);
		if (memchr(buf + pos, '\0', n) != NULL)
			return error_set(e, ST_DATAERR, _("NUL byte in header line %zu"), line);
		if (cont) {
			f.raw_len += next - pos;
		} else {
			rc = flush_field(&f, cb, ctx, e);
			if (rc != 0)
				return rc < 0 ? -1 : 1;
			if (lay->header_end == lay->header_start && n + 2 == next - pos)
				lay->eol = "\r\n";
			f = (struct message_field){
				.name = buf + pos,
				.name_len = name_len,
				.raw = buf + pos,
				.raw_len = next - pos,
				.value = buf + pos + colon + 1,
				.line = line,
			};
		}
		lay->header_end = pos = next;
		line++;
	}
	rc = flush_field(&f, cb, ctx, e);
	lay->header_end = lay->body_start = len;
	return rc < 0 ? -1 : rc > 0;
}

int
message_layout(const char *buf, size_t len, size_t max_header, struct message_layout *out,
	       struct error *e)
{
	return scan_headers(buf, len, max_header, NULL, NULL, out, e) < 0 ? -1 : 0;
}

int
message_fields(const char *buf, size_t len, message_field_cb cb, void *ctx, struct error *e)
{
	struct message_layout lay;

	return scan_headers(buf, len, SIZE_MAX, cb, ctx, &lay, e) < 0 ? -1 : 0;
}

bool
message_field_is(const struct message_field *f, const char *name)
{
	return strlen(name) == f->name_len && strncasecmp(f->name, name, f->name_len) == 0;
}

bool
message_has_8bit(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] >= 0x80)
			return true;
	return false;
}

/* Parses the addresses of f into out, naming the line on error. */
static int
field_addresses(const struct message_field *f, struct strlist *out, struct error *e)
{
	if (address_list_parse(f->value, f->value_len, out, e) < 0) {
		error_prefix(e, _("%.*s header on line %zu"), (int)f->name_len, f->name, f->line);
		return -1;
	}
	return 0;
}

/* --- recipients for -t --- */

/* The fields -t cares about.  Resent- fields are listed so that a second
 * one of the same name starts a new block (RFC 5322 3.6.6: each appears
 * at most once per block). */
static const struct {
	const char *name;
	bool resent;
	bool recipients;
} rcpt_fields[] = {
	{"To", false, true},          {"Cc", false, true},
	{"Bcc", false, true},         {"Resent-Date", true, false},
	{"Resent-From", true, false}, {"Resent-Sender", true, false},
	{"Resent-To", true, true},    {"Resent-Cc", true, true},
	{"Resent-Bcc", true, true},   {"Resent-Message-ID", true, false},
};

#define N_RCPT_FIELDS (sizeof rcpt_fields / sizeof rcpt_fields[0])

enum resent_block { BLOCK_BEFORE, BLOCK_IN, BLOCK_DONE };

struct rcpt_ctx {
	bool resent; /* the message has Resent- fields */
	enum resent_block block;
	bool seen[N_RCPT_FIELDS];
	struct strlist found;
};

static bool
is_resent(const struct message_field *f)
{
	return f->name_len > 7 && strncasecmp(f->name, "Resent-", 7) == 0;
}

static int
find_resent_cb(void *ctx, const struct message_field *f, struct error *e)
{
	struct rcpt_ctx *rc = ctx;

	rc->resent = is_resent(f);
	return rc->resent;
}

static int
recipients_cb(void *ctx, const struct message_field *f, struct error *e)
{
	struct rcpt_ctx *rc = ctx;
	size_t i;

	for (i = 0; i < N_RCPT_FIELDS; i++)
		if (message_field_is(f, rcpt_fields[i].name))
			break;
	if (rc->resent) {
		if (rc->block == BLOCK_BEFORE && is_resent(f))
			rc->block = BLOCK_IN;
		if (rc->block == BLOCK_BEFORE)
			return 0;
		if (!is_resent(f) || (i < N_RCPT_FIELDS && rc->seen[i])) {
			rc->block = BLOCK_DONE;
			return 1;
		}
	}
	if (i == N_RCPT_FIELDS || rcpt_fields[i].resent != rc->resent)
		return 0;
	rc->seen[i] = true;
	return rcpt_fields[i].recipients ? field_addresses(f, &rc->found, e) : 0;
}

static bool
contains_nocase(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return true;
	return false;
}

int
message_recipients(const char *hdr, size_t hlen, struct strlist *out, struct error *e)
{
	struct rcpt_ctx rc = {.block = BLOCK_BEFORE};

	strlist_init(&rc.found);
	if (message_fields(hdr, hlen, find_resent_cb, &rc, e) < 0 ||
	    message_fields(hdr, hlen, recipients_cb, &rc, e) < 0) {
		strlist_free(&rc.found);
		return -1;
	}
	for (size_t i = 0; i < rc.found.n; i++) {
		if (contains_nocase(out, rc.found.v[i])) {
			free(rc.found.v[i]);
			continue;
		}
		strlist_add_owned(out, rc.found.v[i]);
	}
	free(rc.found.v);
	return 0;
}

/* --- From: address --- */

struct from_ctx {
	char *addr;
};

static int
from_cb(void *ctx, const struct message_field *f, struct error *e)
{
	struct from_ctx *fc = ctx;
	struct strlist l;

	if (!message_field_is(f, "From"))
		return 0;
	strlist_init(&l);
	if (field_addresses(f, &l, e) < 0) {
		strlist_free(&l);
		return -1;
	}
	if (l.n > 0)
		fc->addr = xstrdup(l.v[0]);
	strlist_free(&l);
	return 1;
}

int
message_from_address(const char *hdr, size_t hlen, char **out, struct error *e)
{
	struct from_ctx fc = {NULL};

	*out = NULL;
	if (message_fields(hdr, hlen, from_cb, &fc, e) < 0)
		return -1;
	*out = fc.addr;
	return 0;
}

/* --- generated fields --- */

int
message_format_date(time_t t, char *out, size_t size)
{
	/* Fixed English names: RFC 5322 3.3 does not follow LC_TIME. */
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	long off;
	int n;

	if (localtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11)
		return -1;
	off = tm.tm_gmtoff / 60;
	n = snprintf(out, size, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday],
		     tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

char *
message_make_msgid(const char *domain)
{
	char *id = random_hex(16);
	char *msgid;

	if (id == NULL)
		return NULL;
	msgid = xasprintf("<%s@%s>", id, domain != NULL && *domain != '\0' ? domain : "localhost");
	free(id);
	return msgid;
}

/* RFC 2047 encoded-words of at most 45 bytes of text (72 characters,
 * within the 75 of RFC 2047 2), separated by spaces where append_folded()
 * may fold. */
#define ENCODED_WORD_TEXT 45

/* RFC 5322 2.1.1: a line SHOULD be at most 78 characters. */
#define FOLD_WIDTH 78
/* A longer run without blanks in a display name could not be folded:
 * the name is written as encoded-words instead. */
#define NAME_WORD_MAX 70

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The longest run of s without blanks. */
static size_t
longest_word(const char *s)
{
	size_t best = 0, run = 0;

	for (; *s != '\0'; s++) {
		run = is_blank(*s) ? 0 : run + 1;
		if (run > best)
			best = run;
	}
	return best;
}

/* An RFC 5322 display name: atoms as they are, other printable ASCII as
 * a quoted-string (3.2.4), anything else, or a word too long to fold, as
 * encoded-words (RFC 2047). */
static void
append_display_name(struct buf *b, const char *name)
{
	static const char atext_specials[] = "!#$%&'*+-/=?^_`{|}~";
	bool phrase = name[0] != ' ';
	size_t n = strlen(name);

	if (longest_word(name) > NAME_WORD_MAX) {
		buf_append_encoded_words(b, name, n, ENCODED_WORD_TEXT);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c >= 0x7f) {
			buf_append_encoded_words(b, name, n, ENCODED_WORD_TEXT);
			return;
		}
		if (c == ' ')
			phrase = phrase && name[i + 1] != ' ' && name[i + 1] != '\0';
		else if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
			 !(c >= '0' && c <= '9') && strchr(atext_specials, c) == NULL)
			phrase = false;
	}
	if (phrase)
		buf_puts(b, name);
	else
		buf_append_quoted(b, name, n);
}

/* Appends the unfolded field line, then eol, folded as RFC 5322 2.2.3
 * says: a line break goes before a blank, so unfolding gives the line
 * back.  Lines stay within FOLD_WIDTH where a blank allows; a fold goes
 * only before a blank that follows a non-blank, so no line is blank. */
static void
append_folded(struct buf *b, const char *line, const char *eol)
{
	size_t n = strlen(line), start = 0;

	while (n - start > FOLD_WIDTH) {
		size_t cut = 0;

		for (size_t i = start + 1; i < n && (cut == 0 || i - start <= FOLD_WIDTH); i++)
			if (is_blank(line[i]) && !is_blank(line[i - 1]))
				cut = i;
		if (cut == 0)
			break;
		buf_append(b, line + start, cut - start);
		buf_puts(b, eol);
		start = cut;
	}
	buf_puts(b, line + start);
	buf_puts(b, eol);
}

/* What gets into a generated field must not end it early. */
static int
check_generated(const char *what, const char *s, struct error *e)
{
	if (s != NULL && has_line_breaks(s, strlen(s)))
		return error_set(e, ST_DATAERR, _("%s contains a line break; remove it"), what);
	return 0;
}

/* --- rewriting --- */

enum rewrite_kind { RW_BCC, RW_TO_CC, RW_FROM, RW_DATE, RW_MSGID, RW_OTHER };

static const struct {
	const char *name;
	enum rewrite_kind kind;
} rewrite_fields[] = {
	{"Bcc", RW_BCC},          {"Resent-Bcc", RW_BCC}, {"From", RW_FROM}, {"Date", RW_DATE},
	{"Message-ID", RW_MSGID}, {"To", RW_TO_CC},       {"Cc", RW_TO_CC},
};

struct rewrite_ctx {
	const struct message_rewrite *opts;
	struct buf *out;
	const char *from_field; /* a generated From: line, or NULL */
	bool have[RW_OTHER];    /* which kinds the message has */
};

static int
rewrite_append(struct buf *out, const char *p, size_t n, struct error *e)
{
	if (buf_append(out, p, n) < 0)
		return error_set(e, ST_DATAERR, _("headers larger than %zu bytes"), out->max);
	return 0;
}

/* On the wire a lone CR ends a line (wire.h): in a field it would split
 * the field other than it was read here, so it is refused.  A CR at the
 * very end (the last line, without LF) is a line end. */
static int
check_lone_cr(const struct message_field *f, struct error *e)
{
	size_t line = f->line;

	for (size_t i = 0; i + 1 < f->raw_len; i++) {
		if (f->raw[i] == '\n')
			line++;
		else if (f->raw[i] == '\r' && f->raw[i + 1] != '\n')
			return error_set(e, ST_DATAERR,
					 _("CR without LF in header line %zu; end lines with LF "
					   "or CRLF"),
					 line);
	}
	return 0;
}

static int
rewrite_cb(void *ctx, const struct message_field *f, struct error *e)
{
	struct rewrite_ctx *rc = ctx;
	enum rewrite_kind kind = RW_OTHER;
	bool had;

	if (check_lone_cr(f, e) < 0)
		return -1;
	for (size_t i = 0; i < sizeof rewrite_fields / sizeof rewrite_fields[0]; i++)
		if (message_field_is(f, rewrite_fields[i].name))
			kind = rewrite_fields[i].kind;
	if (kind == RW_OTHER)
		return rewrite_append(rc->out, f->raw, f->raw_len, e);
	had = rc->have[kind];
	rc->have[kind] = true;
	if ((kind == RW_BCC && rc->opts->remove_bcc) ||
	    ((kind == RW_BCC || kind == RW_TO_CC) && rc->opts->undisclosed_recipients))
		return 0;
	if (kind == RW_FROM && rc->from_field != NULL && rc->opts->from_header == MESSAGE_SET_ON)
		return had ? 0 : rewrite_append(rc->out, rc->from_field, strlen(rc->from_field), e);
	return rewrite_append(rc->out, f->raw, f->raw_len, e);
}

/* The generated From: line for opts, or NULL when there is none to make. */
static char *
make_from_field(const struct message_rewrite *opts, const char *eol)
{
	struct buf b, folded;
	char *s;

	if (opts->from_header == MESSAGE_SET_OFF || opts->from_addr == NULL ||
	    *opts->from_addr == '\0')
		return NULL;
	buf_init(&b, 0);
	buf_puts(&b, "From: ");
	if (opts->from_name != NULL && *opts->from_name != '\0') {
		append_display_name(&b, opts->from_name);
		buf_printf(&b, " <%s>", opts->from_addr);
	} else {
		buf_puts(&b, opts->from_addr);
	}
	buf_init(&folded, 0);
	append_folded(&folded, b.data, eol);
	s = xstrdup(folded.data);
	buf_free(&b);
	buf_free(&folded);
	return s;
}

/* Appends the Date: and Message-ID: fields the message lacks. */
static int
append_missing(struct rewrite_ctx *rc, const char *eol, struct error *e)
{
	const struct message_rewrite *opts = rc->opts;
	struct buf *out = rc->out;
	char date[64];
	char *id;
	int r;

	if (rc->from_field != NULL && !rc->have[RW_FROM] &&
	    rewrite_append(out, rc->from_field, strlen(rc->from_field), e) < 0)
		return -1;
	if (opts->undisclosed_recipients &&
	    (rewrite_append(out, "To: undisclosed-recipients:;", 28, e) < 0 ||
	     rewrite_append(out, eol, strlen(eol), e) < 0))
		return -1;
	if (opts->date_header != MESSAGE_SET_OFF && !rc->have[RW_DATE]) {
		if (message_format_date(opts->now, date, sizeof date) < 0)
			return error_set(e, ST_SOFTWARE,
					 _("cannot convert the time for a Date "
					   "header"));
		if (rewrite_append(out, "Date: ", 6, e) < 0 ||
		    rewrite_append(out, date, strlen(date), e) < 0 ||
		    rewrite_append(out, eol, strlen(eol), e) < 0)
			return -1;
	}
	if (opts->msgid_header == MESSAGE_SET_OFF || rc->have[RW_MSGID])
		return 0;
	id = opts->msgid_override != NULL ? xstrdup(opts->msgid_override)
					  : message_make_msgid(opts->msgid_domain);
	if (id == NULL)
		return error_set(e, ST_SOFTWARE,
				 _("cannot generate a Message-ID: the random "
				   "number generator failed"));
	r = rewrite_append(out, "Message-ID: ", 12, e) < 0 ||
	    rewrite_append(out, id, strlen(id), e) < 0 ||
	    rewrite_append(out, eol, strlen(eol), e) < 0;
	free(id);
	return r ? -1 : 0;
}

int
message_rewrite_headers(const char *hdr, size_t hlen, const struct message_rewrite *opts,
			struct buf *out, struct error *e)
{
	struct rewrite_ctx rc = {.opts = opts, .out = out};
	struct message_layout lay;
	char *from_field;
	int r = -1;

	if (check_generated(_("the sender's full name"), opts->from_name, e) < 0 ||
	    check_generated(_("the From address"), opts->from_addr, e) < 0 ||
	    check_generated(_("the Message-ID domain"), opts->msgid_domain, e) < 0 ||
	    check_generated(_("the Message-ID"), opts->msgid_override, e) < 0 ||
	    message_layout(hdr, hlen, SIZE_MAX, &lay, e) < 0)
		return -1;
	from_field = make_from_field(opts, lay.eol);
	rc.from_field = from_field;
	if (message_fields(hdr, hlen, rewrite_cb, &rc, e) < 0)
		goto out;
	/* Only the last field can lack a line ending (no body, no LF at EOF);
	 * one that ends in CR gets just the LF: CR CRLF would be two line ends
	 * on the wire, an empty line ending the headers early. */
	if (out->len > 0 && out->data[out->len - 1] != '\n' &&
	    rewrite_append(out, out->data[out->len - 1] == '\r' ? "\n" : lay.eol,
			   out->data[out->len - 1] == '\r' ? 1 : strlen(lay.eol), e) < 0)
		goto out;
	r = append_missing(&rc, lay.eol, e);
out:
	free(from_field);
	return r;
}

bool
message_has_blank_line(const char *buf, size_t len)
{
	if (len == 0)
		return false;
	if (buf[0] == '\n' || (len >= 2 && buf[0] == '\r' && buf[1] == '\n'))
		return true;
	return memmem(buf, len, "\n\n", 2) != NULL || memmem(buf, len, "\n\r\n", 3) != NULL;
}
