/* queue_file.c - the queue's file formats: the message file (envelope
 * lines, an empty line, the message bytes, a trailer with their length and
 * SHA-256) and the state file, each a table of "key value" fields that the
 * writer and the parser both walk; and the checks an envelope passes
 * before it is written and after it is read.
 *
 * Untrusted data: the files' contents.  They may be truncated by a crash
 * or a full disk, damaged on disk, or edited with the trailer recomputed:
 * a message file is checked against its trailer before its envelope is
 * parsed; the envelope is bounded in size, parsed with range-checked
 * numbers, its values checked as if they came from the command line, and
 * unknown envelope keys refused (unknown state keys are ignored: a newer
 * outbox may add some).  The message bytes themselves are only hashed,
 * never interpreted. */
#include "config.h"

#include "queue_file.h"

#include "address.h"
#include "crypto.h"
#include "i18n.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENVELOPE_VERSION "outbox-queue 1"
#define STATE_VERSION "outbox-state 1"
#define TRAILER_TAG "outbox-trailer"
#define HASH_LEN CRYPTO_HASH_MAX /* SHA-256 */
/* "outbox-trailer " + up to 20 digits + " " + 64 hex digits + "\n" */
#define TRAILER_MAX (sizeof TRAILER_TAG + 20 + 1 + 2 * HASH_LEN + 1)
#define BLOCK_SIZE (64 * 1024)
#define VALUE_MAX 4000
#define REPLY_MAX 1000
#define ENVELOPE_MAX (16 * 1024 * 1024)

static const char *const rcpt_status_names[] = {
	[QRCPT_PENDING] = "pending",
	[QRCPT_DELIVERED] = "delivered",
	[QRCPT_FAILED] = "failed",
};

/* The "key value" lines of the envelope (in the message file) and of the
 * state file, as tables that both the writer and the parser walk.  Offsets
 * are into struct queue_entry. */
enum field_type { F_STRING, F_BOOL, F_TIME, F_COUNT, F_REASON, F_RCPT_ADDR, F_RCPT_STATUS };

struct field {
	const char *key;
	enum field_type type;
	size_t offset;
	bool required; /* the writer always writes it (account, from and rcpt
			  too: envelope_invalid() names them when missing) */
};

#define ENV(m) offsetof(struct queue_entry, env.m)
#define ST(m) offsetof(struct queue_entry, st.m)

static const struct field envelope_fields[] = {
	{"account", F_STRING, ENV(account), false},
	{"from", F_STRING, ENV(from), false},
	{"rcpt", F_RCPT_ADDR, ENV(rcpts), false},
	{"dsn-notify", F_STRING, ENV(dsn_notify), false},
	{"dsn-return", F_STRING, ENV(dsn_return), false},
	{"dsn-envid", F_STRING, ENV(dsn_envid), false},
	{"eightbit", F_BOOL, ENV(eightbit), true},
	{"smtputf8", F_BOOL, ENV(smtputf8), true},
	{"msgid", F_STRING, ENV(msgid), false},
	{"created", F_TIME, ENV(created), true},
};

static const struct field state_fields[] = {
	{"attempts", F_COUNT, ST(attempts), false},
	{"first-attempt", F_TIME, ST(first_attempt), false},
	{"first-contact", F_TIME, ST(first_contact), false},
	{"last-attempt", F_TIME, ST(last_attempt), false},
	{"next-attempt", F_TIME, ST(next_attempt), false},
	{"held", F_BOOL, ST(held), false},
	{"uncertain", F_BOOL, ST(uncertain), false},
	{"frozen", F_BOOL, ST(frozen), false},
	{"reason-code", F_REASON, ST(code), false},
	{"reason", F_STRING, ST(reason), false},
	{"reason-lang", F_STRING, ST(reason_lang), false},
	{"last-reply", F_STRING, ST(last_reply), false},
	{"rcpt", F_RCPT_STATUS, ENV(rcpts), false},
};

/* What decides whether a message is due: a flush reads only these before
 * it loads (and checks) the whole message. */
static const struct field schedule_fields[] = {
	{"next-attempt", F_TIME, ST(next_attempt), false},
	{"held", F_BOOL, ST(held), false},
	{"frozen", F_BOOL, ST(frozen), false},
};

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))
#define FIELDS_MAX 16 /* fields_parse() remembers which keys it has seen */
_Static_assert(NFIELDS(envelope_fields) <= FIELDS_MAX, "envelope_fields too long");
_Static_assert(NFIELDS(state_fields) <= FIELDS_MAX, "state_fields too long");

/* Reads up to n bytes at off; fewer only at end of file. */
static ssize_t
pread_full(int fd, void *p, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)p + got, n - got, off + (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* A message file being checked: read with pread(), or from memory when it
 * is no larger than a block, so that a small file is read only once. */
struct source {
	int fd;
	char *all; /* the whole file, or NULL */
	off_t size;
};

/* Reads up to n bytes at off, as pread_full() does. */
static ssize_t
source_read(const struct source *src, void *p, size_t n, off_t off)
{
	if (src->all == NULL)
		return pread_full(src->fd, p, n, off);
	if (off >= src->size)
		return 0;
	if ((off_t)n > src->size - off)
		n = (size_t)(src->size - off);
	memcpy(p, src->all + off, n);
	return (ssize_t)n;
}

void
queue_envelope_free(struct queue_envelope *env)
{
	free(env->account);
	free(env->from);
	for (size_t i = 0; i < env->nrcpts; i++) {
		free(env->rcpts[i].addr);
		free(env->rcpts[i].reply);
	}
	free(env->rcpts);
	free(env->dsn_notify);
	free(env->dsn_return);
	free(env->dsn_envid);
	free(env->msgid);
	memset(env, 0, sizeof *env);
}

void
queue_state_free(struct queue_state *st)
{
	free(st->reason);
	free(st->reason_lang);
	free(st->last_reply);
	memset(st, 0, sizeof *st);
}

void
queue_reason_set(struct queue_state *st, enum reason code, const char *detail)
{
	free(st->reason);
	free(st->reason_lang);
	st->code = code;
	st->reason = detail != NULL && *detail != '\0' ? xstrdup(detail) : NULL;
	st->reason_lang = st->reason != NULL ? xstrdup(reason_language()) : NULL;
}

static char *
strdup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
queue_envelope_copy(struct queue_envelope *to, const struct queue_envelope *from)
{
	*to = *from;
	to->account = strdup_or_null(from->account);
	to->from = xstrdup(from->from);
	to->dsn_notify = strdup_or_null(from->dsn_notify);
	to->dsn_return = strdup_or_null(from->dsn_return);
	to->dsn_envid = strdup_or_null(from->dsn_envid);
	to->msgid = strdup_or_null(from->msgid);
	to->rcpts = xcalloc(from->nrcpts, sizeof *to->rcpts);
	for (size_t i = 0; i < from->nrcpts; i++)
		to->rcpts[i].addr = xstrdup(from->rcpts[i].addr);
}

/* Writing: one "key value" line per field; a NULL string is left out, an
 * empty one is the key alone.  Strings that may come from a server (the
 * state's replies and reasons) are put on one line and cut. */
static void
put_value(struct buf *b, const char *key, const char *value)
{
	size_t n, start;

	buf_puts(b, key);
	if (*value != '\0') {
		buf_puts(b, " ");
		n = strnlen(value, REPLY_MAX);
		start = b->len;
		buf_append(b, value, n);
		for (size_t i = start; i < b->len; i++)
			if (b->data[i] == '\r' || b->data[i] == '\n')
				b->data[i] = ' ';
	}
	buf_puts(b, "\n");
}

static void
fields_write(struct buf *b, const char *version, const struct field *t, size_t n,
	     const struct queue_entry *m)
{
	const char *base = (const char *)m;

	buf_printf(b, "%s\n", version);
	for (size_t i = 0; i < n; i++) {
		const void *p = base + t[i].offset;
		const char *s;

		switch (t[i].type) {
		case F_STRING:
			s = *(char *const *)p;
			if (s != NULL)
				put_value(b, t[i].key, s);
			break;
		case F_BOOL:
			buf_printf(b, "%s %d\n", t[i].key, *(const bool *)p ? 1 : 0);
			break;
		case F_TIME:
			buf_printf(b, "%s %lld\n", t[i].key, (long long)*(const time_t *)p);
			break;
		case F_COUNT:
			buf_printf(b, "%s %u\n", t[i].key, *(const unsigned *)p);
			break;
		case F_REASON:
			if (*(const enum reason *)p != REASON_NONE)
				buf_printf(b, "%s %s\n", t[i].key,
					   reason_code(*(const enum reason *)p));
			break;
		case F_RCPT_ADDR:
			for (size_t r = 0; r < m->env.nrcpts; r++)
				buf_printf(b, "%s %s\n", t[i].key, m->env.rcpts[r].addr);
			break;
		case F_RCPT_STATUS:
			for (size_t r = 0; r < m->env.nrcpts; r++) {
				const struct queue_rcpt *rc = &m->env.rcpts[r];

				buf_printf(b, "%s %zu %s", t[i].key, r,
					   rcpt_status_names[rc->status]);
				if (rc->reply != NULL)
					put_value(b, "", rc->reply);
				else
					buf_puts(b, "\n");
			}
			break;
		}
	}
}

static int
parse_rcpt_status(struct queue_entry *m, char *value)
{
	char *sp = strchr(value, ' '), *reply = NULL, *sp2;
	long idx;
	struct queue_rcpt *rc;

	if (sp == NULL)
		return -1;
	*sp = '\0';
	if (parse_long(value, 0, LONG_MAX, &idx) < 0 || (size_t)idx >= m->env.nrcpts)
		return -1;
	sp2 = strchr(sp + 1, ' ');
	if (sp2 != NULL) {
		*sp2 = '\0';
		reply = sp2 + 1;
	}
	rc = &m->env.rcpts[idx];
	for (size_t s = 0; s < sizeof rcpt_status_names / sizeof rcpt_status_names[0]; s++)
		if (strcmp(sp + 1, rcpt_status_names[s]) == 0) {
			rc->status = (enum rcpt_status)s;
			free(rc->reply);
			rc->reply = reply != NULL ? xstrdup(reply) : NULL;
			return 0;
		}
	return -1;
}

static int
field_parse(const struct field *f, struct queue_entry *m, char *value)
{
	void *p = (char *)m + f->offset;
	long v;
	struct queue_envelope *env = &m->env;

	switch (f->type) {
	case F_STRING:
		*(char **)p = xstrdup(value);
		return 0;
	case F_BOOL:
		if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
			return -1;
		*(bool *)p = *value == '1';
		return 0;
	case F_TIME:
		if (parse_long(value, 0, LONG_MAX, &v) < 0)
			return -1;
		*(time_t *)p = (time_t)v;
		return 0;
	case F_COUNT:
		if (parse_long(value, 0, UINT_MAX, &v) < 0)
			return -1;
		*(unsigned *)p = (unsigned)v;
		return 0;
	case F_REASON:
		/* A code of a newer outbox is kept as "other", not refused. */
		*(enum reason *)p = reason_parse(value);
		return 0;
	case F_RCPT_ADDR:
		if (*value == '\0')
			return -1;
		env->rcpts = xrealloc(env->rcpts, (env->nrcpts + 1) * sizeof *env->rcpts);
		env->rcpts[env->nrcpts] = (struct queue_rcpt){.addr = xstrdup(value)};
		env->nrcpts++;
		return 0;
	case F_RCPT_STATUS:
		return parse_rcpt_status(m, value);
	}
	return -1;
}

/* Parses text (len bytes, lines ending in \n) into m; NULL on success,
 * else why it is damaged.  Every key but the recipient lines appears at
 * most once.  Keys not in the table: refused when strict (the envelope,
 * where an unknown key may change how or where the message goes), else
 * ignored (the state: a newer outbox may add some). */
static const char *
fields_parse(char *text, size_t len, const char *version, const struct field *t, size_t n,
	     bool strict, struct queue_entry *m)
{
	char *line = text, *end = text + len, *nl, *value;
	bool seen[FIELDS_MAX] = {false};
	bool first = true;

	if (memchr(text, '\0', len) != NULL)
		return _("NUL byte");
	for (; line < end; line = nl + 1, first = false) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			return _("unterminated line");
		*nl = '\0';
		if (first) {
			if (strcmp(line, version) != 0)
				return _("unknown format");
			continue;
		}
		value = strchr(line, ' ');
		if (value != NULL)
			*value++ = '\0';
		else
			value = nl;
		size_t i = 0;

		while (i < n && strcmp(line, t[i].key) != 0)
			i++;
		if (i == n && strict)
			return _("unknown key");
		if (i == n)
			continue;
		if (seen[i] && t[i].type != F_RCPT_ADDR && t[i].type != F_RCPT_STATUS)
			return _("repeated key");
		seen[i] = true;
		if (field_parse(&t[i], m, value) < 0)
			return _("bad value");
	}
	if (first)
		return _("empty");
	for (size_t i = 0; i < n; i++)
		if (t[i].required && !seen[i])
			return _("a required key is missing");
	return NULL;
}

/* An envelope path as address_check() wants one from the command line:
 * no CR, LF or controls, no spaces outside quotes, angle brackets only as
 * one enclosing pair (nothing that could add a parameter or a command on
 * the wire).  "" is the null sender. */
static bool
path_valid(const char *addr, bool null_ok)
{
	struct error e;

	if (*addr == '\0')
		return null_ok;
	return address_check(addr, &e) == 0;
}

/* Printable ASCII (and, when utf8, bytes from 0x80), at most max bytes. */
static bool
printable(const char *s, size_t max, bool utf8)
{
	size_t n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (c > 0x7f && !utf8))
			return false;
	}
	return true;
}

/* RFC 3461 4.1 as the writer stores it: NEVER, or SUCCESS, FAILURE and
 * DELAY each at most once, comma-separated. */
static bool
dsn_notify_valid(const char *s)
{
	static const char *const words[] = {"SUCCESS", "FAILURE", "DELAY"};
	bool seen[3] = {false};

	if (strcmp(s, "NEVER") == 0)
		return true;
	for (;;) {
		size_t len = strcspn(s, ","), i = 0;

		while (i < 3 && (strlen(words[i]) != len || strncmp(words[i], s, len) != 0))
			i++;
		if (i == 3 || seen[i])
			return false;
		seen[i] = true;
		if (s[len] == '\0')
			return true;
		s += len + 1;
	}
}

/* A loaded envelope is checked like one from the command line: the file
 * may have been edited and its trailer recomputed, or written by another
 * program.  NULL when it is fine, else why not. */
static const char *
envelope_invalid(const struct queue_envelope *env)
{
	if (env->account == NULL || !printable(env->account, VALUE_MAX, true) ||
	    strchr(env->account, ' ') != NULL)
		return _("no valid account");
	if (env->from == NULL || !path_valid(env->from, true))
		return _("no valid sender");
	if (env->nrcpts == 0)
		return _("no recipient");
	for (size_t i = 0; i < env->nrcpts; i++)
		if (!path_valid(env->rcpts[i].addr, false))
			return _("a recipient is not a valid address");
	if ((env->dsn_notify != NULL && !dsn_notify_valid(env->dsn_notify)) ||
	    (env->dsn_return != NULL && strcmp(env->dsn_return, "FULL") != 0 &&
	     strcmp(env->dsn_return, "HDRS") != 0) ||
	    (env->dsn_envid != NULL && !printable(env->dsn_envid, 100, false)))
		return _("a bad DSN parameter");
	return NULL;
}

static const char *
envelope_parse(char *text, size_t len, struct queue_entry *m)
{
	const char *why = fields_parse(text, len, ENVELOPE_VERSION, envelope_fields,
				       NFIELDS(envelope_fields), true, m);

	if (why != NULL)
		return why;
	return envelope_invalid(&m->env);
}

static int
check_value(const char *s, struct error *e)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strnlen(s, VALUE_MAX + 1);
	if (n > VALUE_MAX || has_line_breaks(s, n))
		return error_set(e, ST_SOFTWARE,
				 _("internal error: an envelope value for the queue is too long "
				   "or has a line break"));
	return 0;
}

int
queue_envelope_check(const struct queue_envelope *env, struct error *e)
{
	const char *values[] = {env->account,    env->from,      env->dsn_notify,
				env->dsn_return, env->dsn_envid, env->msgid};
	const char *why;

	if (env->from == NULL || env->nrcpts == 0)
		return error_set(e, ST_SOFTWARE,
				 _("internal error: a message without sender or recipients "
				   "was queued"));
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
		if (check_value(values[i], e) < 0)
			return -1;
	for (size_t i = 0; i < env->nrcpts; i++) {
		if (env->rcpts[i].addr == NULL || *env->rcpts[i].addr == '\0')
			return error_set(e, ST_SOFTWARE,
					 _("internal error: an empty recipient was queued"));
		if (check_value(env->rcpts[i].addr, e) < 0)
			return -1;
	}
	/* What is committed must load again. */
	why = envelope_invalid(env);
	if (why != NULL)
		return error_set(e, ST_SOFTWARE,
				 _("internal error: the envelope for the queue is not valid (%s)"),
				 why);
	return 0;
}

/* Writes n bytes to the new message file and into the hash. */
static int
put(int fd, struct crypto_hash *h, const void *p, size_t n)
{
	crypto_hash_update(h, p, n);
	return write_all(fd, p, n);
}

/* The body from body_fd; *len counts it.  -1 on a write error, -2 on a
 * read error, with *err set. */
static int
copy_body(int fd, struct crypto_hash *h, int body_fd, off_t off, unsigned long long *len, int *err)
{
	char *block = xmalloc(BLOCK_SIZE);
	int rc = 0;

	for (;;) {
		ssize_t r = pread_full(body_fd, block, BLOCK_SIZE, off);

		if (r < 0) {
			*err = errno;
			rc = -2;
			break;
		}
		if (r == 0)
			break;
		if (put(fd, h, block, (size_t)r) < 0) {
			*err = errno;
			rc = -1;
			break;
		}
		off += r;
		*len += (unsigned long long)r;
	}
	free(block);
	return rc;
}

enum queue_write_result
queue_file_write(int fd, const struct queue_entry *m, const char *headers, size_t headers_len,
		 int body_fd, off_t body_offset, off_t *data_offset, unsigned long long *data_len,
		 int *err)
{
	unsigned char digest[HASH_LEN];
	char hex[2 * HASH_LEN + 1];
	struct crypto_hash *h;
	struct buf b;
	unsigned long long body_len = 0;
	int rc;

	*err = 0;
	if (crypto_hash_begin(CRYPTO_SHA256, &h) < 0)
		return QUEUE_WRITE_NO_HASH;
	buf_init(&b, 0);
	fields_write(&b, ENVELOPE_VERSION, envelope_fields, NFIELDS(envelope_fields), m);
	buf_puts(&b, "\n");
	*data_offset = (off_t)b.len;
	rc = put(fd, h, b.data, b.len) < 0 || put(fd, h, headers, headers_len) < 0 ? -1 : 0;
	if (rc < 0)
		*err = errno;
	else
		rc = copy_body(fd, h, body_fd, body_offset, &body_len, err);
	crypto_hash_end(h, digest);
	*data_len = headers_len + body_len;
	hex_encode(digest, sizeof digest, false, '\0', hex);
	buf_reset(&b);
	buf_printf(&b, "%s %llu %s\n", TRAILER_TAG, *data_len, hex);
	if (rc == 0 && write_all(fd, b.data, b.len) < 0) {
		*err = errno;
		rc = -1;
	}
	buf_free(&b);
	if (rc == -2)
		return QUEUE_WRITE_READ_ERROR;
	return rc < 0 ? QUEUE_WRITE_ERROR : QUEUE_WRITE_OK;
}

/* The trailer at the end of the file: where it starts (*trailer), and the
 * length and hash it states.  0, 1 (damaged: *why), or -1 (errno). */
static int
parse_trailer(const struct source *src, off_t *trailer, long *len, char hex[2 * HASH_LEN + 1])
{
	char tail[TRAILER_MAX + 1], *p, *digits;
	off_t size = src->size;
	off_t want = size < (off_t)TRAILER_MAX ? size : (off_t)TRAILER_MAX;
	ssize_t n = source_read(src, tail, (size_t)want, size - want);

	if (n < 0)
		return -1;
	tail[n] = '\0';
	/* Parsed from the end: the message need not end with a line break. */
	if (n < 2 * HASH_LEN + 2 || tail[n - 1] != '\n' || tail[n - 2 * HASH_LEN - 2] != ' ')
		return 1;
	p = tail + n - 2 * HASH_LEN - 2;
	digits = p;
	while (digits > tail && digits[-1] >= '0' && digits[-1] <= '9')
		digits--;
	if (digits == p || digits - tail < (ptrdiff_t)sizeof TRAILER_TAG ||
	    memcmp(digits - sizeof TRAILER_TAG, TRAILER_TAG " ", sizeof TRAILER_TAG) != 0)
		return 1;
	*p = '\0';
	if (parse_long(digits, 0, LONG_MAX, len) < 0)
		return 1;
	*trailer = size - (n - (digits - (ptrdiff_t)sizeof TRAILER_TAG - tail));
	memcpy(hex, p + 1, 2 * HASH_LEN);
	hex[2 * HASH_LEN] = '\0';
	return 0;
}

/* parse_trailer(), with *why set when the trailer is damaged. */
static int
read_trailer(const struct source *src, off_t *trailer, long *len, char hex[2 * HASH_LEN + 1],
	     const char **why)
{
	int rc = parse_trailer(src, trailer, len, hex);

	if (rc == 1)
		*why = _("no trailer (the file is incomplete)");
	return rc;
}

/* How much of the file before the trailer to read at off. */
static size_t
block_at(off_t off, off_t trailer)
{
	return (size_t)(trailer - off < BLOCK_SIZE ? trailer - off : BLOCK_SIZE);
}

/* The envelope is the text before the first empty line: read into env
 * (bounded), cut after its last line.  0, 1 (no empty line before the
 * trailer within the bound: *why), or -1 (errno). */
static int
read_envelope(const struct source *src, off_t trailer, char *block, struct buf *env,
	      const char **why)
{
	char *end = NULL;
	ssize_t n = 0;

	for (off_t off = 0; end == NULL && off < trailer;) {
		size_t from = env->len > 0 ? env->len - 1 : 0;

		n = source_read(src, block, block_at(off, trailer), off);
		if (n <= 0 || buf_append(env, block, (size_t)n) < 0)
			break;
		off += n;
		end = memmem(env->data + from, env->len - from, "\n\n", 2);
	}
	if (end == NULL && n >= 0)
		*why = _("no end of envelope");
	if (end == NULL)
		return n < 0 ? -1 : 1;
	env->len = (size_t)(end - env->data) + 1;
	env->data[env->len] = '\0';
	return 0;
}

/* Whether the SHA-256 of everything before the trailer is hex.  0, 1 (it
 * is not: *why), or -1 (errno). */
static int
check_hash(const struct source *src, off_t trailer, char *block, const char *hex, const char **why)
{
	unsigned char digest[HASH_LEN];
	char computed[2 * HASH_LEN + 1];
	struct crypto_hash *h;
	ssize_t n = 0;
	off_t off;

	if (crypto_hash_begin(CRYPTO_SHA256, &h) < 0) {
		errno = ENOSYS;
		return -1;
	}
	for (off = 0; off < trailer; off += n) {
		n = source_read(src, block, block_at(off, trailer), off);
		if (n <= 0)
			break;
		crypto_hash_update(h, block, (size_t)n);
	}
	crypto_hash_end(h, digest);
	if (n < 0)
		return -1;
	hex_encode(digest, sizeof digest, false, '\0', computed);
	if (off == trailer && strcmp(computed, hex) == 0)
		return 0;
	*why = _("its checksum does not match");
	return 1;
}

/* Checks the trailer of an open message file and finds its parts.
 * Returns 0 (env holds the envelope text), 1 (damaged: *why), or -1 on a
 * read error (errno). */
static int
verify(int fd, struct queue_entry *m, struct buf *env, const char **why)
{
	char hex[2 * HASH_LEN + 1], *block;
	struct source src = {.fd = fd, .all = NULL};
	struct stat st;
	off_t trailer;
	long len;
	int rc;

	if (fstat(fd, &st) < 0)
		return -1;
	src.size = st.st_size;
	if (src.size <= BLOCK_SIZE) {
		ssize_t n;

		src.all = xmalloc((size_t)src.size + 1);
		n = pread_full(fd, src.all, (size_t)src.size, 0);
		if (n < 0) {
			free(src.all);
			return -1;
		}
		src.size = n;
	}
	rc = read_trailer(&src, &trailer, &len, hex, why);
	if (rc != 0) {
		free(src.all);
		return rc;
	}
	/* block_at() never asks for more than the file holds */
	block = xmalloc(src.all != NULL ? (size_t)src.size + 1 : BLOCK_SIZE);
	rc = read_envelope(&src, trailer, block, env, why);
	if (rc == 0) {
		m->data_offset = (off_t)env->len + 1;
		m->data_len = (unsigned long long)len;
		if (m->data_offset + (off_t)len != trailer) {
			*why = _("its length does not match its trailer");
			rc = 1;
		} else
			rc = check_hash(&src, trailer, block, hex, why);
	}
	free(block);
	free(src.all);
	return rc;
}

int
queue_file_read(int fd, struct queue_entry *m, const char **why)
{
	struct buf env;
	int rc;

	buf_init(&env, ENVELOPE_MAX);
	rc = verify(fd, m, &env, why);
	if (rc == 0) {
		*why = envelope_parse(env.data, env.len, m);
		rc = *why != NULL ? 1 : 0;
	}
	buf_free(&env);
	return rc;
}

void
queue_state_format(struct buf *b, const struct queue_entry *m)
{
	fields_write(b, STATE_VERSION, state_fields, NFIELDS(state_fields), m);
}

const char *
queue_state_parse(char *text, size_t len, struct queue_entry *m)
{
	return fields_parse(text, len, STATE_VERSION, state_fields, NFIELDS(state_fields), false,
			    m);
}

const char *
queue_state_schedule(char *text, size_t len, struct queue_entry *m)
{
	return fields_parse(text, len, STATE_VERSION, schedule_fields, NFIELDS(schedule_fields),
			    false, m);
}
