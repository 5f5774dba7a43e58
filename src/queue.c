/* queue.c - the crash-safe local queue: committing a message (one fsync of
 * the file, one of msg/), per-message flock()s, the state file, setting
 * damaged or abandoned messages aside in failed/, the flusher lock, the
 * trigger file, sweeping what killed writers left behind, and listing.
 *
 * Untrusted data: the files in the queue directory.  The directory and
 * its subdirectories are the user's own and writable by nobody else
 * (checked at open), but files can be truncated by a crash or a full disk,
 * damaged on disk, or edited with the trailer recomputed, and anything can
 * sit where a file is expected: every entry is opened only when it is a
 * regular file of the user's (else moved aside, never read); every message
 * file is checked against its length + SHA-256 trailer before its envelope
 * is parsed; envelope and state files are bounded in size and line length,
 * parsed with range-checked numbers; envelope values are checked as if
 * they came from the command line, and unknown envelope keys refused
 * (unknown state keys are ignored: a newer outbox may add some).  Ids given
 * by the user (-qI) are checked before they reach a path.  The message
 * bytes themselves are never interpreted here. */
#include "config.h"

#include "queue.h"

#include "address.h"
#include "crypto.h"
#include "i18n.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define ENVELOPE_VERSION "outbox-queue 1"
#define STATE_VERSION "outbox-state 1"
#define TRAILER_TAG "outbox-trailer"
#define HASH_LEN CRYPTO_HASH_MAX /* SHA-256 */
/* "outbox-trailer " + up to 20 digits + " " + 64 hex digits + "\n" */
#define TRAILER_MAX (sizeof TRAILER_TAG + 20 + 1 + 2 * HASH_LEN + 1)
/* seconds (10 hex digits), microseconds (5), random (8): sortable by time */
#define ID_LEN 23
#define ID_TRIES 100
#define BLOCK_SIZE (64 * 1024)
#define VALUE_MAX 4000
#define REPLY_MAX 1000
#define ENVELOPE_MAX (16 * 1024 * 1024)
#define STATE_MAX (16 * 1024 * 1024)

static const char *const subdirs[] = {"tmp", "msg", "state", "failed"};

static const char *const rcpt_status_names[] = {
	[QRCPT_PENDING] = "pending",
	[QRCPT_DELIVERED] = "delivered",
	[QRCPT_FAILED] = "failed",
};

/* The "key value" lines of the envelope (in the message file) and of the
 * state file, as tables that both the writer and the parser walk.  Offsets
 * are into struct queue_entry. */
enum field_type { F_STRING, F_BOOL, F_TIME, F_COUNT, F_RCPT_ADDR, F_RCPT_STATUS };

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
	{"reason", F_STRING, ST(reason), false},
	{"last-reply", F_STRING, ST(last_reply), false},
	{"rcpt", F_RCPT_STATUS, ENV(rcpts), false},
};

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))
#define FIELDS_MAX 16 /* fields_parse() remembers which keys it has seen */
_Static_assert(NFIELDS(envelope_fields) <= FIELDS_MAX, "envelope_fields too long");
_Static_assert(NFIELDS(state_fields) <= FIELDS_MAX, "state_fields too long");

static bool
is_full(int err)
{
	return err == ENOSPC || err == EDQUOT;
}

static bool
id_valid(const char *id)
{
	size_t n = strlen(id);

	return n == ID_LEN && strspn(id, "0123456789abcdef") == n;
}

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

static int
sync_dir(struct queue *q, const char *sub)
{
	int fd = openat(q->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc, saved;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

static int
write_error(struct queue *q, int err, const char *path, struct error *e)
{
	if (is_full(err))
		return error_set(e, ST_LOCAL_TEMP,
				 _("the queue in %s is full (%s); free space or set queue_dir"),
				 q->dir, strerror(err));
	return error_set(e, ST_LOCAL_TEMP, _("cannot write %s/%s: %s"), q->dir, path,
			 strerror(err));
}

char *
queue_default_dir(void)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	struct passwd *pw;

	/* The XDG base directory spec says relative paths are to be ignored. */
	if (state != NULL && *state == '/')
		return xasprintf("%s/outbox/queue", state);
	if (home == NULL || *home != '/') {
		pw = getpwuid(getuid());
		home = pw != NULL ? pw->pw_dir : NULL;
	}
	if (home == NULL || *home != '/')
		return NULL;
	return xasprintf("%s/.local/state/outbox/queue", home);
}

/* mkdir -p with 0700; the error of the first mkdir that failed for another
 * reason than EEXIST, or 0. */
static int
make_dirs(const char *dir)
{
	char *p = xstrdup(dir);
	int err = 0;

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST && err == 0)
			err = errno;
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return err;
}

static int
open_error(const char *dir, int err, struct error *e)
{
	return error_set(e, is_full(err) ? ST_LOCAL_TEMP : ST_CANTCREAT,
			 _("cannot create the queue directory %s: %s; set queue_dir to a "
			   "directory of yours"),
			 dir, strerror(err));
}

/* The queue directory and each of its subdirectories must be the user's
 * and writable by nobody else: another user who can add files there could
 * plant a message that the owner's flush sends through the owner's
 * account. */
static int
check_dir(const char *path, const struct stat *st, struct error *e)
{
	if (st->st_uid != geteuid())
		return error_set(
			e, ST_CANTCREAT,
			_("the queue directory %s belongs to uid %ld, not to you (uid %ld); "
			  "run: chown %ld %s, or set queue_dir"),
			path, (long)st->st_uid, (long)geteuid(), (long)geteuid(), path);
	if (st->st_mode & 022)
		return error_set(e, ST_CANTCREAT,
				 _("the queue directory %s is writable by others (mode %03o); run: "
				   "chmod 700 %s"),
				 path, (unsigned)(st->st_mode & 0777), path);
	return 0;
}

/* Creates and checks tmp/ msg/ state/ failed/. */
static int
open_subdirs(struct queue *q, struct error *e)
{
	struct stat st;

	for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
		char *path;
		int rc;

		if (mkdirat(q->dirfd, subdirs[i], 0700) < 0 && errno != EEXIST)
			return open_error(q->dir, errno, e);
		if (fstatat(q->dirfd, subdirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			return error_set(e, ST_CANTCREAT,
					 _("%s/%s is not a directory; move it away so that outbox "
					   "can use the queue"),
					 q->dir, subdirs[i]);
		path = xasprintf("%s/%s", q->dir, subdirs[i]);
		rc = check_dir(path, &st, e);
		free(path);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int
queue_open(struct queue *q, const char *dir, struct error *e)
{
	struct stat st;
	int err;

	q->dir = NULL;
	q->dirfd = -1;
	q->lock_fd = -1;
	if (dir == NULL || *dir == '\0')
		return error_set(e, ST_CANTCREAT,
				 _("there is no home directory for the queue; set queue_dir"));
	err = make_dirs(dir);
	q->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q->dirfd < 0)
		return open_error(dir, err != 0 ? err : errno, e);
	q->dir = xstrdup(dir);
	if (fstat(q->dirfd, &st) < 0) {
		err = errno;
		queue_close(q);
		return open_error(dir, err, e);
	}
	if (check_dir(dir, &st, e) < 0 || open_subdirs(q, e) < 0) {
		queue_close(q);
		return -1;
	}
	return 0;
}

void
queue_close(struct queue *q)
{
	if (q->dirfd >= 0)
		close(q->dirfd);
	if (q->lock_fd >= 0)
		close(q->lock_fd);
	free(q->dir);
	q->dir = NULL;
	q->dirfd = -1;
	q->lock_fd = -1;
}

static void
envelope_free(struct queue_envelope *env)
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

static void
state_free(struct queue_state *st)
{
	free(st->reason);
	free(st->last_reply);
	memset(st, 0, sizeof *st);
}

void
queue_entry_free(struct queue_entry *m)
{
	if (m->fd >= 0)
		close(m->fd);
	free(m->id);
	envelope_free(&m->env);
	state_free(&m->st);
	memset(m, 0, sizeof *m);
	m->fd = -1;
}

static void
entry_init(struct queue_entry *m, const char *id)
{
	memset(m, 0, sizeof *m);
	m->fd = -1;
	m->id = id != NULL ? xstrdup(id) : NULL;
}

static char *
strdup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* A deep copy of what the caller gave, every recipient pending. */
static void
envelope_copy(struct queue_envelope *to, const struct queue_envelope *from)
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

static int
check_envelope(const struct queue_envelope *env, struct error *e)
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

static void
new_id(char id[ID_LEN + 1])
{
	struct timeval tv;
	uint32_t rnd;

	gettimeofday(&tv, NULL);
	if (crypto_random(&rnd, sizeof rnd) < 0)
		rnd = (uint32_t)getpid() ^ (uint32_t)tv.tv_usec << 12;
	snprintf(id, ID_LEN + 1, "%010llx%05lx%08lx", (unsigned long long)tv.tv_sec,
		 (unsigned long)tv.tv_usec, (unsigned long)rnd);
}

/* Creates and locks tmp/ID.  A sweeper may lock and unlink a file between
 * our open and our flock; then the name no longer leads to our file, and
 * we start again with a new id. */
static int
create_tmp(struct queue *q, char id[ID_LEN + 1], char path[ID_LEN + 5], struct error *e)
{
	for (int tries = 0; tries < ID_TRIES; tries++) {
		struct stat a, b;
		int fd;

		new_id(id);
		snprintf(path, ID_LEN + 5, "tmp/%s", id);
		fd = openat(q->dirfd, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			    0600);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0 && is_full(errno))
			return write_error(q, errno, path, e);
		if (fd < 0)
			return error_set(e, ST_CANTCREAT,
					 _("cannot create a file in %s/tmp: %s; check the queue "
					   "directory"),
					 q->dir, strerror(errno));
		if (flock(fd, LOCK_EX) == 0 && fstat(fd, &a) == 0 &&
		    fstatat(q->dirfd, path, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return fd;
		close(fd);
	}
	return error_set(e, ST_SOFTWARE, _("cannot find a free queue id in %s/tmp"), q->dir);
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

/* Everything between create_tmp and the fsync: envelope, headers, body,
 * trailer.  Returns 0 or -1 with e set. */
static int
write_message(struct queue *q, int fd, const char *path, const struct queue_entry *m,
	      const char *headers, size_t headers_len, int body_fd, off_t body_offset,
	      off_t *data_offset, unsigned long long *data_len, struct error *e)
{
	unsigned char digest[HASH_LEN];
	char hex[2 * HASH_LEN + 1];
	struct crypto_hash *h;
	struct buf b;
	unsigned long long body_len = 0;
	int rc, err = 0;

	if (crypto_hash_begin(CRYPTO_SHA256, &h) < 0)
		return error_set(e, ST_SOFTWARE, _("SHA-256 is not available from GnuTLS"));
	buf_init(&b, 0);
	fields_write(&b, ENVELOPE_VERSION, envelope_fields, NFIELDS(envelope_fields), m);
	buf_puts(&b, "\n");
	*data_offset = (off_t)b.len;
	rc = put(fd, h, b.data, b.len) < 0 || put(fd, h, headers, headers_len) < 0 ? -1 : 0;
	if (rc < 0)
		err = errno;
	else
		rc = copy_body(fd, h, body_fd, body_offset, &body_len, &err);
	crypto_hash_end(h, digest);
	*data_len = headers_len + body_len;
	hex_encode(digest, sizeof digest, false, '\0', hex);
	buf_reset(&b);
	buf_printf(&b, "%s %llu %s\n", TRAILER_TAG, *data_len, hex);
	if (rc == 0 && write_all(fd, b.data, b.len) < 0) {
		err = errno;
		rc = -1;
	}
	buf_free(&b);
	if (rc == -2)
		return error_set(e, ST_IOERR, _("cannot read the message: %s"), strerror(err));
	if (rc < 0)
		return write_error(q, err, path, e);
	return 0;
}

int
queue_commit(struct queue *q, const struct queue_envelope *env, const char *headers,
	     size_t headers_len, int body_fd, off_t body_offset, struct queue_entry *out,
	     struct error *e)
{
	char id[ID_LEN + 1], path[ID_LEN + 5], final[ID_LEN + 5];
	int fd;

	entry_init(out, NULL);
	if (check_envelope(env, e) < 0)
		return -1;
	fd = create_tmp(q, id, path, e);
	if (fd < 0)
		return -1;
	out->id = xstrdup(id);
	out->fd = fd;
	out->locked = true;
	envelope_copy(&out->env, env);
	snprintf(final, sizeof final, "msg/%s", id);
	if (write_message(q, fd, path, out, headers, headers_len, body_fd, body_offset,
			  &out->data_offset, &out->data_len, e) < 0)
		goto fail;
	if (fdatasync(fd) < 0 || renameat(q->dirfd, path, q->dirfd, final) < 0) {
		write_error(q, errno, path, e);
		goto fail;
	}
	/* Until msg/ is synced the message may vanish in a crash: the caller
	 * must not report success, so it must not stay to be sent later. */
	if (sync_dir(q, "msg") < 0) {
		write_error(q, errno, "msg", e);
		unlinkat(q->dirfd, final, 0);
		queue_entry_free(out);
		return -1;
	}
	return 0;
fail:
	unlinkat(q->dirfd, path, 0);
	queue_entry_free(out);
	return -1;
}

static int
id_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The ids in sub/: names that are ids, optionally followed by suffix. */
static int
list_ids(struct queue *q, const char *sub, struct strlist *ids, struct error *e)
{
	int fd = openat(q->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return error_set(e, ST_CANTCREAT, _("cannot read %s/%s: %s"), q->dir, sub,
				 strerror(errno));
	}
	while ((de = readdir(d)) != NULL)
		if (id_valid(de->d_name))
			strlist_add(ids, de->d_name);
	closedir(d);
	if (ids->n > 0)
		qsort(ids->v, ids->n, sizeof ids->v[0], id_compare);
	return 0;
}

int
queue_ids(struct queue *q, struct strlist *ids, struct error *e)
{
	return list_ids(q, "msg", ids, e);
}

/* Checks the trailer of an open message file and finds its parts.
 * Returns 0 (env holds the envelope text), 1 (damaged: *why), or -1 on a
 * read error (errno). */
static int
verify(int fd, struct queue_entry *m, struct buf *env, const char **why)
{
	char tail[TRAILER_MAX + 1], hex[2 * HASH_LEN + 1], *p, *digits;
	unsigned char digest[HASH_LEN];
	struct crypto_hash *h;
	struct stat st;
	off_t size, trailer, off;
	ssize_t n;
	long len;
	char *end, *block;

	if (fstat(fd, &st) < 0)
		return -1;
	size = st.st_size;
	n = pread_full(fd, tail, (size_t)(size < (off_t)TRAILER_MAX ? size : (off_t)TRAILER_MAX),
		       size - (size < (off_t)TRAILER_MAX ? size : (off_t)TRAILER_MAX));
	if (n < 0)
		return -1;
	tail[n] = '\0';
	/* Parsed from the end: the message need not end with a line break. */
	*why = _("no trailer (the file is incomplete)");
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
	if (parse_long(digits, 0, LONG_MAX, &len) < 0)
		return 1;
	trailer = size - (n - (digits - (ptrdiff_t)sizeof TRAILER_TAG - tail));
	memcpy(hex, p + 1, 2 * HASH_LEN);
	hex[2 * HASH_LEN] = '\0';

	/* The envelope ends at the first empty line. */
	block = xmalloc(BLOCK_SIZE);
	end = NULL;
	for (off = 0; end == NULL && off < trailer;) {
		size_t want = (size_t)(trailer - off < BLOCK_SIZE ? trailer - off : BLOCK_SIZE);
		size_t from = env->len > 0 ? env->len - 1 : 0;

		n = pread_full(fd, block, want, off);
		if (n <= 0 || buf_append(env, block, (size_t)n) < 0)
			break;
		off += n;
		end = memmem(env->data + from, env->len - from, "\n\n", 2);
	}
	*why = _("no end of envelope");
	if (end == NULL) {
		free(block);
		return n < 0 ? -1 : 1;
	}
	env->len = (size_t)(end - env->data) + 1;
	env->data[env->len] = '\0';
	m->data_offset = (off_t)env->len + 1;
	m->data_len = (unsigned long long)len;
	*why = _("its length does not match its trailer");
	if (m->data_offset + (off_t)len != trailer) {
		free(block);
		return 1;
	}

	if (crypto_hash_begin(CRYPTO_SHA256, &h) < 0) {
		free(block);
		errno = ENOSYS;
		return -1;
	}
	for (off = 0; off < trailer; off += n) {
		size_t want = (size_t)(trailer - off < BLOCK_SIZE ? trailer - off : BLOCK_SIZE);

		n = pread_full(fd, block, want, off);
		if (n <= 0)
			break;
		crypto_hash_update(h, block, (size_t)n);
	}
	crypto_hash_end(h, digest);
	free(block);
	if (n < 0)
		return -1;
	*why = _("its checksum does not match");
	if (off != trailer)
		return 1;
	hex_encode(digest, sizeof digest, false, '\0', tail);
	return strcmp(tail, hex) == 0 ? 0 : 1;
}

/* What a queue entry may be instead of one of the user's regular files,
 * the suffix it gets when it is moved aside into failed/, and how it is
 * described. */
enum entry_kind { ENTRY_OK, ENTRY_SYMLINK, ENTRY_DIR, ENTRY_FIFO, ENTRY_SPECIAL, ENTRY_FOREIGN };

static const struct {
	const char *suffix;
	const char *what;
} entry_kinds[] = {
	[ENTRY_OK] = {"", ""},
	[ENTRY_SYMLINK] = {"symlink", N_("a symbolic link")},
	[ENTRY_DIR] = {"directory", N_("a directory")},
	[ENTRY_FIFO] = {"fifo", N_("a FIFO")},
	[ENTRY_SPECIAL] = {"special", N_("a device or a socket")},
	[ENTRY_FOREIGN] = {"not-yours", N_("a file owned by another user")},
};

static enum entry_kind
entry_kind(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return ENTRY_SYMLINK;
	if (S_ISDIR(st->st_mode))
		return ENTRY_DIR;
	if (S_ISFIFO(st->st_mode))
		return ENTRY_FIFO;
	if (!S_ISREG(st->st_mode))
		return ENTRY_SPECIAL;
	return st->st_uid == geteuid() ? ENTRY_OK : ENTRY_FOREIGN;
}

/* Opens path read-only when it is a regular file of the user's.  The name
 * is looked at first, so that a FIFO or a device is never opened (which
 * could block or have effects), then the open file (O_NOFOLLOW and
 * O_NONBLOCK: the name may have been swapped meanwhile).  Returns the fd;
 * -1 with *kind set when it is something else, or -1 with errno (ENOENT:
 * it is not there) and *kind ENTRY_OK. */
static int
open_entry(struct queue *q, const char *path, enum entry_kind *kind)
{
	struct stat st;
	int fd;

	*kind = ENTRY_OK;
	if (fstatat(q->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	*kind = entry_kind(&st);
	if (*kind != ENTRY_OK)
		return -1;
	fd = openat(q->dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP)
		*kind = ENTRY_SYMLINK;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (*kind = entry_kind(&st)) != ENTRY_OK) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Moves sub/name out of the way, to failed/name.unsafe-KIND (*to, newly
 * allocated), never over an existing name.  0, or -1 with errno. */
static int
move_unsafe(struct queue *q, const char *sub, const char *name, enum entry_kind kind, char **to)
{
	char *from = xasprintf("%s/%s", sub, name);
	int rc;

	*to = xasprintf("failed/%s.unsafe-%s", name, entry_kinds[kind].suffix);
	rc = renameat2(q->dirfd, from, q->dirfd, *to, RENAME_NOREPLACE);
	if (rc == 0 && (sync_dir(q, "failed") < 0 || sync_dir(q, sub) < 0))
		rc = -1;
	free(from);
	return rc;
}

/* Moves sub/name aside and says so in e (ST_DATAERR); -1. */
static int
set_aside_unsafe(struct queue *q, const char *sub, const char *name, enum entry_kind kind,
		 struct error *e)
{
	char *to = NULL;

	if (move_unsafe(q, sub, name, kind, &to) == 0)
		error_set(e, ST_DATAERR,
			  _("%s/%s/%s is %s, not a queue file of yours; moved to %s/%s"), q->dir,
			  sub, name, _(entry_kinds[kind].what), q->dir, to);
	else
		error_set(e, ST_DATAERR,
			  _("%s/%s/%s is %s, not a queue file of yours, and cannot be moved to "
			    "%s/failed/: %s; remove it"),
			  q->dir, sub, name, _(entry_kinds[kind].what), q->dir, strerror(errno));
	free(to);
	return -1;
}

/* Reads the state file at path (missing: a fresh state) into m.  0, 1
 * (damaged: *why), -1 (errno), or 2 when the state entry is not a file of
 * the user's (*kind): then the state is fresh, but frozen, because what
 * the real state said (recipients already delivered, a --hold) is
 * unknown, and only the user can tell whether to send it again. */
static int
load_state(struct queue *q, const char *path, struct queue_entry *m, const char **why,
	   enum entry_kind *kind)
{
	int fd = open_entry(q, path, kind);
	struct buf b;
	int rc;

	if (fd < 0 && *kind != ENTRY_OK) {
		m->st.frozen = true;
		m->st.reason = xasprintf(_("its state file was %s: it may have been delivered in "
					   "part; check, then run outbox --release %s or "
					   "--remove %s"),
					 _(entry_kinds[*kind].what), m->id, m->id);
		return 2;
	}
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	buf_init(&b, STATE_MAX);
	rc = read_to_eof(fd, &b, false);
	close(fd);
	if (rc < 0 && errno == EFBIG) {
		*why = _("its state file is too large");
		rc = 1;
	} else if (rc == 0 && b.len > 0) {
		*why = fields_parse(b.data, b.len, STATE_VERSION, state_fields,
				    NFIELDS(state_fields), false, m);
		rc = *why != NULL ? 1 : 0;
	}
	buf_free(&b);
	return rc;
}

enum load_result {
	LOAD_OK,
	LOAD_BUSY,
	LOAD_DAMAGED,
	LOAD_ERROR,
	LOAD_UNSAFE,      /* sub/ID is not a file of the user's: *kind */
	LOAD_UNSAFE_STATE /* loaded, but its state entry is not: *kind */
};

/* Opens sub/ID (locking it when asked: busy when another process holds it
 * or it is no longer there), checks it and reads its state from
 * state_path.  Damaged: m->fd stays open, *why says why, env is empty.
 * Unsafe: m->fd is -1, *kind says what it is. */
static enum load_result
load_entry(struct queue *q, const char *sub, const char *state_path, const char *id, bool lock,
	   struct queue_entry *m, const char **why, enum entry_kind *kind)
{
	char *path = xasprintf("%s/%s", sub, id);
	struct stat a, b;
	struct buf env;
	int rc;

	entry_init(m, id);
	m->fd = open_entry(q, path, kind);
	if (m->fd < 0) {
		free(path);
		if (*kind != ENTRY_OK)
			return LOAD_UNSAFE;
		return errno == ENOENT ? LOAD_BUSY : LOAD_ERROR;
	}
	if (lock) {
		if (flock(m->fd, LOCK_EX | LOCK_NB) < 0) {
			free(path);
			return errno == EWOULDBLOCK ? LOAD_BUSY : LOAD_ERROR;
		}
		m->locked = true;
		/* The holder may have removed or set it aside just before
		 * we got the lock. */
		if (fstat(m->fd, &a) < 0 || fstatat(q->dirfd, path, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
		    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
			free(path);
			return LOAD_BUSY;
		}
	}
	free(path);
	buf_init(&env, ENVELOPE_MAX);
	rc = verify(m->fd, m, &env, why);
	if (rc == 0) {
		*why = envelope_parse(env.data, env.len, m);
		rc = *why != NULL ? 1 : 0;
	}
	buf_free(&env);
	if (rc == 0)
		rc = load_state(q, state_path, m, why, kind);
	if (rc < 0)
		return LOAD_ERROR;
	if (rc == 1) {
		envelope_free(&m->env);
		state_free(&m->st);
		return LOAD_DAMAGED;
	}
	return rc == 2 ? LOAD_UNSAFE_STATE : LOAD_OK;
}

static int
require_lock(const struct queue_entry *m, struct error *e)
{
	if (!m->locked)
		return error_set(e, ST_SOFTWARE,
				 _("internal error: queued message %s changed without its lock"),
				 m->id);
	return 0;
}

/* Writes m's state to sub/name through sub/.name.tmp, with fsyncs. */
static int
write_state(struct queue *q, const char *sub, const char *name, const struct queue_entry *m,
	    struct error *e)
{
	char *tmp = xasprintf("%s/.%s.tmp", sub, name);
	char *path = xasprintf("%s/%s", sub, name);
	struct buf b;
	int fd, rc = -1;

	buf_init(&b, 0);
	fields_write(&b, STATE_VERSION, state_fields, NFIELDS(state_fields), m);
	/* Whatever a killed writer (or anyone) left under the temporary name
	 * goes first: the state is only ever written to a new file. */
	unlinkat(q->dirfd, tmp, 0);
	fd = openat(q->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		write_error(q, errno, tmp, e);
		goto out;
	}
	if (write_all(fd, b.data, b.len) < 0 || fdatasync(fd) < 0) {
		write_error(q, errno, tmp, e);
		close(fd);
		unlinkat(q->dirfd, tmp, 0);
		goto out;
	}
	if (close(fd) < 0 || renameat(q->dirfd, tmp, q->dirfd, path) < 0) {
		write_error(q, errno, path, e);
		unlinkat(q->dirfd, tmp, 0);
		goto out;
	}
	if (sync_dir(q, sub) < 0) {
		write_error(q, errno, sub, e);
		goto out;
	}
	rc = 0;
out:
	buf_free(&b);
	free(tmp);
	free(path);
	return rc;
}

int
queue_save_state(struct queue *q, const struct queue_entry *m, struct error *e)
{
	if (require_lock(m, e) < 0)
		return -1;
	return write_state(q, "state", m->id, m, e);
}

int
queue_remove(struct queue *q, struct queue_entry *m, struct error *e)
{
	char *path;
	int rc = 0;

	if (require_lock(m, e) < 0)
		return -1;
	path = xasprintf("msg/%s", m->id);
	if ((unlinkat(q->dirfd, path, 0) < 0 && errno != ENOENT) || sync_dir(q, "msg") < 0)
		rc = error_set(e, ST_CANTCREAT, _("cannot remove %s/%s: %s"), q->dir, path,
			       strerror(errno));
	free(path);
	if (rc == 0) {
		path = xasprintf("state/%s", m->id);
		unlinkat(q->dirfd, path, 0);
		free(path);
	}
	return rc;
}

/* Moves msg/ID to failed/ID with its state (reason recorded) beside it as
 * failed/ID.state; state/ID goes. */
static int
set_aside(struct queue *q, struct queue_entry *m, const char *reason, struct error *e)
{
	char *name = xasprintf("%s.state", m->id);
	char *from = xasprintf("msg/%s", m->id);
	char *to = xasprintf("failed/%s", m->id);
	int rc;

	free(m->st.reason);
	m->st.reason = xstrdup(reason);
	m->st.held = false;
	rc = write_state(q, "failed", name, m, e);
	if (rc == 0 && (renameat(q->dirfd, from, q->dirfd, to) < 0 || sync_dir(q, "failed") < 0 ||
			sync_dir(q, "msg") < 0))
		rc = error_set(e, ST_CANTCREAT, _("cannot move %s/%s to %s/failed/: %s"), q->dir,
			       from, q->dir, strerror(errno));
	if (rc == 0) {
		free(name);
		name = xasprintf("state/%s", m->id);
		unlinkat(q->dirfd, name, 0);
	}
	free(name);
	free(from);
	free(to);
	return rc;
}

int
queue_set_aside(struct queue *q, struct queue_entry *m, const char *reason, struct error *e)
{
	if (require_lock(m, e) < 0)
		return -1;
	return set_aside(q, m, reason, e);
}

/* state/ID was not a file of the user's: it is moved aside, and the
 * message, frozen by load_state(), gets a state file of its own.  The
 * message is kept, and never sent again without the user's word. */
static int
hold_unsafe_state(struct queue *q, struct queue_entry *m, enum entry_kind kind, struct error *e)
{
	const char *what = _(entry_kinds[kind].what);
	char *to = NULL;

	if (move_unsafe(q, "state", m->id, kind, &to) < 0)
		error_set(e, ST_DATAERR,
			  _("the state file of queued message %s is %s and cannot be moved to "
			    "%s/failed/: %s; the message waits until it is removed"),
			  m->id, what, q->dir, strerror(errno));
	else if (write_state(q, "state", m->id, m, e) == 0)
		error_set(e, ST_DATAERR,
			  _("the state file of queued message %s was %s; moved to %s/%s; the "
			    "message is kept and held: check whether it was delivered, then run "
			    "outbox --release %s or --remove %s"),
			  m->id, what, q->dir, to, m->id, m->id);
	free(to);
	queue_entry_free(m);
	return -1;
}

int
queue_load(struct queue *q, const char *id, bool lock, struct queue_entry *out, struct error *e)
{
	char *state_path, *reason;
	const char *why = NULL;
	enum load_result r;
	enum entry_kind kind;
	struct error moved;

	if (!id_valid(id)) {
		entry_init(out, NULL);
		return error_set(e, ST_USAGE, _("%s is not a queue id (see mailq)"), id);
	}
	state_path = xasprintf("state/%s", id);
	r = load_entry(q, "msg", state_path, id, lock, out, &why, &kind);
	free(state_path);
	switch (r) {
	case LOAD_OK:
		return 0;
	case LOAD_UNSAFE:
		queue_entry_free(out);
		return set_aside_unsafe(q, "msg", id, kind, e);
	case LOAD_UNSAFE_STATE:
		return out->locked ? hold_unsafe_state(q, out, kind, e) : 0;
	case LOAD_BUSY:
		queue_entry_free(out);
		return 1;
	case LOAD_ERROR:
		error_set(e, ST_CANTCREAT, _("cannot read %s/msg/%s: %s"), q->dir, id,
			  strerror(errno));
		queue_entry_free(out);
		return -1;
	case LOAD_DAMAGED:
		break;
	}
	/* Never sent: moved aside when no other process is using it. */
	if (!out->locked && flock(out->fd, LOCK_EX | LOCK_NB) == 0)
		out->locked = true;
	reason = xasprintf("corrupt: %s", why);
	if (out->locked && set_aside(q, out, reason, &moved) == 0)
		error_set(e, ST_DATAERR,
			  _("queued message %s is damaged (%s); moved to %s/failed/%s"), id, why,
			  q->dir, id);
	else
		error_set(e, ST_DATAERR,
			  _("queued message %s is damaged (%s) and could not be moved to "
			    "%s/failed/"),
			  id, why, q->dir);
	free(reason);
	queue_entry_free(out);
	return -1;
}

int
queue_lock_flusher(struct queue *q, struct error *e)
{
	int fd;

	if (q->lock_fd >= 0)
		return 0;
	fd = openat(q->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return error_set(e, ST_CANTCREAT, _("cannot open %s/lock: %s"), q->dir,
				 strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		close(fd);
		if (err == EWOULDBLOCK)
			return 1;
		return error_set(e, ST_CANTCREAT, _("cannot lock %s/lock: %s"), q->dir,
				 strerror(err));
	}
	q->lock_fd = fd;
	return 0;
}

static void
touch_file(struct queue *q, const char *name)
{
	/* O_NONBLOCK: a FIFO under that name must not hang the flush. */
	int fd = openat(q->dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
			0600);
	struct timespec now, times[2];
	struct stat st;

	if (fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	/* Coarse file system timestamps: make sure the mtime moves. */
	if (fstat(fd, &st) == 0 &&
	    (now.tv_sec < st.st_mtim.tv_sec ||
	     (now.tv_sec == st.st_mtim.tv_sec && now.tv_nsec <= st.st_mtim.tv_nsec))) {
		now = st.st_mtim;
		if (++now.tv_nsec == 1000000000L) {
			now.tv_sec++;
			now.tv_nsec = 0;
		}
	}
	times[0] = times[1] = now;
	futimens(fd, times);
	close(fd);
}

static struct timespec
file_time(struct queue *q, const char *name)
{
	struct stat st;

	if (fstatat(q->dirfd, name, &st, 0) < 0)
		return (struct timespec){0, 0};
	return st.st_mtim;
}

void
queue_poke(struct queue *q)
{
	touch_file(q, "trigger");
}

struct timespec
queue_trigger_time(struct queue *q)
{
	return file_time(q, "trigger");
}

/* A separate file from `trigger`: the systemd path unit must not start
 * another flusher because a flusher asked the running one for a pass. */
void
queue_ask_again(struct queue *q)
{
	touch_file(q, "again");
}

struct timespec
queue_again_time(struct queue *q)
{
	return file_time(q, "again");
}

/* Moves sub/name aside when it is not a regular file of the user's (or,
 * with dirs_only, when it is a directory); the report goes to notes.
 * True when it was something else. */
static bool
sweep_unsafe(struct queue *q, const char *sub, const char *name, bool dirs_only,
	     struct strlist *notes)
{
	char *path = xasprintf("%s/%s", sub, name);
	struct stat st;
	enum entry_kind kind = ENTRY_OK;
	struct error e;

	if (fstatat(q->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
		kind = entry_kind(&st);
	free(path);
	if (kind == ENTRY_OK || (dirs_only && kind != ENTRY_DIR))
		return kind != ENTRY_OK;
	set_aside_unsafe(q, sub, name, kind, &e);
	strlist_add(notes, e.msg);
	return true;
}

static void
sweep_tmp(struct queue *q, DIR *d, struct strlist *notes)
{
	struct dirent *de;

	while ((de = readdir(d)) != NULL) {
		char *path;
		int fd;

		if (de->d_name[0] == '.' || sweep_unsafe(q, "tmp", de->d_name, false, notes))
			continue;
		path = xasprintf("tmp/%s", de->d_name);
		fd = openat(q->dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		/* Locked: a writer is alive.  Unlocked: its writer died (a
		 * writer that has not locked yet notices and picks another id). */
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
			unlinkat(q->dirfd, path, 0);
		if (fd >= 0)
			close(fd);
		free(path);
	}
}

/* state/ files of messages that are gone are removed; what cannot be
 * removed that way (a directory) is moved aside.  A bad state entry of a
 * message that is still there is left for queue_load(), which holds the
 * message: removing it here would make it look never tried. */
static void
sweep_state(struct queue *q, DIR *d, struct strlist *notes)
{
	struct dirent *de;
	struct stat st;

	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		size_t n = strlen(name);
		char *id, *path;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		/* state/.ID.tmp belongs to ID as much as state/ID does */
		if (name[0] == '.' && n > 5 && strcmp(name + n - 4, ".tmp") == 0)
			id = xstrndup(name + 1, n - 5);
		else
			id = xstrdup(name);
		path = xasprintf("msg/%s", id);
		if (fstatat(q->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT &&
		    !sweep_unsafe(q, "state", name, true, notes)) {
			free(path);
			path = xasprintf("state/%s", name);
			unlinkat(q->dirfd, path, 0);
		}
		free(path);
		free(id);
	}
}

void
queue_sweep(struct queue *q, struct strlist *notes)
{
	static const struct {
		const char *sub;
		void (*sweep)(struct queue *, DIR *, struct strlist *);
	} parts[] = {{"tmp", sweep_tmp}, {"state", sweep_state}};

	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		int fd = openat(q->dirfd, parts[i].sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

		if (d == NULL) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		parts[i].sweep(q, d, notes);
		closedir(d);
	}
}

/* Adds the entries of sub/ to the listing. */
static int
list_part(struct queue *q, const char *sub, bool failed, struct queue_listing *l, struct error *e)
{
	struct strlist ids;

	strlist_init(&ids);
	if (list_ids(q, sub, &ids, e) < 0)
		return -1;
	for (size_t i = 0; i < ids.n; i++) {
		char *state_path = failed ? xasprintf("failed/%s.state", ids.v[i])
					  : xasprintf("state/%s", ids.v[i]);
		struct queue_entry m;
		const char *why = NULL;
		enum entry_kind kind;
		enum load_result r =
			load_entry(q, sub, state_path, ids.v[i], false, &m, &why, &kind);

		free(state_path);
		if (r == LOAD_UNSAFE_STATE && failed) {
			/* --release, which its reason suggests, is for msg/ */
			envelope_free(&m.env);
			state_free(&m.st);
			r = LOAD_UNSAFE;
		}
		if (r == LOAD_UNSAFE) {
			r = LOAD_DAMAGED;
			why = _(entry_kinds[kind].what);
		}
		if (r == LOAD_BUSY) {
			queue_entry_free(&m);
			continue;
		}
		if (r == LOAD_ERROR) {
			error_set(e, ST_CANTCREAT, _("cannot read %s/%s/%s: %s"), q->dir, sub,
				  ids.v[i], strerror(errno));
			queue_entry_free(&m);
			strlist_free(&ids);
			return -1;
		}
		if (m.fd >= 0)
			close(m.fd);
		m.fd = -1;
		l->entries = xrealloc(l->entries, (l->n + 1) * sizeof *l->entries);
		l->failed = xrealloc(l->failed, (l->n + 1) * sizeof *l->failed);
		l->damaged = xrealloc(l->damaged, (l->n + 1) * sizeof *l->damaged);
		l->failed[l->n] = failed;
		l->damaged[l->n] = r == LOAD_DAMAGED;
		if (r == LOAD_DAMAGED)
			m.st.reason = xasprintf(_("damaged: %s"), why);
		l->entries[l->n++] = m;
	}
	strlist_free(&ids);
	return 0;
}

int
queue_list(struct queue *q, struct queue_listing *out, struct error *e)
{
	memset(out, 0, sizeof *out);
	if (list_part(q, "msg", false, out, e) < 0 || list_part(q, "failed", true, out, e) < 0) {
		queue_listing_free(out);
		return -1;
	}
	return 0;
}

void
queue_listing_free(struct queue_listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		queue_entry_free(&l->entries[i]);
	free(l->entries);
	free(l->failed);
	free(l->damaged);
	memset(l, 0, sizeof *l);
}
