/* queue_ids.c - the ids in a queue directory, oldest first, with a
 * bounded memory: at most QUEUE_IDS_RUN ids packed in memory; a bigger
 * directory is read in sorted runs kept in an unnamed file in tmp/ and
 * merged as the ids are handed out (queue_ids, queue_ids_next).
 *
 * Untrusted data: the names in the directory; only names that are ids
 * (queue_id_valid) are taken. */
#include "config.h"

#include "queue.h"

#include "i18n.h"
#include "lib.h"
#include "queue_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool
queue_id_valid(const char *id)
{
	size_t n = strlen(id);

	return n == QUEUE_ID_LEN && strspn(id, "0123456789abcdef") == n;
}

/* id (valid) packed into key, in the same order. */
static void
id_pack(const char *id, unsigned char key[QUEUE_KEY_LEN])
{
	memset(key, 0, QUEUE_KEY_LEN);
	for (size_t i = 0; i < QUEUE_ID_LEN; i++)
		key[i / 2] |= (unsigned char)(hex_digit_value(id[i]) << (i % 2 ? 0 : 4));
}

static void
id_unpack(const unsigned char key[QUEUE_KEY_LEN], char id[QUEUE_ID_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t k = 0; k < QUEUE_ID_LEN; k++)
		id[k] = digits[(key[k / 2] >> (k % 2 ? 0 : 4)) & 0xf];
	id[QUEUE_ID_LEN] = '\0';
}

/* Ids read at a time from each run of the temporary file. */
#define RUN_BUF 256

/* A sorted run in the temporary file. */
struct queue_id_run {
	off_t off;       /* its next id not yet read */
	size_t left;     /* ids not yet read */
	size_t pos, len; /* in buf */
	unsigned char buf[RUN_BUF][QUEUE_KEY_LEN];
};

static void
key_swap(unsigned char *a, unsigned char *b)
{
	unsigned char t[QUEUE_KEY_LEN];

	memcpy(t, a, QUEUE_KEY_LEN);
	memcpy(a, b, QUEUE_KEY_LEN);
	memcpy(b, t, QUEUE_KEY_LEN);
}

static void
sift_down(unsigned char (*v)[QUEUE_KEY_LEN], size_t root, size_t n)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && memcmp(v[child], v[child + 1], QUEUE_KEY_LEN) < 0)
			child++;
		if (memcmp(v[root], v[child], QUEUE_KEY_LEN) >= 0)
			return;
		key_swap(v[root], v[child]);
	}
}

/* Heapsort: in place, where qsort() may allocate a copy of the array. */
static void
keys_sort(unsigned char (*v)[QUEUE_KEY_LEN], size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (size_t end = n; end-- > 1;) {
		key_swap(v[0], v[end]);
		sift_down(v, 0, end);
	}
}

/* The first id not yet handed out of run r. */
static const unsigned char *
run_head(const struct queue_ids *ids, size_t r)
{
	return ids->runs[r].buf[ids->runs[r].pos];
}

/* The heap of runs: each run's head no larger than its children's. */
static void
heap_down(struct queue_ids *ids, size_t root)
{
	for (size_t child; (child = 2 * root + 1) < ids->nheap; root = child) {
		size_t t;

		if (child + 1 < ids->nheap &&
		    memcmp(run_head(ids, ids->heap[child + 1]), run_head(ids, ids->heap[child]),
			   QUEUE_KEY_LEN) < 0)
			child++;
		if (memcmp(run_head(ids, ids->heap[root]), run_head(ids, ids->heap[child]),
			   QUEUE_KEY_LEN) <= 0)
			return;
		t = ids->heap[root];
		ids->heap[root] = ids->heap[child];
		ids->heap[child] = t;
	}
}

/* Reads the next ids of run r into its buffer.  0, or -1 with errno. */
static int
run_fill(struct queue_ids *ids, size_t r)
{
	struct queue_id_run *run = &ids->runs[r];
	size_t want = run->left < RUN_BUF ? run->left : RUN_BUF;
	ssize_t got = pread(ids->fd, run->buf, want * QUEUE_KEY_LEN, run->off);

	if (got != (ssize_t)(want * QUEUE_KEY_LEN)) {
		if (got >= 0)
			errno = EIO;
		return -1;
	}
	run->off += got;
	run->left -= want;
	run->pos = 0;
	run->len = want;
	return 0;
}

/* A run could not be written: the runs already in the file are read back,
 * and from here on every id is kept in memory.  0, or -1 with errno. */
static int
unspill(struct queue_ids *ids)
{
	size_t filed = ids->n - ids->held;
	ssize_t got;

	ids->cap = ids->n + QUEUE_IDS_RUN;
	ids->v = xrealloc(ids->v, ids->cap * sizeof *ids->v);
	memmove(ids->v + filed, ids->v, ids->held * sizeof *ids->v);
	got = pread(ids->fd, ids->v, filed * QUEUE_KEY_LEN, 0);
	if (got != (ssize_t)(filed * QUEUE_KEY_LEN)) {
		if (got >= 0)
			errno = EIO;
		return -1;
	}
	close(ids->fd);
	ids->fd = -1;
	free(ids->runs);
	ids->runs = NULL;
	ids->nruns = 0;
	ids->held = ids->n;
	return 0;
}

/* The ids held so far, sorted, go to the temporary file as one run (made
 * at the first).  1; 0 when tmp/ cannot hold it (from then on they stay
 * in memory); -1 with e set when runs written before cannot be read back. */
static int
spill(struct queue *q, struct queue_ids *ids, struct error *e)
{
	struct queue_id_run *run;

	if (ids->fd < 0)
		ids->fd = openat(q->dirfd, "tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (ids->fd < 0)
		return 0;
	keys_sort(ids->v, ids->held);
	if (write_all(ids->fd, ids->v, ids->held * QUEUE_KEY_LEN) < 0) {
		if (ids->nruns > 0 && unspill(ids) < 0)
			return error_set(e, ST_CANTCREAT, _("cannot read %s/%s: %s"), ids->dir,
					 ids->sub, strerror(errno));
		if (ids->fd >= 0)
			close(ids->fd);
		ids->fd = -1;
		return 0;
	}
	ids->runs = xrealloc(ids->runs, (ids->nruns + 1) * sizeof *ids->runs);
	run = &ids->runs[ids->nruns++];
	run->off = (off_t)((ids->n - ids->held) * QUEUE_KEY_LEN);
	run->left = ids->held;
	run->pos = run->len = 0;
	ids->held = 0;
	return 1;
}

/* Starts the merge of the runs in the temporary file. */
static int
merge_begin(struct queue_ids *ids, struct error *e)
{
	free(ids->v);
	ids->v = NULL;
	ids->cap = 0;
	ids->heap = xmalloc(ids->nruns * sizeof *ids->heap);
	for (size_t r = 0; r < ids->nruns; r++) {
		if (run_fill(ids, r) < 0)
			return error_set(e, ST_CANTCREAT, _("cannot read %s/%s: %s"), ids->dir,
					 ids->sub, strerror(errno));
		ids->heap[ids->nheap++] = r;
	}
	for (size_t i = ids->nheap / 2; i-- > 0;)
		heap_down(ids, i);
	return 0;
}

static DIR *
open_part(struct queue *q, const char *sub, struct error *e)
{
	int fd = openat(q->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		error_set(e, ST_CANTCREAT, _("cannot read %s/%s: %s"), q->dir, sub,
			  strerror(errno));
	}
	return d;
}

int
queue_ids_list(struct queue *q, const char *sub, struct queue_ids *ids, struct error *e)
{
	DIR *d = open_part(q, sub, e);
	struct dirent *de;
	int spilling = 1;

	memset(ids, 0, sizeof *ids);
	ids->fd = -1;
	ids->dir = q->dir;
	ids->sub = sub;
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (!queue_id_valid(de->d_name))
			continue;
		if (ids->held == QUEUE_IDS_RUN && spilling == 1)
			spilling = spill(q, ids, e);
		if (spilling < 0)
			break;
		if (ids->held == ids->cap) {
			ids->cap = ids->cap ? 2 * ids->cap : 64;
			ids->v = xrealloc(ids->v, ids->cap * sizeof *ids->v);
		}
		id_pack(de->d_name, ids->v[ids->held++]);
		ids->n++;
	}
	closedir(d);
	if (ids->nruns > 0 && spilling == 1 && ids->held > 0)
		spilling = spill(q, ids, e);
	if (spilling < 0 || (ids->nruns > 0 && merge_begin(ids, e) < 0)) {
		queue_ids_free(ids);
		return -1;
	}
	if (ids->nruns == 0)
		keys_sort(ids->v, ids->held);
	return 0;
}

int
queue_ids_next(struct queue_ids *ids, char id[QUEUE_ID_LEN + 1], struct error *e)
{
	size_t r;

	if (ids->next == ids->n)
		return 0;
	if (ids->fd < 0) {
		id_unpack(ids->v[ids->next++], id);
		return 1;
	}
	r = ids->heap[0];
	id_unpack(run_head(ids, r), id);
	ids->next++;
	if (++ids->runs[r].pos == ids->runs[r].len) {
		if (ids->runs[r].left == 0)
			ids->heap[0] = ids->heap[--ids->nheap];
		else if (run_fill(ids, r) < 0)
			return error_set(e, ST_CANTCREAT, _("cannot read %s/%s: %s"), ids->dir,
					 ids->sub, strerror(errno));
	}
	heap_down(ids, 0);
	return 1;
}

void
queue_ids_free(struct queue_ids *ids)
{
	if (ids->fd >= 0)
		close(ids->fd);
	free(ids->v);
	free(ids->runs);
	free(ids->heap);
	memset(ids, 0, sizeof *ids);
	ids->fd = -1;
}

int
queue_ids(struct queue *q, struct queue_ids *ids, struct error *e)
{
	return queue_ids_list(q, "msg", ids, e);
}

int
queue_has_messages(struct queue *q, struct error *e)
{
	DIR *d = open_part(q, "msg", e);
	struct dirent *de;
	int any = 0;

	if (d == NULL)
		return -1;
	while (any == 0 && (de = readdir(d)) != NULL)
		any = queue_id_valid(de->d_name);
	closedir(d);
	return any;
}
