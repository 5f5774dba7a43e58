/* queue_scan-t.c - tests for src/queue_scan.c: queue_ids() (only names
 * that are ids, oldest first, more than are held in memory too),
 * queue_list() (msg/ before failed/, damaged
 * and unsafe entries listed as damaged and left where they are) and
 * queue_sweep() (tmp/ files no writer holds go, locked ones stay; state/
 * files without a message go, those with one stay; what is not a regular
 * file is moved to failed/ with a note). */
#include "config.h"

#include "queue.h"

#include "tap/basic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *dir;
static unsigned nqueues;

static const char headers[] = "From: a@example.org\r\nSubject: t\r\n\r\n";
static const char body[] = "hello\r\n";

static void
open_queue(struct queue *q)
{
	struct error e;
	char *path = xasprintf("%s/q%u", dir, nqueues++);

	if (queue_open(q, path, &e) < 0)
		bail("queue_open: %s", e.msg);
	free(path);
}

static void
commit(struct queue *q, char id[64])
{
	struct queue_rcpt r = {.addr = (char[]){"b@example.org"}};
	struct queue_envelope env = {.account = (char[]){"default"},
				     .from = (char[]){"a@example.org"},
				     .rcpts = &r,
				     .nrcpts = 1,
				     .created = time(NULL)};
	struct queue_entry m;
	struct error e;
	int fd = memfd_create("body", MFD_CLOEXEC);

	if (fd < 0 || write(fd, body, sizeof body - 1) != (ssize_t)(sizeof body - 1))
		bail("memfd: %s", strerror(errno));
	if (queue_commit(q, &env, headers, sizeof headers - 1, fd, 0, &m, &e) < 0)
		bail("queue_commit: %s", e.msg);
	close(fd);
	snprintf(id, 64, "%s", m.id);
	queue_entry_free(&m);
}

/* q->dir/sub/name, newly allocated. */
static char *
path_of(const struct queue *q, const char *sub, const char *name)
{
	return xasprintf("%s/%s/%s", q->dir, sub, name);
}

static void
make_file(const struct queue *q, const char *sub, const char *name, const char *text)
{
	char *path = path_of(q, sub, name);
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		bail("cannot write %s: %s", path, strerror(errno));
	free(path);
}

static void
make_dir(const struct queue *q, const char *sub, const char *name)
{
	char *path = path_of(q, sub, name);

	if (mkdir(path, 0700) < 0)
		bail("mkdir %s: %s", path, strerror(errno));
	free(path);
}

static void
make_symlink(const struct queue *q, const char *sub, const char *name)
{
	char *path = path_of(q, sub, name);

	if (symlink("/dev/null", path) < 0)
		bail("symlink %s: %s", path, strerror(errno));
	free(path);
}

static bool
exists(const struct queue *q, const char *sub, const char *name)
{
	struct stat st;
	char *path = path_of(q, sub, name);
	bool there = lstat(path, &st) == 0;

	free(path);
	return there;
}

/* queue_ids() as text. */
static int
ids_of(struct queue *q, struct strlist *out, struct error *e)
{
	struct queue_ids ids;
	char id[QUEUE_ID_LEN + 1];
	int rc;

	strlist_init(out);
	if (queue_ids(q, &ids, e) < 0)
		return -1;
	while ((rc = queue_ids_next(&ids, id, e)) == 1)
		strlist_add(out, id);
	queue_ids_free(&ids);
	return rc;
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
test_ids(void)
{
	static const struct {
		const char *name;
		bool listed;
	} names[] = {
		{"0000000003000000000000a", true},   {"00000000010000000000003", true},
		{"00000000020000000000001", true},   {"00000000010000000000002", true},
		{"0000000001000000000000", false},   /* one short */
		{"000000000100000000000001", false}, /* one long */
		{"000000000A0000000000001", false},  /* upper case */
		{"0000000001000000000000g", false},  /* not hex */
		{".0000000001000000000000", false},  {"README", false},
	};
	static const char *order[] = {"00000000010000000000002", "00000000010000000000003",
				      "00000000020000000000001", "0000000003000000000000a"};
	struct strlist ids;
	struct queue q;
	struct error e;

	open_queue(&q);
	is_int(0, queue_has_messages(&q, &e), "an empty msg/ has no messages");
	make_file(&q, "msg", "notes.txt", "");
	is_int(0, queue_has_messages(&q, &e), "nor one with a name that is no id");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		make_file(&q, "msg", names[i].name, "");
	is_int(1, queue_has_messages(&q, &e), "one with ids has");
	is_int(0, ids_of(&q, &ids, &e), "queue_ids");
	is_int(4, (long)ids.n, "only the names that are ids");
	for (size_t i = 0; i < ids.n && i < 4; i++)
		is_string(order[i], ids.v[i], "oldest first: %zu", i);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		ok(strlist_contains(&ids, names[i].name) == names[i].listed, "%s %s", names[i].name,
		   names[i].listed ? "listed" : "not listed");
	strlist_free(&ids);
	queue_close(&q);

	open_queue(&q);
	is_int(0, ids_of(&q, &ids, &e), "an empty queue");
	is_int(0, (long)ids.n, "has no ids");
	strlist_free(&ids);
	queue_close(&q);
}

/* The entries of a directory, . and .. aside. */
static size_t
count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		bail("opendir %s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* More ids than are held in memory at once: sorted runs in a temporary
 * file, merged; every id once, oldest first, and no file left in tmp/. */
static void
test_many_ids(void)
{
	enum { N = 2 * QUEUE_IDS_RUN + 300 };
	struct strlist made, got;
	struct queue_ids ids;
	struct queue q;
	struct error e;
	size_t wrong = 0;
	char *tmp;

	open_queue(&q);
	strlist_init(&made);
	for (unsigned i = 0; i < N; i++) {
		char id[QUEUE_ID_LEN + 1];

		/* created in no particular order of their ids */
		snprintf(id, sizeof id, "%015llx%08x",
			 (unsigned long long)((i * 2654435761u) % 1000003u), i);
		make_file(&q, "msg", id, "");
		strlist_add(&made, id);
	}
	qsort(made.v, made.n, sizeof made.v[0], compare_strings);
	is_int(0, queue_ids(&q, &ids, &e), "%d ids: queue_ids", N);
	ok(ids.n == N && ids.cap <= QUEUE_IDS_RUN && ids.nruns == 3,
	   "at most %d ids in memory, the rest in 3 sorted runs", QUEUE_IDS_RUN);
	queue_ids_free(&ids);
	is_int(0, ids_of(&q, &got, &e), "%d ids: handed out", N);
	is_int(N, (long)got.n, "every one listed");
	for (size_t i = 0; i < got.n && i < made.n; i++)
		wrong += strcmp(got.v[i], made.v[i]) != 0;
	is_int(0, (long)wrong, "each once, oldest first");
	strlist_free(&got);
	{
		/* tmp/ takes the first run, not the second: the first is read
		 * back and all are kept in memory, none lost */
		struct rlimit was, small = {QUEUE_IDS_RUN * QUEUE_KEY_LEN + 1000, 0};

		getrlimit(RLIMIT_FSIZE, &was);
		small.rlim_max = was.rlim_max;
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &small) < 0)
			bail("setrlimit: %s", strerror(errno));
		is_int(0, queue_ids(&q, &ids, &e), "tmp/ full after one run: queue_ids");
		ok(ids.nruns == 0 && ids.fd == -1, "the ids are kept in memory");
		queue_ids_free(&ids);
		is_int(0, ids_of(&q, &got, &e), "tmp/ full after one run: handed out");
		setrlimit(RLIMIT_FSIZE, &was);
		wrong = got.n != made.n;
		for (size_t i = 0; i < got.n && i < made.n; i++)
			wrong += strcmp(got.v[i], made.v[i]) != 0;
		is_int(0, (long)wrong, "still each once, oldest first");
	}
	tmp = path_of(&q, "tmp", "");
	is_int(0, (long)count_entries(tmp), "no file left in tmp/");
	free(tmp);
	strlist_free(&made);
	strlist_free(&got);
	queue_close(&q);
}

/* Where each entry of the listing is expected. */
struct listed {
	const char *what;
	const char *id;
	bool failed, damaged;
	const char *reason; /* a part of st.reason, or NULL */
};

static void
check_listing(const struct listing *l, const struct listed *want, size_t n)
{
	is_int((long)n, (long)l->n, "queue_list: %zu entries", n);
	for (size_t i = 0; i < n && i < l->n; i++) {
		is_string(want[i].id, l->entries[i].id, "%s: at %zu", want[i].what, i);
		ok(l->failed[i] == want[i].failed, "%s: %s", want[i].what,
		   want[i].failed ? "in failed/" : "in msg/");
		ok(l->damaged[i] == want[i].damaged, "%s: %s", want[i].what,
		   want[i].damaged ? "damaged" : "not damaged");
		is_int(-1, l->entries[i].fd, "%s: not kept open", want[i].what);
		if (want[i].reason != NULL)
			ok(l->entries[i].st.reason != NULL &&
				   strstr(l->entries[i].st.reason, want[i].reason) != NULL,
			   "%s: reason %s", want[i].what,
			   l->entries[i].st.reason ? l->entries[i].st.reason : "(none)");
	}
}

static void
test_list(void)
{
	char good[64], gone[64], bad_state[64];
	const char *garbage = "10000000000000000000001", *link = "10000000000000000000002";
	struct listing l;
	struct queue_entry m;
	struct queue q;
	struct error e;

	open_queue(&q);
	commit(&q, good);
	commit(&q, gone);
	commit(&q, bad_state);
	if (queue_load(&q, gone, true, &m, &e) != 0 ||
	    queue_set_aside(&q, &m, "550 no such user", &e) < 0)
		bail("set aside: %s", e.msg);
	queue_entry_free(&m);
	if (queue_load(&q, bad_state, true, &m, &e) != 0 ||
	    queue_set_aside(&q, &m, "550 no", &e) < 0)
		bail("set aside: %s", e.msg);
	queue_entry_free(&m);
	{
		char *state = xasprintf("%s.state", bad_state);
		char *path = path_of(&q, "failed", state);

		if (unlink(path) < 0)
			bail("unlink %s: %s", path, strerror(errno));
		make_dir(&q, "failed", state);
		free(path);
		free(state);
	}
	make_file(&q, "msg", garbage, "not a queue file\n");
	make_symlink(&q, "msg", link);

	{
		const struct listed want[] = {
			{"good", good, false, false, NULL},
			{"garbage", garbage, false, true, "damaged"},
			{"symbolic link", link, false, true, "symbolic link"},
			{"failed", gone, true, false, "550 no such user"},
			{"failed, state a directory", bad_state, true, true, "directory"},
		};

		is_int(0, list_all(&q, &l, &e), "queue_list with damaged entries");
		check_listing(&l, want, sizeof want / sizeof want[0]);
		listing_free(&l);
	}
	ok(exists(&q, "msg", garbage) && exists(&q, "msg", link),
	   "listing moves nothing out of msg/");
	ok(!exists(&q, "failed", "10000000000000000000002.unsafe-symlink"), "nor into failed/");
	queue_close(&q);
}

static void
test_sweep(void)
{
	static const char *dead = "dead-writer", *busy = "busy-writer", *lnk = "link";
	char kept[64], state_tmp_kept[80];
	const char *orphan = "20000000000000000000001";
	const char *orphan_dir = "20000000000000000000002";
	const char *orphan_tmp = ".20000000000000000000003.tmp";
	struct strlist notes;
	struct queue q;
	char *path;
	int fd;

	open_queue(&q);
	commit(&q, kept);
	make_file(&q, "state", kept, "attempts 1\n");
	snprintf(state_tmp_kept, sizeof state_tmp_kept, ".%s.tmp", kept);
	make_file(&q, "state", state_tmp_kept, "attempts 2\n");
	make_file(&q, "state", orphan, "attempts 1\n");
	make_file(&q, "state", orphan_tmp, "attempts 1\n");
	make_dir(&q, "state", orphan_dir);
	make_file(&q, "tmp", dead, "half a message");
	make_file(&q, "tmp", busy, "a message being written");
	make_file(&q, "tmp", ".hidden", "");
	make_symlink(&q, "tmp", lnk);
	path = path_of(&q, "tmp", busy);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0)
		bail("lock %s: %s", path, strerror(errno));
	free(path);

	strlist_init(&notes);
	queue_sweep(&q, &notes);
	ok(!exists(&q, "tmp", dead), "tmp/: a file nobody holds is removed");
	ok(exists(&q, "tmp", busy), "tmp/: a file a writer holds stays");
	ok(exists(&q, "tmp", ".hidden"), "tmp/: dot files are not looked at");
	ok(!exists(&q, "tmp", lnk) && exists(&q, "failed", "link.unsafe-symlink"),
	   "tmp/: a symbolic link is moved to failed/");
	ok(exists(&q, "state", kept), "state/: the state of a queued message stays");
	ok(exists(&q, "state", state_tmp_kept), "state/: its .tmp stays too");
	ok(!exists(&q, "state", orphan), "state/: a state without a message goes");
	ok(!exists(&q, "state", orphan_tmp), "state/: a .tmp without a message goes");
	ok(!exists(&q, "state", orphan_dir) &&
		   exists(&q, "failed", "20000000000000000000002.unsafe-directory"),
	   "state/: a directory without a message is moved to failed/");
	ok(exists(&q, "msg", kept), "msg/ is untouched");
	is_int(2, (long)notes.n, "one note per entry moved aside");
	for (size_t i = 0; i < notes.n; i++)
		ok(strstr(notes.v[i], "moved to") != NULL, "note: %s", notes.v[i]);
	strlist_free(&notes);

	close(fd);
	strlist_init(&notes);
	queue_sweep(&q, &notes);
	ok(!exists(&q, "tmp", busy), "once its writer is gone, it is removed");
	is_int(0, (long)notes.n, "nothing more to report");
	strlist_free(&notes);
	queue_close(&q);
}

int
main(void)
{
	plan_lazy();
	dir = test_tmpdir("queue_scan");
	test_ids();
	test_many_ids();
	test_list();
	test_sweep();
	test_tmpdir_free(dir);
	return 0;
}
