/* queue-t.c - tests for src/queue.c, queue_scan.c and queue_file.c
 * through queue.h: the default directory, opening and
 * refusing the queue directory, commit + load round trips, unique ids,
 * locks (across open files and processes), the state file, damaged files
 * set aside, removal, set-aside, listing, sweeping, the trigger, the
 * flusher lock, a full disk (a tiny tmpfs in a user namespace) and the
 * number of fsyncs of one commit (under strace).
 *
 * Run as "queue-t --enospc DIR" or "queue-t --commit DIR" it is the child
 * of those last two tests: it reports through its exit status. */
#include "config.h"

#include "queue.h"

#include "crypto.h"

#include "tests/tap/basic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char headers[] = "From: a@example.org\r\nSubject: test\r\n\r\n";
static const char body[] = "hello\r\nworld\r\n";

static struct queue_rcpt three_rcpts[] = {
	{.addr = (char[]){"one@example.org"}},
	{.addr = (char[]){"two@example.net"}},
	{.addr = (char[]){"three@example.com"}},
};

static const struct queue_envelope base_env = {
	.account = (char[]){"work"},
	.from = (char[]){""},
	.rcpts = three_rcpts,
	.nrcpts = 3,
	.dsn_notify = (char[]){"FAILURE,DELAY"},
	.dsn_return = (char[]){"HDRS"},
	.dsn_envid = (char[]){"QQ314159"},
	.eightbit = true,
	.smtputf8 = false,
	.msgid = (char[]){"<abc@example.org>"},
	.created = 1700000000,
};

static char *self; /* this program, for the re-executed children */

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
remove_tree(const char *dir)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A new scratch directory for one test: automake may run tests in
 * parallel, so nothing is shared. */
static char *
scratch(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/queue-t-XXXXXX", tmp != NULL && *tmp == '/' ? tmp : "/tmp");

	if (mkdtemp(dir) == NULL)
		bail("mkdtemp %s: %s", dir, strerror(errno));
	return dir;
}

/* A file holding prefix + body, as the spool would be. */
static int
body_file(const char *prefix, const char *content, size_t len)
{
	int fd = memfd_create("body", MFD_CLOEXEC);

	if (fd < 0 || write(fd, prefix, strlen(prefix)) != (ssize_t)strlen(prefix) ||
	    write(fd, content, len) != (ssize_t)len)
		bail("memfd: %s", strerror(errno));
	return fd;
}

static void
open_queue(struct queue *q, const char *dir)
{
	struct error e;
	char *qdir = xasprintf("%s/queue", dir);

	if (queue_open(q, qdir, &e) < 0)
		bail("queue_open: %s", e.msg);
	free(qdir);
}

static int
commit(struct queue *q, const struct queue_envelope *env, struct queue_entry *out)
{
	struct error e;
	int fd = body_file("XXXXX", body, sizeof body - 1);
	int rc = queue_commit(q, env, headers, sizeof headers - 1, fd, 5, out, &e);

	if (rc < 0)
		diag("queue_commit: %s", e.msg);
	close(fd);
	return rc;
}

static size_t
count_files(struct queue *q, const char *sub)
{
	char *path = xasprintf("%s/%s", q->dir, sub);
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	while (d != NULL && (de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	if (d != NULL)
		closedir(d);
	free(path);
	return n;
}

static bool
exists(struct queue *q, const char *sub, const char *name)
{
	struct stat st;
	char *path = xasprintf("%s/%s/%s", q->dir, sub, name);
	bool r = stat(path, &st) == 0;

	free(path);
	return r;
}

/* Like exists(), without following a symbolic link. */
static bool
lexists(struct queue *q, const char *sub, const char *name)
{
	struct stat st;
	char *path = xasprintf("%s/%s/%s", q->dir, sub, name);
	bool r = lstat(path, &st) == 0;

	free(path);
	return r;
}

/* Makes sub/name a FIFO ('p'), a symbolic link to a message-like file
 * outside the queue ('l') or a directory ('d'). */
static void
make_node(struct queue *q, const char *sub, const char *name, char type)
{
	char *path = xasprintf("%s/%s/%s", q->dir, sub, name);
	char *target = xasprintf("%s/../outside", q->dir);
	int rc;

	unlink(path);
	if (type == 'p')
		rc = mkfifo(path, 0600);
	else if (type == 'l')
		rc = symlink(target, path);
	else
		rc = mkdir(path, 0700);
	if (rc < 0)
		bail("making %s: %s", path, strerror(errno));
	free(target);
	free(path);
}

static char *
read_file(struct queue *q, const char *sub, const char *name, size_t *len)
{
	char *path = xasprintf("%s/%s/%s", q->dir, sub, name);
	struct buf b;
	char block[4096];
	int fd = open(path, O_RDONLY);
	ssize_t r;

	if (fd < 0)
		bail("open %s: %s", path, strerror(errno));
	buf_init(&b, 0);
	while ((r = read(fd, block, sizeof block)) > 0)
		buf_append(&b, block, (size_t)r);
	close(fd);
	free(path);
	*len = b.len;
	return b.data;
}

static void
write_file(struct queue *q, const char *sub, const char *name, const char *data, size_t len)
{
	char *path = xasprintf("%s/%s/%s", q->dir, sub, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) < 0)
		bail("write %s: %s", path, strerror(errno));
	free(path);
}

/* A listing gathered from queue_list(), entry by entry, as the tests look
 * at it. */
struct listing {
	struct queue_entry entries[16];
	bool failed[16], damaged[16];
	size_t n;
};

static int
collect(void *ctx, struct queue_listed *it, struct error *e)
{
	struct listing *l = ctx;

	(void)e;
	if (l->n == sizeof l->entries / sizeof l->entries[0])
		bail("more than %zu entries listed", l->n);
	l->failed[l->n] = it->failed;
	l->damaged[l->n] = it->damaged;
	l->entries[l->n++] = *it->m;
	memset(it->m, 0, sizeof *it->m);
	it->m->fd = -1;
	return 0;
}

static int
list_all(struct queue *q, struct listing *l, struct error *e)
{
	l->n = 0;
	return queue_list(q, collect, l, e);
}

static void
listing_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		queue_entry_free(&l->entries[i]);
	l->n = 0;
}

static void
test_default_dir(void)
{
	static const struct {
		const char *xdg, *home, *expected; /* expected NULL: from the passwd entry */
	} cases[] = {
		{"/x/state", "/h", "/x/state/outbox/queue"},
		{"relative", "/h", "/h/.local/state/outbox/queue"},
		{NULL, "/h", "/h/.local/state/outbox/queue"},
		{NULL, NULL, NULL},
		{NULL, "", NULL},
	};
	struct passwd *pw = getpwuid(getuid());

	for (size_t i = 0; i < COUNT(cases); i++) {
		char *expected = cases[i].expected != NULL
					 ? xstrdup(cases[i].expected)
					 : xasprintf("%s/.local/state/outbox/queue", pw->pw_dir);
		char *dir;

		if (cases[i].xdg != NULL)
			setenv("XDG_STATE_HOME", cases[i].xdg, 1);
		else
			unsetenv("XDG_STATE_HOME");
		if (cases[i].home != NULL)
			setenv("HOME", cases[i].home, 1);
		else
			unsetenv("HOME");
		dir = queue_default_dir();
		is_string(expected, dir, "default dir, case %zu", i);
		free(dir);
		free(expected);
	}
}

static void
test_open(void)
{
	static const struct {
		const char *what;
		mode_t mode;
		uid_t owner; /* 0: ours */
		const char *expected;
	} refusals[] = {
		{"a 0777 directory", 0777, 0, "chmod 700"},
		{"a 0770 directory", 0770, 0, "writable by others"},
		{"a directory owned by uid 65534", 0700, 65534, "belongs to uid 65534"},
	};
	/* Another user who can add files to msg/ could have the owner's flush
	 * send them through the owner's account. */
	static const struct {
		const char *what, *sub;
		mode_t mode;
		uid_t owner;
		const char *expected;
	} sub_refusals[] = {
		{"msg/ 0777 in a 0700 queue", "msg", 0777, 0, "chmod 700"},
		{"state/ 0770", "state", 0770, 0, "writable by others"},
		{"tmp/ 0733", "tmp", 0733, 0, "chmod 700"},
		{"failed/ 0702", "failed", 0702, 0, "writable by others"},
		{"msg/ owned by uid 65534", "msg", 0700, 65534, "chown"},
	};
	char *dir = scratch();
	char *deep = xasprintf("%s/a/b/queue", dir);
	struct queue q;
	struct error e;
	struct stat st;

	ok(queue_open(&q, deep, &e) == 0, "queue_open creates the parent chain");
	for (size_t i = 0; i < 4; i++) {
		static const char *const subs[] = {"tmp", "msg", "state", "failed"};
		char *p = xasprintf("%s/%s", deep, subs[i]);

		ok(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700,
		   "%s is a 0700 directory", subs[i]);
		free(p);
	}
	ok(stat(deep, &st) == 0 && (st.st_mode & 0777) == 0700, "queue directory is 0700");
	queue_close(&q);
	ok(queue_open(&q, deep, &e) == 0, "queue_open again on an existing queue");
	queue_close(&q);

	for (size_t i = 0; i < COUNT(refusals); i++) {
		char *p = xasprintf("%s/refused%zu", dir, i);

		if (refusals[i].owner != 0 && geteuid() != 0) {
			skip("chown needs root");
			skip("chown needs root");
			free(p);
			continue;
		}
		if (mkdir(p, 0700) < 0 || chmod(p, refusals[i].mode) < 0 ||
		    (refusals[i].owner != 0 && chown(p, refusals[i].owner, (gid_t)-1) < 0))
			bail("preparing %s: %s", p, strerror(errno));
		error_clear(&e);
		is_int(-1, queue_open(&q, p, &e), "queue_open refuses %s", refusals[i].what);
		ok(e.status == ST_CANTCREAT && strstr(e.msg, refusals[i].expected) != NULL &&
			   strstr(e.msg, p) != NULL,
		   "ST_CANTCREAT naming it and the fix: %s", e.msg);
		free(p);
	}
	error_clear(&e);
	is_int(-1, queue_open(&q, NULL, &e), "queue_open without a directory");
	ok(e.status == ST_CANTCREAT && strstr(e.msg, "queue_dir") != NULL, "says: %s", e.msg);

	for (size_t i = 0; i < COUNT(sub_refusals); i++) {
		char *top = xasprintf("%s/subrefused%zu", dir, i);
		char *p = xasprintf("%s/%s", top, sub_refusals[i].sub);

		if (sub_refusals[i].owner != 0 && geteuid() != 0) {
			skip("chown needs root");
			skip("chown needs root");
			free(p);
			free(top);
			continue;
		}
		if (queue_open(&q, top, &e) < 0)
			bail("queue_open %s: %s", top, e.msg);
		queue_close(&q);
		if (chmod(p, sub_refusals[i].mode) < 0 ||
		    (sub_refusals[i].owner != 0 && chown(p, sub_refusals[i].owner, (gid_t)-1) < 0))
			bail("preparing %s: %s", p, strerror(errno));
		error_clear(&e);
		is_int(-1, queue_open(&q, top, &e), "queue_open refuses %s", sub_refusals[i].what);
		ok(e.status == ST_CANTCREAT && strstr(e.msg, sub_refusals[i].expected) != NULL &&
			   strstr(e.msg, p) != NULL,
		   "ST_CANTCREAT naming %s and the fix: %s", p, e.msg);
		free(p);
		free(top);
	}

	free(deep);
	deep = xasprintf("%s/filemsg", dir);
	mkdir(deep, 0700);
	free(deep);
	deep = xasprintf("%s/filemsg/msg", dir);
	close(open(deep, O_WRONLY | O_CREAT, 0600));
	deep[strlen(deep) - 4] = '\0';
	error_clear(&e);
	is_int(-1, queue_open(&q, deep, &e), "queue_open with a file where msg/ belongs");
	ok(e.status == ST_CANTCREAT && strstr(e.msg, "not a directory") != NULL, "says: %s", e.msg);
	free(deep);
	remove_tree(dir);
	free(dir);
}

static void
check_envelope(const struct queue_envelope *want, const struct queue_envelope *got,
	       const char *what)
{
	is_string(want->account, got->account, "%s: account", what);
	is_string(want->from, got->from, "%s: from", what);
	is_int((long)want->nrcpts, (long)got->nrcpts, "%s: recipient count", what);
	for (size_t i = 0; i < want->nrcpts && i < got->nrcpts; i++) {
		is_string(want->rcpts[i].addr, got->rcpts[i].addr, "%s: rcpt %zu", what, i);
		is_int(QRCPT_PENDING, got->rcpts[i].status, "%s: rcpt %zu pending", what, i);
	}
	is_string(want->dsn_notify, got->dsn_notify, "%s: dsn_notify", what);
	is_string(want->dsn_return, got->dsn_return, "%s: dsn_return", what);
	is_string(want->dsn_envid, got->dsn_envid, "%s: dsn_envid", what);
	is_int(want->eightbit, got->eightbit, "%s: eightbit", what);
	is_int(want->smtputf8, got->smtputf8, "%s: smtputf8", what);
	is_string(want->msgid, got->msgid, "%s: msgid", what);
	is_int((long)want->created, (long)got->created, "%s: created", what);
}

static void
check_data(const struct queue_entry *m, const char *what)
{
	char expected[sizeof headers + sizeof body], got[sizeof expected];
	ssize_t n;

	snprintf(expected, sizeof expected, "%s%s", headers, body);
	is_int((long)strlen(expected), (long)m->data_len, "%s: data length", what);
	n = pread(m->fd, got, sizeof got, m->data_offset);
	ok(n >= (ssize_t)strlen(expected), "%s: pread at data_offset", what);
	is_mem(expected, strlen(expected), got, strlen(expected), "%s: the exact bytes", what);
}

static void
test_round_trip(void)
{
	const struct queue_envelope minimal = {
		.account = (char[]){"a"},
		.from = (char[]){"sender@example.org"},
		.rcpts = three_rcpts,
		.nrcpts = 1,
		.created = 1,
	};
	const struct queue_envelope *cases[] = {&base_env, &minimal};
	char *dir = scratch();
	struct queue q;
	struct queue_entry m;
	struct error e;

	open_queue(&q, dir);
	for (size_t i = 0; i < COUNT(cases); i++) {
		char *id;

		if (commit(&q, cases[i], &m) < 0)
			bail("commit failed");
		ok(m.locked, "committed entry %zu is locked", i);
		check_envelope(cases[i], &m.env, "committed");
		check_data(&m, "committed");
		ok(exists(&q, "msg", m.id) && count_files(&q, "tmp") == 0, "in msg/, not in tmp/");
		ok(!exists(&q, "state", m.id), "a fresh message has no state file");
		id = xstrdup(m.id);
		queue_entry_free(&m);
		is_int(0, queue_load(&q, id, true, &m, &e), "queue_load %s", id);
		ok(m.locked, "loaded entry is locked");
		check_envelope(cases[i], &m.env, "loaded");
		check_data(&m, "loaded");
		ok(m.st.attempts == 0 && m.st.first_attempt == 0 && m.st.reason == NULL &&
			   !m.st.held,
		   "loaded entry has a fresh state");
		queue_entry_free(&m);
		free(id);
	}
	queue_close(&q);
	remove_tree(dir);
	free(dir);
}

static void
test_refused_envelopes(void)
{
	struct queue_rcpt bad_rcpt[] = {{.addr = (char[]){"a@b\r\nRCPT TO:<x@y>"}}};
	struct queue_rcpt empty_rcpt[] = {{.addr = (char[]){""}}};
	const struct queue_envelope cases[] = {
		{.from = (char[]){"a@b"}, .rcpts = bad_rcpt, .nrcpts = 1},
		{.from = (char[]){"a@b"}, .rcpts = empty_rcpt, .nrcpts = 1},
		{.from = NULL, .rcpts = three_rcpts, .nrcpts = 1},
		{.from = (char[]){"a@b"}, .rcpts = three_rcpts, .nrcpts = 0},
		{.from = (char[]){"a@b\n"}, .rcpts = three_rcpts, .nrcpts = 1},
		{.from = (char[]){"a@b"},
		 .rcpts = three_rcpts,
		 .nrcpts = 1,
		 .msgid = (char[]){"<x>\r\nBcc: y"}},
		{.from = (char[]){"a@b"},
		 .rcpts = three_rcpts,
		 .nrcpts = 1,
		 .account = (char[]){"a\nb"}},
		{.from = (char[]){"a@b"}, .rcpts = three_rcpts, .nrcpts = 1, .account = NULL},
		{.from = (char[]){"a b@c"},
		 .rcpts = three_rcpts,
		 .nrcpts = 1,
		 .account = (char[]){"a"}},
		{.from = (char[]){"a@b"},
		 .rcpts = three_rcpts,
		 .nrcpts = 1,
		 .account = (char[]){"a"},
		 .dsn_return = (char[]){"X"}},
	};
	char *dir = scratch();
	struct queue q;
	struct queue_entry m;
	struct error e;

	open_queue(&q, dir);
	for (size_t i = 0; i < COUNT(cases); i++) {
		int fd = body_file("", body, sizeof body - 1);

		error_clear(&e);
		is_int(-1, queue_commit(&q, &cases[i], headers, sizeof headers - 1, fd, 0, &m, &e),
		       "bad envelope %zu refused", i);
		is_int(ST_SOFTWARE, e.status, "as an internal error: %s", e.msg);
		close(fd);
	}
	ok(count_files(&q, "tmp") == 0 && count_files(&q, "msg") == 0, "nothing left behind");
	queue_close(&q);
	remove_tree(dir);
	free(dir);
}

static void
test_unique_ids(void)
{
	char *dir = scratch();
	struct queue q;
	struct queue_entry m;
	struct strlist ids, listed;
	struct queue_ids packed;
	char id[QUEUE_ID_LEN + 1];
	struct error e;
	size_t dups = 0, unsorted = 0;

	open_queue(&q, dir);
	strlist_init(&ids);
	strlist_init(&listed);
	for (int i = 0; i < 1000; i++) {
		if (commit(&q, &base_env, &m) < 0)
			bail("commit %d failed", i);
		strlist_add(&ids, m.id);
		queue_entry_free(&m);
	}
	is_int(0, queue_ids(&q, &packed, &e), "queue_ids");
	while (queue_ids_next(&packed, id, &e) == 1)
		strlist_add(&listed, id);
	queue_ids_free(&packed);
	is_int(1000, (long)listed.n, "1000 commits, 1000 files");
	for (size_t i = 1; i < listed.n; i++) {
		dups += strcmp(listed.v[i - 1], listed.v[i]) == 0;
		unsorted += strcmp(listed.v[i - 1], listed.v[i]) > 0;
	}
	is_int(0, (long)dups, "no two ids alike");
	is_int(0, (long)unsorted, "queue_ids sorted");
	is_string(ids.v[0], listed.v[0], "the first committed is listed first");
	is_string(ids.v[999], listed.v[999], "the last committed is listed last");
	ok(strspn(ids.v[0], "0123456789abcdef") == strlen(ids.v[0]) && strlen(ids.v[0]) == 23,
	   "ids are 23 hex digits: %s", ids.v[0]);
	strlist_free(&ids);
	strlist_free(&listed);
	queue_close(&q);
	remove_tree(dir);
	free(dir);
}

/* Exit status 0 when the child could lock msg/ID through queue_load. */
static int
child_load(struct queue *q, const char *id)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct queue_entry m;
		struct error e;
		int rc = queue_load(q, id, true, &m, &e);

		if (rc == 0)
			queue_entry_free(&m);
		_exit(rc == 0 ? 0 : rc == 1 ? 1 : 2);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		bail("child failed");
	return WEXITSTATUS(status);
}

static void
test_locks(void)
{
	char *dir = scratch();
	char *path;
	struct queue q;
	struct queue_entry m, other;
	struct error e;
	char *id;
	int fd;

	open_queue(&q, dir);
	if (commit(&q, &base_env, &m) < 0)
		bail("commit failed");
	id = xstrdup(m.id);
	path = xasprintf("%s/msg/%s", q.dir, id);
	fd = open(path, O_RDONLY);
	ok(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK,
	   "a committed message stays locked");
	close(fd);
	is_int(1, queue_load(&q, id, true, &other, &e), "queue_load(lock) of a locked message");
	is_int(1, child_load(&q, id), "another process cannot load it either");
	is_int(0, queue_load(&q, id, false, &other, &e), "queue_load without lock reads it");
	ok(!other.locked, "and does not lock it");
	queue_entry_free(&other);
	queue_entry_free(&m);
	is_int(0, child_load(&q, id), "after release another process can");
	is_int(0, queue_load(&q, id, true, &m, &e), "queue_load(lock) after release");
	is_int(1, child_load(&q, id), "and then holds it against others");
	is_int(0, queue_remove(&q, &m, &e), "queue_remove");
	queue_entry_free(&m);
	is_int(1, queue_load(&q, id, true, &m, &e), "a removed message is not loaded");
	error_clear(&e);
	is_int(-1, queue_load(&q, "../../etc/passwd", true, &m, &e), "a bad id is refused");
	is_int(ST_USAGE, e.status, "as a usage error: %s", e.msg);
	free(path);
	free(id);
	queue_close(&q);
	remove_tree(dir);
	free(dir);
}

static void
test_state(void)
{
	char *dir = scratch();
	char long_reply[1500];
	struct queue q;
	struct queue_entry m;
	struct error e;
	char *id;

	memset(long_reply, 'x', sizeof long_reply - 1);
	long_reply[sizeof long_reply - 1] = '\0';
	open_queue(&q, dir);
	if (commit(&q, &base_env, &m) < 0)
		bail("commit failed");
	id = xstrdup(m.id);
	m.st.attempts = 3;
	m.st.first_attempt = 100;
	m.st.first_contact = 200;
	m.st.last_attempt = 300;
	m.st.next_attempt = 400;
	m.st.held = true;
	m.st.uncertain = true;
	m.st.reason = xstrdup("no route to host");
	m.st.last_reply = xstrdup("451 4.7.0 try\r\nagain later");
	m.env.rcpts[0].status = QRCPT_DELIVERED;
	m.env.rcpts[0].reply = xstrdup("250 2.0.0 Ok: queued as ABC");
	m.env.rcpts[1].status = QRCPT_FAILED;
	m.env.rcpts[1].reply = xstrdup(long_reply);
	is_int(0, queue_save_state(&q, &m, &e), "queue_save_state");
	ok(exists(&q, "state", id) && count_files(&q, "state") == 1, "state/ID, no tmp left");
	queue_entry_free(&m);

	is_int(0, queue_load(&q, id, true, &m, &e), "load with state");
	is_int(3, (long)m.st.attempts, "attempts");
	is_int(100, (long)m.st.first_attempt, "first_attempt");
	is_int(200, (long)m.st.first_contact, "first_contact");
	is_int(300, (long)m.st.last_attempt, "last_attempt");
	is_int(400, (long)m.st.next_attempt, "next_attempt");
	ok(m.st.held && m.st.uncertain, "held, uncertain");
	is_string("no route to host", m.st.reason, "reason");
	is_string("451 4.7.0 try  again later", m.st.last_reply, "last reply on one line");
	is_int(QRCPT_DELIVERED, m.env.rcpts[0].status, "rcpt 0 delivered");
	is_string("250 2.0.0 Ok: queued as ABC", m.env.rcpts[0].reply, "rcpt 0 reply");
	is_int(QRCPT_FAILED, m.env.rcpts[1].status, "rcpt 1 failed");
	is_int(1000, m.env.rcpts[1].reply != NULL ? (long)strlen(m.env.rcpts[1].reply) : -1,
	       "a long reply is cut at 1000 bytes");
	is_int(QRCPT_PENDING, m.env.rcpts[2].status, "rcpt 2 pending");
	ok(m.env.rcpts[2].reply == NULL, "rcpt 2 has no reply");

	m.locked = false;
	error_clear(&e);
	is_int(-1, queue_save_state(&q, &m, &e), "saving without the lock is refused");
	is_int(ST_SOFTWARE, e.status, "as an internal error");
	queue_entry_free(&m);

	/* A state file of a newer outbox: unknown keys are ignored. */
	write_file(&q, "state", id, "outbox-state 1\nattempts 7\nfuture-key x y\n", 41);
	is_int(0, queue_load(&q, id, false, &m, &e), "unknown state keys are ignored");
	is_int(7, (long)m.st.attempts, "known ones are read");
	queue_entry_free(&m);

	write_file(&q, "state", id, "", 0);
	is_int(0, queue_load(&q, id, false, &m, &e), "an empty state file");
	is_int(0, (long)m.st.attempts, "is a fresh state");
	queue_entry_free(&m);

	free(id);
	queue_close(&q);
	remove_tree(dir);
	free(dir);
}

/* Damage done to a committed message file (or its state). */
enum damage { TRUNCATE, FLIP_DATA, NO_TRAILER, BAD_ENVELOPE, LONGER, BAD_STATE, EMPTY };

static void
damage(struct queue *q, const char *id, enum damage how)
{
	size_t len;
	char *data = read_file(q, "msg", id, &len);
	char *trailer = strstr(data, "outbox-trailer ");
	struct buf b;
	unsigned char digest[32];
	char hex[65];
	const char *envelope = "outbox-queue 1\nfrom\nrcpt a@b\ncreated x\n\n";

	buf_init(&b, 0);
	switch (how) {
	case TRUNCATE:
		buf_append(&b, data, len - 1);
		break;
	case FLIP_DATA:
		data[len - 100] ^= 1;
		buf_append(&b, data, len);
		break;
	case NO_TRAILER:
		buf_append(&b, data, (size_t)(trailer - data));
		break;
	case BAD_ENVELOPE:
	case LONGER:
		buf_puts(&b, how == BAD_ENVELOPE ? envelope
						 : "outbox-queue 1\nfrom\nrcpt a@b\n"
						   "created 5\n\nxyz");
		crypto_hash(CRYPTO_SHA256, b.data, b.len, digest);
		for (size_t i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", digest[i]);
		buf_printf(&b, "outbox-trailer %d %s\n", how == LONGER ? 4 : 0, hex);
		break;
	case BAD_STATE:
		write_file(q, "state", id, "outbox-state 1\nrcpt 9 delivered\n", 32);
		buf_append(&b, data, len);
		break;
	case EMPTY:
		break;
	}
	write_file(q, "msg", id, b.data, b.len);
	buf_free(&b);
	free(data);
}

static void
test_damaged(void)
{
	static const struct {
		enum damage how;
		const char *name;
		const char *why;
	} cases[] = {
		{TRUNCATE, "truncated by one byte", "no trailer"},
		{FLIP_DATA, "a flipped bit in the data", "checksum"},
		{NO_TRAILER, "no trailer", "no trailer"},
		{BAD_ENVELOPE, "a garbage envelope with a good trailer", "bad value"},
		{LONGER, "a length that does not match", "length"},
		{BAD_STATE, "a damaged state file", "bad value"},
		{EMPTY, "an empty file", "no trailer"},
	};
	char *dir = scratch();
	struct queue q;
	struct queue_entry m;
	struct listing l;
	struct error e;

	open_queue(&q, dir);
	for (size_t i = 0; i < COUNT(cases); i++) {
		char *id, *state_name, *state;
		size_t len;

		if (commit(&q, &base_env, &m) < 0)
			bail("commit failed");
		id = xstrdup(m.id);
		queue_entry_free(&m);
		damage(&q, id, cases[i].how);

		is_int(0, list_all(&q, &l, &e), "%s: queue_list", cases[i].name);
		ok(l.n == i + 1 && l.damaged[0] && !l.failed[0] &&
			   strstr(l.entries[0].st.reason, cases[i].why) != NULL,
		   "%s: listed as damaged in msg/, not moved", cases[i].name);
		listing_free(&l);

		error_clear(&e);
		is_int(-1, queue_load(&q, id, true, &m, &e), "%s: not loaded", cases[i].name);
		ok(e.status == ST_DATAERR && strstr(e.msg, cases[i].why) != NULL &&
			   strstr(e.msg, "moved to") != NULL && strstr(e.msg, id) != NULL,
		   "%s: ST_DATAERR: %s", cases[i].name, e.msg);
		ok(!exists(&q, "msg", id) && exists(&q, "failed", id) && !exists(&q, "state", id),
		   "%s: moved to failed/", cases[i].name);
		state_name = xasprintf("%s.state", id);
		state = read_file(&q, "failed", state_name, &len);
		ok(strstr(state, "\nreason-code damaged\nreason damaged: ") != NULL,
		   "%s: reason recorded: its code and detail", cases[i].name);
		is_int(1, queue_load(&q, id, true, &m, &e), "%s: gone from msg/", cases[i].name);
		free(state);
		free(state_name);
		free(id);
	}
	is_int(0, list_all(&q, &l, &e), "queue_list after");
	is_int(COUNT(cases), (long)l.n, "every damaged file is listed");
	for (size_t i = 0; i < l.n; i++)
		ok(l.failed[i] && l.entries[i].fd == -1 &&
			   (l.damaged[i] || l.entries[i].st.code == REASON_DAMAGED),
		   "entry %zu: in failed/, damaged or with the reason", i);
	listing_free(&l);
	queue_close(&q);
	remove_tree(dir);
	free(dir);
}

/* Writes msg/ID: envelope, an empty line, a small message and a trailer
 * that matches, as an editor that recomputes the trailer would. */
static void
craft(struct queue *q, const char *id, const char *envelope, size_t envelope_len)
{
	static const char data[] = "Subject: crafted\r\n\r\nhi\r\n";
	unsigned char digest[32];
	struct buf b;

	buf_init(&b, 0);
	buf_append(&b, envelope, envelope_len);
	buf_puts(&b, "\n");
	buf_puts(&b, data);
	crypto_hash(CRYPTO_SHA256, b.data, b.len, digest);
	buf_printf(&b, "outbox-trailer %zu ", sizeof data - 1);
	for (size_t i = 0; i < 32; i++)
		buf_printf(&b, "%02x", digest[i]);
	buf_puts(&b, "\n");
	write_file(q, "msg", id, b.data, b.len);
	buf_free(&b);
}

#define GOOD_ENV "outbox-queue 1\naccount work\nfrom a@example.org\nrcpt b@example.org\n"
#define FLAGS "eightbit 0\nsmtputf8 0\ncreated 1700000000\n"

/* Envelopes with a valid trailer: each is checked as if it came from the
 * command line, and a bad one is set aside, never sent. */
static void
test_hostile_envelopes(void)
{
	static const struct {
		const char *name;
		const char *envelope; /* NULL why: it loads */
		size_t len;           /* 0: strlen */
		const char *why;
	} cases[] = {
		{"a good envelope", GOOD_ENV FLAGS, 0, NULL},
		{"a bracketed recipient", GOOD_ENV "rcpt <c@example.org>\n" FLAGS, 0, NULL},
		{"the null sender", "outbox-queue 1\naccount w\nfrom\nrcpt b@x\n" FLAGS, 0, NULL},
		{"DSN values",
		 GOOD_ENV "dsn-notify SUCCESS,DELAY\ndsn-return HDRS\n"
			  "dsn-envid a b\n" FLAGS,
		 0, NULL},
		{"no account", "outbox-queue 1\nfrom a@x\nrcpt b@x\n" FLAGS, 0, "no valid account"},
		{"an empty account", "outbox-queue 1\naccount\nfrom a@x\nrcpt b@x\n" FLAGS, 0,
		 "no valid account"},
		{"an account with a space",
		 "outbox-queue 1\naccount a b\nfrom a@x\nrcpt b@x\n" FLAGS, 0, "no valid account"},
		{"no from", "outbox-queue 1\naccount w\nrcpt b@x\n" FLAGS, 0, "no valid sender"},
		{"no rcpt", "outbox-queue 1\naccount w\nfrom a@x\n" FLAGS, 0, "no recipient"},
		{"an empty rcpt", GOOD_ENV "rcpt\n" FLAGS, 0, "bad value"},
		{"no created", GOOD_ENV "eightbit 0\nsmtputf8 0\n", 0, "required key"},
		{"no eightbit", GOOD_ENV "smtputf8 0\ncreated 1\n", 0, "required key"},
		{"a CR in rcpt", GOOD_ENV "rcpt c@x\r\n" FLAGS, 0, "recipient"},
		{"a CR in from", "outbox-queue 1\naccount w\nfrom a@x\rRSET\nrcpt b@x\n" FLAGS, 0,
		 "sender"},
		{"a LF in rcpt (a second line)", GOOD_ENV "rcpt c@x\nRCPT TO:<d@x>\n" FLAGS, 0,
		 "unknown key"},
		{"a NUL in rcpt", GOOD_ENV "rcpt c@x\0d@y\n" FLAGS,
		 sizeof(GOOD_ENV "rcpt c@x\0d@y\n" FLAGS) - 1, "NUL"},
		{"a space in rcpt", GOOD_ENV "rcpt c@x d@y\n" FLAGS, 0, "recipient"},
		{"a tab in rcpt", GOOD_ENV "rcpt c@x\td@y\n" FLAGS, 0, "recipient"},
		{"'>' in rcpt", GOOD_ENV "rcpt c@x>\n" FLAGS, 0, "recipient"},
		{"'>' and a parameter in rcpt", GOOD_ENV "rcpt c@x> NOTIFY=NEVER\n" FLAGS, 0,
		 "recipient"},
		{"a parameter in from",
		 "outbox-queue 1\naccount w\nfrom a@x SIZE=1\nrcpt b@x\n" FLAGS, 0, "sender"},
		{"'<' inside rcpt", GOOD_ENV "rcpt c<@x\n" FLAGS, 0, "recipient"},
		{"a bad dsn-notify", GOOD_ENV "dsn-notify NEVER,SUCCESS\n" FLAGS, 0, "DSN"},
		{"a repeated dsn-notify word", GOOD_ENV "dsn-notify DELAY,DELAY\n" FLAGS, 0, "DSN"},
		{"a bad dsn-return", GOOD_ENV "dsn-return ALL\n" FLAGS, 0, "DSN"},
		{"a control byte in dsn-envid", GOOD_ENV "dsn-envid a\x01\n" FLAGS, 0, "DSN"},
		{"an unknown key", GOOD_ENV "notify-also x@y\n" FLAGS, 0, "unknown key"},
		{"a repeated account", GOOD_ENV "account other\n" FLAGS, 0, "repeated key"},
		{"a repeated from", GOOD_ENV "from c@x\n" FLAGS, 0, "repeated key"},
		{"a garbage created", GOOD_ENV "eightbit 0\nsmtputf8 0\ncreated 12ab\n", 0,
		 "bad value"},
		{"a negative created", GOOD_ENV "eightbit 0\nsmtputf8 0\ncreated -1\n", 0,
		 "bad value"},
		{"a bad boolean", GOOD_ENV "eightbit 2\nsmtputf8 0\ncreated 1\n", 0, "bad value"},
	};
	char *dir = scratch();
	struct queue q;
	struct queue_entry m;
	struct error e;

	open_queue(&q, dir);
	for (size_t i = 0; i < COUNT(cases); i++) {
		char id[24];

		snprintf(id, sizeof id, "%023zx", i + 1);
		craft(&q, id, cases[i].envelope,
		      cases[i].len ? cases[i].len : strlen(cases[i].envelope));
		error_clear(&e);
		if (cases[i].why == NULL) {
			is_int(0, queue_load(&q, id, true, &m, &e), "%s: loads", cases[i].name);
			queue_entry_free(&m);
			continue;
		}
		is_int(-1, queue_load(&q, id, true, &m, &e), "%s: not loaded", cases[i].name);
		ok(e.status == ST_DATAERR && strstr(e.msg, cases[i].why) != NULL &&
			   strstr(e.msg, id) != NULL,
		   "%s: ST_DATAERR: %s", cases[i].name, e.msg);
		ok(!exists(&q, "msg", id) && exists(&q, "failed", id), "%s: moved to failed/",
		   cases[i].name);
	}
	queue_close(&q);
	remove_tree(dir);
	free(dir);
}

/* State files with garbage in their numbers, flags or recipient lines. */
static void
test_hostile_states(void)
{
	static const struct {
		const char *name, *state;
	} cases[] = {
		{"a negative count", "attempts -1\n"},
		{"a count with junk", "attempts 1x\n"},
		{"a count past UINT_MAX", "attempts 4294967296\n"},
		{"a huge number", "next-attempt 99999999999999999999999\n"},
		{"a hex time", "first-contact 0x10\n"},
		{"an empty time", "last-attempt\n"},
		{"a bad flag", "held yes\n"},
		{"a repeated key", "attempts 1\nattempts 2\n"},
		{"a recipient out of range", "rcpt 1 delivered\n"},
		{"a negative recipient", "rcpt -1 delivered\n"},
		{"an unknown status", "rcpt 0 maybe\n"},
		{"a NUL", "attempts 1\0\n"},
		{"no version", ""},
	};
	char *dir = scratch();
	struct queue q;
	struct queue_entry m;
	struct error e;

	open_queue(&q, dir);
	for (size_t i = 0; i < COUNT(cases); i++) {
		char id[24];
		struct buf b;

		snprintf(id, sizeof id, "%023zx", i + 1);
		craft(&q, id, GOOD_ENV FLAGS, strlen(GOOD_ENV FLAGS));
		buf_init(&b, 0);
		if (*cases[i].state != '\0')
			buf_puts(&b, "outbox-state 1\n");
		buf_append(&b, cases[i].state,
			   strlen(cases[i].state) + (strstr(cases[i].name, "NUL") ? 2 : 0));
		if (*cases[i].state == '\0')
			buf_puts(&b, "attempts 1\n");
		write_file(&q, "state", id, b.data, b.len);
		buf_free(&b);
		error_clear(&e);
		is_int(-1, queue_load(&q, id, true, &m, &e), "state with %s: not loaded",
		       cases[i].name);
		ok(e.status == ST_DATAERR && exists(&q, "failed", id) && !exists(&q, "msg", id),
		   "state with %s: set aside: %s", cases[i].name, e.msg);
	}
	queue_close(&q);
	remove_tree(dir);
	free(dir);
}

/* Queue entries that are not regular files of the user's: never opened
 * when they could block, listed as damaged, moved aside by a load. */
static void
test_unsafe_entries(void)
{
	static const struct {
		const char *name;
		char type; /* make_node(), or 'o': a message owned by uid 65534 */
		const char *suffix;
	} cases[] = {
		{"a FIFO", 'p', "fifo"},
		{"a symbolic link to a message", 'l', "symlink"},
		{"a directory", 'd', "directory"},
		{"a message owned by another user", 'o', "not-yours"},
	};
	char *dir = scratch();
	char *outside = xasprintf("%s/outside", dir);
	struct queue q;
	struct queue_entry m;
	struct listing l;
	struct error e;
	char *good, *crafted, *moved_to;

	open_queue(&q, dir);
	if (commit(&q, &base_env, &m) < 0)
		bail("commit failed");
	good = xstrdup(m.id);
	queue_entry_free(&m);
	/* The symbolic link's target: a good message outside the queue. */
	craft(&q, "00000000000000000000000", GOOD_ENV FLAGS, strlen(GOOD_ENV FLAGS));
	crafted = xasprintf("%s/msg/00000000000000000000000", q.dir);
	if (rename(crafted, outside) < 0)
		bail("rename: %s", strerror(errno));
	free(crafted);
	for (size_t i = 0; i < COUNT(cases); i++) {
		char id[24], *moved;

		snprintf(id, sizeof id, "%023zx", i + 1);
		if (cases[i].type == 'o' && geteuid() != 0) {
			skip("chown needs root");
			skip("chown needs root");
			skip("chown needs root");
			continue;
		}
		if (cases[i].type == 'o') {
			char *path = xasprintf("%s/msg/%s", q.dir, id);

			craft(&q, id, GOOD_ENV FLAGS, strlen(GOOD_ENV FLAGS));
			if (chown(path, 65534, (gid_t)-1) < 0)
				bail("chown %s: %s", path, strerror(errno));
			free(path);
		} else {
			make_node(&q, "msg", id, cases[i].type);
		}
		is_int(0, list_all(&q, &l, &e), "%s in msg/: the listing finishes", cases[i].name);
		ok(l.n == 2 && l.damaged[0] && strcmp(l.entries[0].id, id) == 0 && !l.damaged[1] &&
			   strcmp(l.entries[1].id, good) == 0,
		   "%s: listed as damaged, the good message too", cases[i].name);
		listing_free(&l);
		error_clear(&e);
		is_int(-1, queue_load(&q, id, true, &m, &e), "%s: not loaded", cases[i].name);
		moved = xasprintf("%s.unsafe-%s", id, cases[i].suffix);
		ok(e.status == ST_DATAERR && strstr(e.msg, "not a queue file of yours") != NULL &&
			   strstr(e.msg, moved) != NULL,
		   "%s: ST_DATAERR: %s", cases[i].name, e.msg);
		ok(lexists(&q, "failed", moved) && !lexists(&q, "msg", id),
		   "%s: moved to failed/%s", cases[i].name, moved);
		free(moved);
	}
	is_int(0, queue_load(&q, good, true, &m, &e), "the good message still loads");
	queue_entry_free(&m);

	/* In failed/ too: listed, and the listing finishes. */
	make_node(&q, "failed", "fffffffffffffffffffffff", 'p');
	is_int(0, list_all(&q, &l, &e), "a FIFO in failed/: the listing finishes");
	ok(l.n == 2 && l.damaged[1] && l.failed[1], "listed as damaged in failed/");
	listing_free(&l);
	craft(&q, "eeeeeeeeeeeeeeeeeeeeeee", GOOD_ENV FLAGS, strlen(GOOD_ENV FLAGS));
	crafted = xasprintf("%s/msg/eeeeeeeeeeeeeeeeeeeeeee", q.dir);
	moved_to = xasprintf("%s/failed/eeeeeeeeeeeeeeeeeeeeeee", q.dir);
	if (rename(crafted, moved_to) < 0)
		bail("rename: %s", strerror(errno));
	make_node(&q, "failed", "eeeeeeeeeeeeeeeeeeeeeee.state", 'p');
	is_int(0, list_all(&q, &l, &e), "a FIFO as failed/ID.state: the listing finishes");
	ok(l.n == 3 && l.failed[1] && l.damaged[1] &&
		   strstr(l.entries[1].st.reason, "FIFO") != NULL,
	   "its message is listed as damaged: %s", l.n == 3 ? l.entries[1].st.reason : "");
	listing_free(&l);
	free(crafted);
	free(moved_to);
	free(good);
	free(outside);
	queue_close(&q);
	remove_tree(dir);
	free(dir);
}

/* state/ID that is not a regular file of the user's: the message is kept
 * and frozen (what the real state said is unknown), the entry moved. */
static void
test_unsafe_state(void)
{
	static const struct {
		const char *name;
		char type;
		const char *suffix;
	} cases[] = {
		{"a symbolic link", 'l', "symlink"},
		{"a FIFO", 'p', "fifo"},
		{"a directory", 'd', "directory"},
	};
	char *dir = scratch();
	struct queue q;
	struct queue_entry m;
	struct listing l;
	struct error e;

	open_queue(&q, dir);
	for (size_t i = 0; i < COUNT(cases); i++) {
		char *id, *moved;

		if (commit(&q, &base_env, &m) < 0)
			bail("commit failed");
		id = xstrdup(m.id);
		queue_entry_free(&m);
		make_node(&q, "state", id, cases[i].type);

		is_int(0, list_all(&q, &l, &e), "state %s: the listing finishes", cases[i].name);
		ok(l.n == 1 && !l.damaged[0] && l.entries[0].st.frozen &&
			   strstr(l.entries[0].st.reason, "--release") != NULL,
		   "state %s: listed as held, saying what to do", cases[i].name);
		listing_free(&l);

		error_clear(&e);
		is_int(-1, queue_load(&q, id, true, &m, &e), "state %s: reported", cases[i].name);
		moved = xasprintf("%s.unsafe-%s", id, cases[i].suffix);
		ok(e.status == ST_DATAERR && strstr(e.msg, moved) != NULL &&
			   strstr(e.msg, "--release") != NULL,
		   "state %s: ST_DATAERR: %s", cases[i].name, e.msg);
		ok(lexists(&q, "failed", moved) && exists(&q, "msg", id),
		   "state %s: the entry moved aside, the message kept", cases[i].name);
		is_int(0, queue_load(&q, id, true, &m, &e), "state %s: loads afterwards",
		       cases[i].name);
		ok(m.st.frozen && m.st.attempts == 0, "state %s: frozen until --release",
		   cases[i].name);
		queue_remove(&q, &m, &e);
		queue_entry_free(&m);
		free(moved);
		free(id);
	}
	queue_close(&q);
	remove_tree(dir);
	free(dir);
}

static void
test_remove_and_set_aside(void)
{
	char *dir = scratch();
	struct queue q;
	struct queue_entry m, kept;
	struct listing l;
	struct error e;
	char *id;

	open_queue(&q, dir);
	if (commit(&q, &base_env, &m) < 0)
		bail("commit failed");
	m.st.attempts = 1;
	is_int(0, queue_save_state(&q, &m, &e), "save before remove");
	is_int(0, queue_remove(&q, &m, &e), "queue_remove");
	ok(!exists(&q, "msg", m.id) && !exists(&q, "state", m.id), "msg/ and state/ files gone");
	m.locked = false;
	error_clear(&e);
	is_int(-1, queue_remove(&q, &m, &e), "queue_remove without the lock is refused");
	queue_entry_free(&m);

	if (commit(&q, &base_env, &kept) < 0 || commit(&q, &base_env, &m) < 0)
		bail("commit failed");
	m.env.rcpts[0].status = QRCPT_DELIVERED;
	m.st.held = true;
	is_int(0, queue_save_state(&q, &m, &e), "save before set-aside");
	id = xstrdup(m.id);
	is_int(0, queue_set_aside(&q, &m, "554 5.7.1 rejected: spam", &e), "queue_set_aside");
	queue_entry_free(&m);
	ok(!exists(&q, "msg", id) && !exists(&q, "state", id) && exists(&q, "failed", id),
	   "moved to failed/");
	is_int(0, list_all(&q, &l, &e), "queue_list");
	is_int(2, (long)l.n, "two entries");
	ok(l.n == 2 && !l.failed[0] && !l.damaged[0] && l.failed[1] && !l.damaged[1],
	   "one in msg/, one in failed/, in that order");
	if (l.n == 2) {
		is_string(kept.id, l.entries[0].id, "the queued one");
		is_string(id, l.entries[1].id, "the failed one");
		is_string("554 5.7.1 rejected: spam", l.entries[1].st.reason, "with its reason");
		ok(!l.entries[1].st.held, "no longer held");
		is_int(QRCPT_DELIVERED, l.entries[1].env.rcpts[0].status, "recipient status kept");
		check_envelope(&base_env, &l.entries[0].env, "listed");
	}
	listing_free(&l);
	queue_entry_free(&kept);
	free(id);
	queue_close(&q);
	remove_tree(dir);
	free(dir);
}

static void
test_sweep(void)
{
	char *dir = scratch();
	char *path;
	struct queue q;
	struct queue_entry m;
	int to_child[2], from_child[2];
	struct strlist notes;
	char c;
	pid_t pid;

	strlist_init(&notes);
	open_queue(&q, dir);
	if (commit(&q, &base_env, &m) < 0)
		bail("commit failed");
	make_node(&q, "tmp", "a-fifo", 'p');
	make_node(&q, "tmp", "a-link", 'l');
	make_node(&q, "state", "00000000000000000000002", 'd');
	write_file(&q, "tmp", "dead-writer", "x", 1);
	write_file(&q, "tmp", "live-writer", "x", 1);
	write_file(&q, "state", "00000000000000000000000", "x", 1);
	write_file(&q, "state", ".00000000000000000000001.tmp", "x", 1);
	write_file(&q, "state", m.id, "outbox-state 1\n", 15);
	path = xasprintf("%s/tmp/live-writer", q.dir);
	if (pipe(to_child) < 0 || pipe(from_child) < 0)
		bail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_RDONLY);

		flock(fd, LOCK_EX);
		if (write(from_child[1], "l", 1) != 1 || read(to_child[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	if (pid < 0 || read(from_child[0], &c, 1) != 1)
		bail("child failed");
	queue_sweep(&q, &notes);
	ok(!exists(&q, "tmp", "dead-writer"), "an unlocked tmp/ file is swept");
	ok(exists(&q, "tmp", "live-writer"), "a locked one is kept");
	ok(!exists(&q, "state", "00000000000000000000000") &&
		   !exists(&q, "state", ".00000000000000000000001.tmp"),
	   "state/ files without a message are swept");
	ok(exists(&q, "state", m.id), "the state of a queued message is kept");
	ok(exists(&q, "msg", m.id), "the message is kept");
	ok(exists(&q, "failed", "a-fifo.unsafe-fifo") && !exists(&q, "tmp", "a-fifo"),
	   "a FIFO in tmp/ is moved to failed/NAME.unsafe-fifo");
	ok(lexists(&q, "failed", "a-link.unsafe-symlink") && !lexists(&q, "tmp", "a-link"),
	   "a symbolic link in tmp/ is moved to failed/NAME.unsafe-symlink");
	ok(exists(&q, "failed", "00000000000000000000002.unsafe-directory") &&
		   !exists(&q, "state", "00000000000000000000002"),
	   "a directory in state/ without a message is moved aside");
	is_int(3, (long)notes.n, "each is reported");
	ok(notes.n > 0 && strstr(notes.v[0], "not a queue file of yours") != NULL, "as: %s",
	   notes.n > 0 ? notes.v[0] : "nothing");
	if (write(to_child[1], "x", 1) != 1 || waitpid(pid, NULL, 0) < 0)
		bail("child failed");
	queue_sweep(&q, &notes);
	ok(!exists(&q, "tmp", "live-writer"), "swept once its writer is gone");
	strlist_free(&notes);
	close(to_child[0]);
	close(to_child[1]);
	close(from_child[0]);
	close(from_child[1]);
	free(path);
	queue_entry_free(&m);
	queue_close(&q);
	remove_tree(dir);
	free(dir);
}

static bool
later(struct timespec a, struct timespec b)
{
	return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

static void
test_trigger_and_flusher_lock(void)
{
	char *dir = scratch();
	char *path;
	struct queue q, other;
	struct error e;
	struct timespec t0, t1, t2, future[2];
	int fd;

	open_queue(&q, dir);
	t0 = queue_trigger_time(&q);
	ok(t0.tv_sec == 0 && t0.tv_nsec == 0, "no trigger yet");
	queue_poke(&q);
	t1 = queue_trigger_time(&q);
	ok(t1.tv_sec > 0, "poke creates the trigger");
	queue_poke(&q);
	t2 = queue_trigger_time(&q);
	ok(later(t2, t1), "every poke moves the mtime");
	path = xasprintf("%s/trigger", q.dir);
	fd = open(path, O_WRONLY);
	clock_gettime(CLOCK_REALTIME, &future[0]);
	future[0].tv_sec += 100;
	future[1] = future[0];
	futimens(fd, future);
	close(fd);
	queue_poke(&q);
	t1 = queue_trigger_time(&q);
	ok(later(t1, future[0]) && t1.tv_sec == future[0].tv_sec,
	   "a poke moves an mtime in the future by a nanosecond");
	free(path);
	t0 = queue_again_time(&q);
	ok(t0.tv_sec == 0 && t0.tv_nsec == 0, "no again file yet");
	t1 = queue_trigger_time(&q);
	queue_ask_again(&q);
	ok(queue_again_time(&q).tv_sec > 0, "asking again creates the again file");
	t2 = queue_trigger_time(&q);
	ok(!later(t2, t1) && !later(t1, t2), "asking again leaves the trigger alone");

	open_queue(&other, dir);
	is_int(0, queue_lock_flusher(&q, &e), "queue_lock_flusher");
	is_int(0, queue_lock_flusher(&q, &e), "again in the same queue");
	is_int(1, queue_lock_flusher(&other, &e), "another flusher is refused");
	queue_close(&q);
	is_int(0, queue_lock_flusher(&other, &e), "until the first one closes");
	queue_close(&other);
	remove_tree(dir);
	free(dir);
}

/* The queue marker: made by a commit, removed on request; a directory
 * that does not exist, or a name another user took, is no error. */
static void
test_marker(void)
{
	char *dir = scratch();
	char *markers = xasprintf("%s/markers", dir);
	char *mine = xasprintf("%s/%lu", markers, (unsigned long)geteuid());
	struct queue q;
	struct queue_entry m;
	struct stat st;

	open_queue(&q, dir);
	ok(strcmp(q.marker_dir, RUNSTATEDIR "/outbox") == 0, "markers live in RUNSTATEDIR/outbox");
	q.marker_dir = markers;
	if (commit(&q, &base_env, &m) < 0)
		bail("commit failed");
	queue_entry_free(&m);
	ok(lstat(mine, &st) < 0 && errno == ENOENT, "no marker directory: no marker, no error");
	if (mkdir(markers, 0700) < 0)
		bail("mkdir %s: %s", markers, strerror(errno));
	if (commit(&q, &base_env, &m) < 0)
		bail("commit failed");
	queue_entry_free(&m);
	ok(lstat(mine, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		   st.st_size == 0,
	   "a commit makes the marker: an empty file named after the UID");
	queue_mark(&q, true);
	ok(lstat(mine, &st) == 0, "marking twice keeps it");
	queue_mark(&q, false);
	ok(lstat(mine, &st) < 0 && errno == ENOENT, "unmarking removes it");
	if (symlink("elsewhere", mine) < 0)
		bail("symlink %s: %s", mine, strerror(errno));
	queue_mark(&q, true);
	ok(lstat(mine, &st) == 0 && S_ISLNK(st.st_mode), "a link under the name is not followed");
	queue_close(&q);
	remove_tree(dir);
	free(mine);
	free(markers);
	free(dir);
}

/* Child of test_disk_full, inside a user + mount namespace with a 64 KiB
 * tmpfs on dir: a 1 MiB message must fail cleanly and leave nothing. */
static int
enospc_child(const char *dir)
{
	struct queue q;
	struct queue_entry m;
	struct error e;
	size_t big = 1024 * 1024;
	char *data = xmalloc(big);
	char *qdir = xasprintf("%s/queue", dir);
	int fd, rc;

	memset(data, 'a', big);
	fd = body_file("", data, big);
	free(data);
	if (queue_open(&q, qdir, &e) < 0) {
		fprintf(stderr, "# queue_open: %s\n", e.msg);
		return 1;
	}
	rc = queue_commit(&q, &base_env, headers, sizeof headers - 1, fd, 0, &m, &e);
	close(fd);
	if (rc != -1 || e.status != ST_LOCAL_TEMP || strstr(e.msg, "full") == NULL) {
		fprintf(stderr, "# commit of 1 MiB: rc %d, %s\n", rc, rc < 0 ? e.msg : "");
		return 2;
	}
	fprintf(stderr, "# %s\n", e.msg);
	if (count_files(&q, "msg") != 0 || count_files(&q, "tmp") != 0) {
		fprintf(stderr, "# files left behind\n");
		return 3;
	}
	/* The space of the failed commit is free again. */
	if (commit(&q, &base_env, &m) < 0)
		return 4;
	queue_entry_free(&m);
	queue_close(&q);
	free(qdir);
	return 0;
}

static void
test_disk_full(const char *dir)
{
	char *mnt = xasprintf("%s/mnt", dir);
	char *cmd = xasprintf("unshare -rm sh -c 'mount -t tmpfs -o size=64k tmpfs %s && "
			      "exec %s --enospc %s'",
			      mnt, self, mnt);

	if (system("unshare -rm true 2>/dev/null") != 0) {
		skip("unshare -rm does not work here");
		free(mnt);
		free(cmd);
		return;
	}
	mkdir(mnt, 0700);
	is_int(0, system(cmd), "disk full: ST_LOCAL_TEMP, nothing left behind, space freed");
	free(mnt);
	free(cmd);
}

/* Child of test_fsyncs: one commit. */
static int
commit_child(const char *dir)
{
	struct queue q;
	struct queue_entry m;

	open_queue(&q, dir);
	if (commit(&q, &base_env, &m) < 0)
		return 1;
	queue_entry_free(&m);
	queue_close(&q);
	return 0;
}

static void
test_fsyncs(const char *dir)
{
	char *log = xasprintf("%s/strace.log", dir);
	/* LeakSanitizer cannot run under ptrace. */
	char *cmd = xasprintf("ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" "
			      "strace -f -qq -o %s -e trace=fsync,fdatasync,sync,syncfs,"
			      "sync_file_range,msync %s --commit %s",
			      log, self, dir);
	char line[512];
	FILE *f;
	int syncs = 0;

	if (system("strace -V >/dev/null 2>&1") != 0) {
		skip("no strace");
		free(log);
		free(cmd);
		return;
	}
	is_int(0, system(cmd), "one commit under strace");
	f = fopen(log, "r");
	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		syncs += strstr(line, "sync") != NULL;
	if (f != NULL)
		fclose(f);
	is_int(2, syncs, "a commit syncs the file once and msg/ once");
	free(log);
	free(cmd);
}

int
main(int argc, char **argv)
{
	char *dir;

	if (argc == 3 && strcmp(argv[1], "--enospc") == 0)
		return enospc_child(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--commit") == 0)
		return commit_child(argv[2]);
	self = realpath("/proc/self/exe", NULL);
	if (self == NULL)
		bail("cannot find this program: %s", strerror(errno));

	plan_lazy();
	/* A queue entry that blocks would hang the test: fail it instead. */
	alarm(120);
	test_default_dir();
	test_open();
	test_round_trip();
	test_refused_envelopes();
	test_unique_ids();
	test_locks();
	test_state();
	test_damaged();
	test_hostile_envelopes();
	test_hostile_states();
	test_unsafe_entries();
	test_unsafe_state();
	test_remove_and_set_aside();
	test_sweep();
	test_trigger_and_flusher_lock();
	test_marker();
	dir = scratch();
	test_disk_full(dir);
	test_fsyncs(dir);
	remove_tree(dir);
	free(dir);
	free(self);
	return 0;
}
