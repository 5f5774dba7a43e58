/* flush-t.c - tests for src/flush.c: a queue in a private directory and
 * accounts whose server is a closed 127.0.0.1 port (timeout 1), so that
 * every attempt fails at once and leaves its marks.  Which messages a
 * flush takes (-qI, -qR, -qS, one account, frozen never, held and backed
 * off only when forced; a waiting message's file is not even read), what
 * an attempt records, an entry whose account
 * is gone (held, with the reason), expiry (failed/, with the notice kept
 * beside it), a second flusher (it only asks for another pass) and
 * deliver_more_for_account() without an open session. */
#include "config.h"

#include "deliver.h"

#include "tap/basic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *dir;
static struct conf *conf;
static unsigned nqueues;

static const char headers[] = "From: a@example.org\r\nSubject: t\r\n\r\n";
static const char body[] = "hello\r\n";

/* A port on 127.0.0.1 that nobody listens on. */
static void
load_conf(void)
{
	char *text;
	struct error e;
	int port = test_closed_port();

	text = xasprintf("defaults\nhost 127.0.0.1\nport %d\ntimeout 1\ntls off\nauth off\n"
			 "queue_max_age 1d\n"
			 "account default\nfrom me@example.org\n"
			 "account other\nfrom other@example.org\n",
			 port);
	conf = conf_new();
	if (conf_load_string(conf, "flush-t", text, strlen(text), &e) < 0)
		bail("conf_load_string: %s", e.msg);
	free(text);
}

/* A fresh queue of its own. */
static void
open_queue(struct queue *q)
{
	struct error e;
	char *path = xasprintf("%s/q%u", dir, nqueues++);

	if (queue_open(q, path, &e) < 0)
		bail("queue_open: %s", e.msg);
	free(path);
}

/* Commits a message and hands it back locked, for its state to be set. */
static void
commit(struct queue *q, const char *account, const char *from, const char *rcpt,
       struct queue_entry *m)
{
	struct queue_rcpt r = {.addr = xstrdup(rcpt)};
	struct queue_envelope env = {.account = xstrdup(account),
				     .from = xstrdup(from),
				     .rcpts = &r,
				     .nrcpts = 1,
				     .created = time(NULL)};
	struct error e;
	int fd = memfd_create("body", MFD_CLOEXEC);

	if (fd < 0 || write(fd, body, sizeof body - 1) != (ssize_t)(sizeof body - 1))
		bail("memfd: %s", strerror(errno));
	if (queue_commit(q, &env, headers, sizeof headers - 1, fd, 0, m, &e) < 0)
		bail("queue_commit: %s", e.msg);
	close(fd);
	free(r.addr);
	free(env.account);
	free(env.from);
}

static void
save_state(struct queue *q, struct queue_entry *m)
{
	struct error e;

	if (queue_save_state(q, m, &e) < 0)
		bail("queue_save_state: %s", e.msg);
}

/* The entry's state as another process would see it; false when msg/ID
 * is gone. */
static bool
reload(struct queue *q, const char *id, struct queue_entry *m)
{
	struct error e;

	return queue_load(q, id, false, m, &e) == 0;
}

static bool
exists(const struct queue *q, const char *sub, const char *id, const char *suffix)
{
	struct stat st;
	char *path = xasprintf("%s/%s/%s%s", q->dir, sub, id, suffix);
	bool there = lstat(path, &st) == 0;

	free(path);
	return there;
}

static int
flush(struct queue *q, const struct flush_filter *f)
{
	struct deliver_ctx c = {.q = q, .conf = conf};
	struct error e;
	int rc = deliver_flush(&c, f, NULL, &e);

	if (rc < 0)
		diag("deliver_flush: %s", e.msg);
	return rc;
}

/* The messages every filter case starts from. */
enum msg { M_ALICE, M_CAROL, M_OTHER, M_FROZEN, M_HELD, M_LATER, M__COUNT };

struct filter_case {
	const char *name;
	struct flush_filter f;
	const char *id_of; /* NULL, or the message whose id is the -qI prefix */
	unsigned taken;    /* bit per enum msg */
};

#define BIT(m) (1u << (m))

static void
fill(struct queue *q, char ids[M__COUNT][64])
{
	static const struct {
		const char *account, *from, *rcpt;
	} msgs[M__COUNT] = {
		[M_ALICE] = {"default", "alice@example.org", "bob@example.net"},
		[M_CAROL] = {"default", "carol@example.org", "Dave@example.com"},
		[M_OTHER] = {"other", "erin@example.org", "frank@example.com"},
		[M_FROZEN] = {"default", "alice@example.org", "bob@example.net"},
		[M_HELD] = {"default", "alice@example.org", "bob@example.net"},
		[M_LATER] = {"default", "alice@example.org", "bob@example.net"},
	};

	for (int i = 0; i < M__COUNT; i++) {
		struct queue_entry m;

		commit(q, msgs[i].account, msgs[i].from, msgs[i].rcpt, &m);
		snprintf(ids[i], sizeof ids[i], "%s", m.id);
		if (i == M_FROZEN)
			m.st.frozen = true;
		if (i == M_HELD) {
			m.st.held = true;
			m.st.reason = xstrdup("the password is wrong");
		}
		if (i == M_LATER) {
			m.st.attempts = 1;
			m.st.next_attempt = time(NULL) + 3600;
		}
		if (i >= M_FROZEN)
			save_state(q, &m);
		queue_entry_free(&m);
	}
}

static void
test_filters(void)
{
	const unsigned due = BIT(M_ALICE) | BIT(M_CAROL) | BIT(M_OTHER);
	static const char *names[M__COUNT] = {"alice", "carol", "other", "frozen", "held", "later"};
	struct filter_case cases[] = {
		{"no filter", {0}, NULL, due},
		{"forced", {.force = true}, NULL, due | BIT(M_HELD) | BIT(M_LATER)},
		{"-qR, ignoring case", {.rcpt = "dave@"}, NULL, BIT(M_CAROL)},
		{"-qR, no match", {.rcpt = "nobody@"}, NULL, 0},
		{"-qS", {.sender = "ALICE"}, NULL, BIT(M_ALICE)},
		{"-qS forced",
		 {.sender = "alice", .force = true},
		 NULL,
		 BIT(M_ALICE) | BIT(M_HELD) | BIT(M_LATER)},
		{"one account", {.only_account = "other"}, NULL, BIT(M_OTHER)},
		{"-qI", {0}, names[M_CAROL], BIT(M_CAROL)},
		{"-qI of a frozen message, forced", {.force = true}, names[M_FROZEN], 0},
	};

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		char ids[M__COUNT][64];
		struct flush_filter f = cases[c].f;
		struct queue q;
		unsigned taken = 0;

		open_queue(&q);
		fill(&q, ids);
		for (int i = 0; cases[c].id_of != NULL && i < M__COUNT; i++)
			if (strcmp(cases[c].id_of, names[i]) == 0)
				f.id_prefix = ids[i];
		is_int(0, flush(&q, &f), "%s: the flush runs", cases[c].name);
		for (int i = 0; i < M__COUNT; i++) {
			struct queue_entry m;
			unsigned before = i == M_LATER ? 1 : 0;

			if (!reload(&q, ids[i], &m))
				bail("%s: message %s is gone", cases[c].name, names[i]);
			if (m.st.attempts > before)
				taken |= BIT(i);
			queue_entry_free(&m);
		}
		is_int(cases[c].taken, taken, "%s: the messages taken", cases[c].name);
		queue_close(&q);
	}
}

/* Overwrites the first byte of msg/ID: the file no longer matches its
 * trailer, which only a load notices. */
static void
damage(struct queue *q, const char *id)
{
	char *path = xasprintf("%s/msg/%s", q->dir, id);
	int fd = open(path, O_WRONLY);

	if (fd < 0 || pwrite(fd, "X", 1, 0) != 1 || close(fd) < 0)
		bail("cannot damage %s: %s", path, strerror(errno));
	free(path);
}

/* A flush reads only the state of a message that waits (backed off, held
 * or frozen): the message file is left alone, so a big queue of waiting
 * mail costs each flush little.  Forced, it loads the backed-off and held
 * ones (and finds them damaged here); the frozen one still waits. */
static void
test_waiting_not_read(void)
{
	char ids[M__COUNT][64];
	struct flush_filter f = {0};
	struct queue q;

	open_queue(&q);
	fill(&q, ids);
	for (int i = M_FROZEN; i <= M_LATER; i++)
		damage(&q, ids[i]);
	is_int(0, flush(&q, &f), "waiting messages: the flush runs");
	ok(exists(&q, "msg", ids[M_FROZEN], "") && exists(&q, "msg", ids[M_HELD], "") &&
		   exists(&q, "msg", ids[M_LATER], ""),
	   "frozen, held and backed off: not read, so left where they are");
	f.force = true;
	is_int(0, flush(&q, &f), "forced: the flush runs");
	ok(exists(&q, "failed", ids[M_HELD], "") && exists(&q, "failed", ids[M_LATER], ""),
	   "forced: the held and the backed-off one are read, found damaged, set aside");
	ok(exists(&q, "msg", ids[M_FROZEN], ""), "forced: the frozen one still waits unread");
	queue_close(&q);
}

static void
test_attempt_recorded(void)
{
	struct flush_filter f = {0};
	struct queue_entry m;
	struct queue q;
	char id[64];
	time_t before = time(NULL);

	open_queue(&q);
	commit(&q, "default", "alice@example.org", "bob@example.net", &m);
	snprintf(id, sizeof id, "%s", m.id);
	queue_entry_free(&m);
	is_int(0, flush(&q, &f), "a flush with the server down");
	ok(reload(&q, id, &m), "the message stays queued");
	is_int(1, m.st.attempts, "one attempt recorded");
	ok(m.st.first_attempt >= before && m.st.last_attempt >= before,
	   "first and last attempt are now");
	ok(m.st.next_attempt > m.st.last_attempt, "the next attempt is later");
	is_int(0, (long)m.st.first_contact, "the server was never reached");
	ok(!m.st.held && !m.st.frozen, "a refused connection does not hold it");
	ok(m.st.reason != NULL && *m.st.reason != '\0', "the reason is recorded");
	is_int(QRCPT_PENDING, m.env.rcpts[0].status, "the recipient is still pending");
	queue_entry_free(&m);

	is_int(0, flush(&q, &f), "a second flush at once");
	ok(reload(&q, id, &m), "still queued");
	is_int(1, m.st.attempts, "backed off: no new attempt");
	queue_entry_free(&m);
	queue_close(&q);
}

static void
test_unknown_account(void)
{
	struct flush_filter f = {.force = true};
	struct queue_entry m;
	struct queue q;
	char id[64];

	open_queue(&q);
	commit(&q, "gone", "alice@example.org", "bob@example.net", &m);
	snprintf(id, sizeof id, "%s", m.id);
	queue_entry_free(&m);
	is_int(0, flush(&q, &f), "a flush with an unknown account's message");
	ok(reload(&q, id, &m), "the message is kept");
	ok(m.st.held, "it is held");
	ok(m.st.reason != NULL && strstr(m.st.reason, "gone") != NULL,
	   "the reason names the account: %s", m.st.reason != NULL ? m.st.reason : "(none)");
	is_int(0, m.st.attempts, "nothing was attempted");
	queue_entry_free(&m);
	queue_close(&q);
}

static void
test_expiry(void)
{
	struct flush_filter f = {0};
	struct queue_entry m;
	struct queue q;
	char old[64], nulls[64], young[64];
	time_t now = time(NULL);

	open_queue(&q);
	commit(&q, "default", "alice@example.org", "bob@example.net", &m);
	snprintf(old, sizeof old, "%s", m.id);
	m.st.attempts = 3;
	m.st.first_attempt = m.st.first_contact = now - 2 * 86400;
	save_state(&q, &m);
	queue_entry_free(&m);
	commit(&q, "default", "", "bob@example.net", &m);
	snprintf(nulls, sizeof nulls, "%s", m.id);
	m.st.first_contact = now - 2 * 86400;
	save_state(&q, &m);
	queue_entry_free(&m);
	commit(&q, "default", "alice@example.org", "bob@example.net", &m);
	snprintf(young, sizeof young, "%s", m.id);
	m.st.first_contact = now - 3600;
	save_state(&q, &m);
	queue_entry_free(&m);

	is_int(0, flush(&q, &f), "a flush with expired messages");
	ok(!exists(&q, "msg", old, "") && exists(&q, "failed", old, ""),
	   "past queue_max_age: moved to failed/");
	ok(exists(&q, "failed", old, ".state") && !exists(&q, "state", old, ""),
	   "its state went with it");
	ok(exists(&q, "failed", old, ".notice"), "the unsendable notice is kept beside it");
	ok(exists(&q, "failed", nulls, "") && !exists(&q, "failed", nulls, ".notice"),
	   "null sender: failed, and no notice");
	ok(reload(&q, young, &m), "within queue_max_age: still queued");
	is_int(1, m.st.attempts, "and attempted");
	queue_entry_free(&m);
	queue_close(&q);
}

static void
test_second_flusher(void)
{
	struct flush_filter f = {.force = true};
	struct queue_entry m;
	struct queue q, other;
	struct timespec before;
	struct error e;
	char id[64];

	open_queue(&q);
	if (queue_open(&other, q.dir, &e) < 0)
		bail("queue_open: %s", e.msg);
	commit(&q, "default", "alice@example.org", "bob@example.net", &m);
	snprintf(id, sizeof id, "%s", m.id);
	queue_entry_free(&m);
	is_int(0, queue_lock_flusher(&other, &e), "another flusher holds the lock");
	before = queue_again_time(&q);
	is_int(0, flush(&q, &f), "a second flush returns at once");
	ok(reload(&q, id, &m) && m.st.attempts == 0, "it delivers nothing itself");
	queue_entry_free(&m);
	ok(queue_again_time(&q).tv_sec != before.tv_sec ||
		   queue_again_time(&q).tv_nsec != before.tv_nsec,
	   "it asks the running flusher for another pass");
	queue_close(&other);
	queue_close(&q);
}

static void
test_more_without_session(void)
{
	struct deliver_slot slot;
	struct queue_entry m;
	struct queue q;
	char id[64];
	struct deliver_ctx c = {.conf = conf};

	open_queue(&q);
	c.q = &q;
	commit(&q, "default", "alice@example.org", "bob@example.net", &m);
	snprintf(id, sizeof id, "%s", m.id);
	queue_entry_free(&m);
	deliver_slot_init(&slot, conf_find_account(conf, "default"), false);
	deliver_more_for_account(&c, &slot);
	ok(reload(&q, id, &m) && m.st.attempts == 0,
	   "no open session: deliver_more_for_account sends nothing");
	queue_entry_free(&m);
	deliver_slot_close(&slot);
	queue_close(&q);
}

/* A flush that leaves the queue empty removes the user's queue marker;
 * one that leaves mail behind keeps it. */
static void
test_marker(void)
{
	struct flush_filter f = {.force = true};
	struct queue_entry m;
	struct queue q;
	struct stat st;
	char *markers = xasprintf("%s/markers", dir);
	char *mine = xasprintf("%s/%lu", markers, (unsigned long)geteuid());

	if (mkdir(markers, 0700) < 0)
		bail("mkdir %s: %s", markers, strerror(errno));
	open_queue(&q);
	q.marker_dir = markers;
	commit(&q, "default", "alice@example.org", "bob@example.net", &m);
	queue_entry_free(&m);
	ok(lstat(mine, &st) == 0, "a commit marks the queue");
	is_int(0, flush(&q, &f), "a flush that cannot deliver");
	ok(lstat(mine, &st) == 0, "keeps the marker: mail is still queued");
	queue_close(&q);
	open_queue(&q);
	q.marker_dir = markers;
	is_int(0, flush(&q, &f), "a flush of an empty queue");
	ok(lstat(mine, &st) < 0 && errno == ENOENT, "removes the marker");
	queue_close(&q);
	free(mine);
	free(markers);
}

int
main(void)
{
	plan_lazy();
	dir = test_tmpdir("flush");
	load_conf();
	test_filters();
	test_waiting_not_read();
	test_attempt_recorded();
	test_unknown_account();
	test_expiry();
	test_second_flusher();
	test_more_without_session();
	test_marker();
	conf_free(conf);
	test_tmpdir_free(dir);
	return 0;
}
