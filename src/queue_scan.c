/* queue_scan.c - reading the queue directory: loading a message and its
 * state (queue_load), sweeping what killed writers left behind, and
 * listing msg/ and failed/ for mailq.
 *
 * Untrusted data: whatever sits in the queue directory.  Every entry is
 * opened only when it is a regular file of the user's, looked at by name
 * first so that a FIFO or a device is never opened, and anything else is
 * moved aside into failed/, never read; message and state files are then
 * checked by queue_file.c.  Ids given by the user (-qI) are checked before
 * they reach a path. */
#include "config.h"

#include "queue.h"

#include "i18n.h"
#include "queue_dir.h"
#include "queue_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The effective uid, asked once. */
static uid_t
owner(void)
{
	static uid_t uid;
	static bool known;

	if (!known) {
		uid = geteuid();
		known = true;
	}
	return uid;
}

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
	return st->st_uid == owner() ? ENTRY_OK : ENTRY_FOREIGN;
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
	if (rc == 0 && (queue_sync_dir(q, "failed") < 0 || queue_sync_dir(q, sub) < 0))
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
		char *detail = xasprintf(_("its state file was %s: it may have been delivered "
					   "in part; check, then run outbox --release %s or "
					   "--remove %s"),
					 _(entry_kinds[*kind].what), m->id, m->id);

		m->st.frozen = true;
		queue_reason_set(&m->st, REASON_UNSAFE_STATE, detail);
		free(detail);
		return 2;
	}
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	buf_init(&b, QUEUE_STATE_MAX);
	rc = read_to_eof(fd, &b, false);
	close(fd);
	if (rc < 0 && errno == EFBIG) {
		*why = _("its state file is too large");
		rc = 1;
	} else if (rc == 0 && b.len > 0) {
		*why = queue_state_parse(b.data, b.len, m);
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

bool
queue_not_due(struct queue *q, const char *id, time_t now, bool force)
{
	char *path = xasprintf("state/%s", id);
	enum entry_kind kind;
	int fd = queue_id_valid(id) ? open_entry(q, path, &kind) : -1;
	struct queue_entry m;
	struct buf b;
	bool skip = false;

	free(path);
	if (fd < 0)
		return false;
	queue_entry_init(&m, NULL);
	buf_init(&b, QUEUE_STATE_MAX);
	if (read_to_eof(fd, &b, false) == 0 && b.len > 0 &&
	    queue_state_schedule(b.data, b.len, &m) == NULL)
		skip = m.st.frozen || (!force && (m.st.held || m.st.next_attempt > now));
	close(fd);
	buf_free(&b);
	queue_entry_free(&m);
	return skip;
}

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
	int rc;

	queue_entry_init(m, id);
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
	rc = queue_file_read(m->fd, m, why);
	if (rc == 0)
		rc = load_state(q, state_path, m, why, kind);
	if (rc < 0)
		return LOAD_ERROR;
	if (rc == 1) {
		queue_envelope_free(&m->env);
		queue_state_free(&m->st);
		return LOAD_DAMAGED;
	}
	return rc == 2 ? LOAD_UNSAFE_STATE : LOAD_OK;
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
	else if (queue_write_state(q, "state", m->id, m, e) == 0)
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

	if (!queue_id_valid(id)) {
		queue_entry_init(out, NULL);
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
	reason = xasprintf(_("damaged: %s"), why);
	out->st.code = REASON_DAMAGED;
	if (out->locked && queue_move_to_failed(q, out, reason, &moved) == 0)
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
queue_load_failed(struct queue *q, const char *id, struct queue_entry *out, struct error *e)
{
	char *state_path;
	const char *why = NULL;
	enum entry_kind kind = ENTRY_OK;
	enum load_result r;

	if (!queue_id_valid(id)) {
		queue_entry_init(out, NULL);
		return error_set(e, ST_USAGE, _("%s is not a queue id (see mailq)"), id);
	}
	state_path = xasprintf("failed/%s.state", id);
	r = load_entry(q, "failed", state_path, id, true, out, &why, &kind);
	free(state_path);
	if (r == LOAD_OK)
		return 0;
	queue_entry_free(out);
	if (r == LOAD_BUSY)
		return 1;
	if (r == LOAD_ERROR)
		return error_set(e, ST_CANTCREAT, _("cannot read %s/failed/%s: %s"), q->dir, id,
				 strerror(errno));
	return error_set(e, ST_DATAERR,
			 _("failed message %s is damaged (%s) and cannot be sent again; delete "
			   "%s/failed/%s and the files beside it by hand"),
			 id, why != NULL ? why : _(entry_kinds[kind].what), q->dir, id);
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

/* The first bytes of a loaded entry's message, into head. */
static void
read_head(const struct queue_entry *m, struct buf *head)
{
	size_t n = m->data_len < QUEUE_HEAD_MAX ? (size_t)m->data_len : QUEUE_HEAD_MAX;
	char *p = xmalloc(n + 1);
	ssize_t got = pread(m->fd, p, n, m->data_offset);

	if (got > 0)
		buf_append(head, p, (size_t)got);
	free(p);
}

/* Loads sub/ID for the listing into l (and its head): 0, 1 when it is
 * gone or busy, -1 on a read error. */
static int
list_load(struct queue *q, const char *sub, const char *id, struct queue_listed *l,
	  struct buf *head, struct error *e)
{
	char *state_path = l->failed ? xasprintf("failed/%s.state", id) : xasprintf("state/%s", id);
	const char *why = NULL;
	enum entry_kind kind;
	enum load_result r = load_entry(q, sub, state_path, id, false, l->m, &why, &kind);

	free(state_path);
	if (r == LOAD_UNSAFE_STATE && l->failed) {
		/* --release, which its reason suggests, is for msg/ */
		queue_envelope_free(&l->m->env);
		queue_state_free(&l->m->st);
		r = LOAD_UNSAFE;
	}
	if (r == LOAD_UNSAFE) {
		r = LOAD_DAMAGED;
		why = _(entry_kinds[kind].what);
	}
	if (r == LOAD_BUSY)
		return 1;
	if (r == LOAD_ERROR)
		return error_set(e, ST_CANTCREAT, _("cannot read %s/%s/%s: %s"), q->dir, sub, id,
				 strerror(errno));
	l->damaged = r == LOAD_DAMAGED;
	if (!l->damaged)
		read_head(l->m, head);
	if (l->m->fd >= 0)
		close(l->m->fd);
	l->m->fd = -1;
	if (l->damaged) {
		char *detail = xasprintf(_("damaged: %s"), why);

		queue_reason_set(&l->m->st, REASON_DAMAGED, detail);
		free(detail);
	}
	return 0;
}

/* Hands the entries of sub/ to fn, one at a time. */
static int
list_part(struct queue *q, const char *sub, bool failed, queue_list_fn fn, void *ctx,
	  struct error *e)
{
	struct queue_ids ids;
	struct buf head;
	int rc = 0;

	if (queue_ids_list(q, sub, &ids, e) < 0)
		return -1;
	buf_init(&head, 0);
	for (;;) {
		char id[QUEUE_ID_LEN + 1];
		struct queue_entry m;
		struct queue_listed l = {.m = &m, .failed = failed, .head = &head};

		rc = queue_ids_next(&ids, id, e);
		if (rc <= 0)
			break;
		buf_reset(&head);
		rc = list_load(q, sub, id, &l, &head, e);
		if (rc == 0)
			rc = fn(ctx, &l, e);
		queue_entry_free(&m);
		if (rc < 0)
			break;
	}
	buf_free(&head);
	queue_ids_free(&ids);
	return rc;
}

int
queue_list(struct queue *q, queue_list_fn fn, void *ctx, struct error *e)
{
	if (list_part(q, "msg", false, fn, ctx, e) < 0)
		return -1;
	return list_part(q, "failed", true, fn, ctx, e);
}
