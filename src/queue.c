/* queue.c - the crash-safe local queue, writing side: creating and
 * checking the directory, committing a message (one fsync of the file, one
 * of msg/), the state file, removing messages and setting them aside in
 * failed/, the flusher lock and the trigger files.  Loading, sweeping and
 * listing are in queue_scan.c, the file formats in queue_file.c.
 *
 * Untrusted data: the queue directory itself.  It and its subdirectories
 * must be the user's own and writable by nobody else (checked at open);
 * files are created with O_EXCL and O_NOFOLLOW, and a name found in place
 * of a file written here (a FIFO as `trigger`) never blocks. */
#include "config.h"

#include "queue.h"

#include "crypto.h"
#include "i18n.h"
#include "queue_dir.h"
#include "queue_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define ID_TRIES 100

static const char *const subdirs[] = {"tmp", "msg", "state", "failed"};

static bool
is_full(int err)
{
	return err == ENOSPC || err == EDQUOT;
}

int
queue_sync_dir(struct queue *q, const char *sub)
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
	q->marker_dir = RUNSTATEDIR "/outbox";
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

void
queue_entry_free(struct queue_entry *m)
{
	if (m->fd >= 0)
		close(m->fd);
	free(m->id);
	queue_envelope_free(&m->env);
	queue_state_free(&m->st);
	memset(m, 0, sizeof *m);
	m->fd = -1;
}

void
queue_entry_init(struct queue_entry *m, const char *id)
{
	memset(m, 0, sizeof *m);
	m->fd = -1;
	m->id = id != NULL ? xstrdup(id) : NULL;
}

static void
new_id(char id[QUEUE_ID_LEN + 1])
{
	struct timeval tv;
	uint32_t rnd;

	gettimeofday(&tv, NULL);
	if (crypto_random(&rnd, sizeof rnd) < 0)
		rnd = (uint32_t)getpid() ^ (uint32_t)tv.tv_usec << 12;
	snprintf(id, QUEUE_ID_LEN + 1, "%010llx%05lx%08lx", (unsigned long long)tv.tv_sec,
		 (unsigned long)tv.tv_usec, (unsigned long)rnd);
}

/* Creates and locks tmp/ID.  A sweeper may lock and unlink a file between
 * our open and our flock; then the name no longer leads to our file, and
 * we start again with a new id. */
static int
create_tmp(struct queue *q, char id[QUEUE_ID_LEN + 1], char path[QUEUE_ID_LEN + 5], struct error *e)
{
	for (int tries = 0; tries < ID_TRIES; tries++) {
		struct stat a, b;
		int fd;

		new_id(id);
		snprintf(path, QUEUE_ID_LEN + 5, "tmp/%s", id);
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

/* Everything between create_tmp and the fsync: envelope, headers, body,
 * trailer.  Returns 0 or -1 with e set. */
static int
write_message(struct queue *q, int fd, const char *path, struct queue_entry *m, const char *headers,
	      size_t headers_len, int body_fd, off_t body_offset, struct error *e)
{
	int err;

	switch (queue_file_write(fd, m, headers, headers_len, body_fd, body_offset, &m->data_offset,
				 &m->data_len, &err)) {
	case QUEUE_WRITE_OK:
		return 0;
	case QUEUE_WRITE_NO_HASH:
		return error_set(e, ST_SOFTWARE, _("SHA-256 is not available from GnuTLS"));
	case QUEUE_WRITE_READ_ERROR:
		return error_set(e, ST_IOERR, _("cannot read the message: %s"), strerror(err));
	case QUEUE_WRITE_ERROR:
		break;
	}
	return write_error(q, err, path, e);
}

int
queue_commit(struct queue *q, const struct queue_envelope *env, const char *headers,
	     size_t headers_len, int body_fd, off_t body_offset, struct queue_entry *out,
	     struct error *e)
{
	char id[QUEUE_ID_LEN + 1], path[QUEUE_ID_LEN + 5], final[QUEUE_ID_LEN + 5];
	int fd;

	queue_entry_init(out, NULL);
	if (queue_envelope_check(env, e) < 0)
		return -1;
	fd = create_tmp(q, id, path, e);
	if (fd < 0)
		return -1;
	out->id = xstrdup(id);
	out->fd = fd;
	out->locked = true;
	queue_envelope_copy(&out->env, env);
	snprintf(final, sizeof final, "msg/%s", id);
	if (write_message(q, fd, path, out, headers, headers_len, body_fd, body_offset, e) < 0)
		goto fail;
	if (fdatasync(fd) < 0 || renameat(q->dirfd, path, q->dirfd, final) < 0) {
		write_error(q, errno, path, e);
		goto fail;
	}
	/* Until msg/ is synced the message may vanish in a crash: the caller
	 * must not report success, so it must not stay to be sent later. */
	if (queue_sync_dir(q, "msg") < 0) {
		write_error(q, errno, "msg", e);
		unlinkat(q->dirfd, final, 0);
		queue_entry_free(out);
		return -1;
	}
	queue_mark(q, true);
	return 0;
fail:
	unlinkat(q->dirfd, path, 0);
	queue_entry_free(out);
	return -1;
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

int
queue_write_state(struct queue *q, const char *sub, const char *name, const struct queue_entry *m,
		  struct error *e)
{
	char *tmp = xasprintf("%s/.%s.tmp", sub, name);
	char *path = xasprintf("%s/%s", sub, name);
	struct buf b;
	int fd, rc = -1;

	buf_init(&b, 0);
	queue_state_format(&b, m);
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
	if (queue_sync_dir(q, sub) < 0) {
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
	return queue_write_state(q, "state", m->id, m, e);
}

int
queue_remove(struct queue *q, struct queue_entry *m, struct error *e)
{
	char *path;
	int rc = 0;

	if (require_lock(m, e) < 0)
		return -1;
	path = xasprintf("msg/%s", m->id);
	if ((unlinkat(q->dirfd, path, 0) < 0 && errno != ENOENT) || queue_sync_dir(q, "msg") < 0)
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

int
queue_move_to_failed(struct queue *q, struct queue_entry *m, const char *reason, struct error *e)
{
	char *name = xasprintf("%s.state", m->id);
	char *from = xasprintf("msg/%s", m->id);
	char *to = xasprintf("failed/%s", m->id);
	int rc;

	queue_reason_set(&m->st, m->st.code, reason);
	m->st.held = false;
	rc = queue_write_state(q, "failed", name, m, e);
	if (rc == 0 && (renameat(q->dirfd, from, q->dirfd, to) < 0 ||
			queue_sync_dir(q, "failed") < 0 || queue_sync_dir(q, "msg") < 0))
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
	return queue_move_to_failed(q, m, reason, e);
}

/* Removes failed/ID.suffix, when it is there. */
static void
unlink_failed(struct queue *q, const char *id, const char *suffix)
{
	char *path = xasprintf("failed/%s%s", id, suffix);

	unlinkat(q->dirfd, path, 0);
	free(path);
}

int
queue_remove_failed(struct queue *q, struct queue_entry *m, struct error *e)
{
	char *path;
	int rc = 0;

	if (require_lock(m, e) < 0)
		return -1;
	path = xasprintf("failed/%s", m->id);
	if (unlinkat(q->dirfd, path, 0) < 0 || queue_sync_dir(q, "failed") < 0)
		rc = error_set(e, ST_CANTCREAT, _("cannot remove %s/%s: %s"), q->dir, path,
			       strerror(errno));
	free(path);
	if (rc == 0) {
		unlink_failed(q, m->id, ".state");
		unlink_failed(q, m->id, ".notice");
	}
	return rc;
}

/* Moves failed/ID to msg/ID, not over an existing one (state/ID, which
 * the caller writes first, belongs to that one), and syncs both.  0, or
 * -1 with e set. */
static int
move_back(struct queue *q, const char *id, bool state_written, struct error *e)
{
	char *from = xasprintf("failed/%s", id), *to = xasprintf("msg/%s", id);
	int rc = -1;

	errno = EEXIST;
	if (state_written && renameat2(q->dirfd, from, q->dirfd, to, RENAME_NOREPLACE) == 0 &&
	    queue_sync_dir(q, "msg") == 0 && queue_sync_dir(q, "failed") == 0)
		rc = 0;
	if (rc < 0)
		error_set(e, ST_CANTCREAT, _("cannot move %s/%s to %s/msg/: %s"), q->dir, from,
			  q->dir, strerror(errno));
	free(from);
	free(to);
	return rc;
}

int
queue_requeue(struct queue *q, struct queue_entry *m, struct error *e)
{
	char *to, *state;
	struct stat st;
	bool free_id;
	int rc = -1;

	if (require_lock(m, e) < 0)
		return -1;
	to = xasprintf("msg/%s", m->id);
	state = xasprintf("state/%s", m->id);
	free_id = fstatat(q->dirfd, to, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
	if (!free_id || queue_write_state(q, "state", m->id, m, e) == 0)
		rc = move_back(q, m->id, free_id, e);
	/* A flusher's sweep may have taken state/ID for an orphan just before
	 * the message arrived: write it again (the message is locked). */
	if (rc == 0 && fstatat(q->dirfd, state, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = queue_write_state(q, "state", m->id, m, e);
	if (rc == 0) {
		unlink_failed(q, m->id, ".state");
		unlink_failed(q, m->id, ".notice");
	}
	free(state);
	free(to);
	return rc;
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

void
queue_mark(struct queue *q, bool waiting)
{
	char *path = xasprintf("%s/%lu", q->marker_dir, (unsigned long)geteuid());
	int fd;

	if (!waiting) {
		unlink(path);
	} else {
		/* O_NOFOLLOW | O_NONBLOCK: the directory is shared; whatever
		 * another user put under this name is left alone. */
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
		if (fd >= 0)
			close(fd);
	}
	free(path);
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
