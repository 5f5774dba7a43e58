/* submit-t.c - tests for src/submit.c: submit_deliver() with a request
 * from cli_parse() (a -C file whose account points at a closed 127.0.0.1
 * port, timeout 1) and the message in a memory file.  A queued message is
 * committed (one file in msg/, exit 0) with its envelope; -t takes the
 * recipients from To, Cc and Bcc, and Bcc is not stored; a message over
 * max_message_size is refused (ST_DATAERR) with nothing queued; a
 * foreground delivery that cannot connect stays queued (exit 0); with
 * queue off it fails ST_CONNECT and nothing is queued; a one-off --port
 * with -odq is refused (ST_USAGE). */
#include "config.h"

#include "submit.h"

#include "queue.h"

#include "tap/basic.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAXARGS 16

static char *dir;
static int port;
static unsigned nruns;

/* One submission: its own -C file and queue directory. */
struct run {
	char *conf, *qdir;
	int rc;
	struct error e;
};

static void
write_conf(struct run *r, const char *extra)
{
	FILE *f;

	r->conf = xasprintf("%s/conf%u", dir, nruns);
	r->qdir = xasprintf("%s/queue%u", dir, nruns);
	nruns++;
	f = fopen(r->conf, "w");
	if (f == NULL ||
	    fprintf(f,
		    "account default\nhost 127.0.0.1\nport %d\ntimeout 1\ntls off\nauth off\n"
		    "from me@example.org\nqueue_dir %s\n%s",
		    port, r->qdir, extra) < 0 ||
	    fclose(f) != 0)
		bail("cannot write %s", r->conf);
}

/* The message in a memory file, read from its start. */
static int
message_fd(const char *text)
{
	int fd = memfd_create("message", MFD_CLOEXEC);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) != 0)
		bail("memfd: %s", strerror(errno));
	return fd;
}

/* Submits message with the command line line ("CONF": the -C file,
 * split at spaces). */
static void
submit(struct run *r, const char *extra, const char *line, const char *message)
{
	char *copy, *save = NULL;
	char *argv[MAXARGS];
	struct strlist words;
	struct request req;
	int argc = 0, fd;

	write_conf(r, extra);
	strlist_init(&words);
	copy = xstrdup(line);
	for (char *w = strtok_r(copy, " ", &save); w != NULL && argc < MAXARGS - 1;
	     w = strtok_r(NULL, " ", &save)) {
		strlist_add(&words, strcmp(w, "CONF") == 0 ? r->conf : w);
		argv[argc++] = words.v[words.n - 1];
	}
	argv[argc] = NULL;
	free(copy);
	if (cli_parse(argc, argv, &req, &r->e) < 0)
		bail("cli_parse %s: %s", line, r->e.msg);
	fd = message_fd(message);
	error_clear(&r->e);
	r->rc = submit_deliver(&req, fd, &r->e);
	if (r->rc < 0)
		diag("%s: %s", line, r->e.msg);
	close(fd);
	cli_request_free(&req);
	strlist_free(&words);
}

static void
run_free(struct run *r)
{
	free(r->conf);
	free(r->qdir);
}

/* The ids in the run's msg/ (none when the queue was never made). */
static size_t
queued(const struct run *r, struct strlist *ids)
{
	char *path = xasprintf("%s/msg", r->qdir);
	DIR *d = opendir(path);
	struct dirent *de;

	strlist_init(ids);
	while (d != NULL && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			strlist_add(ids, de->d_name);
	if (d != NULL)
		closedir(d);
	free(path);
	return ids->n;
}

/* Loads the run's only queued message; false when there is not exactly one. */
static bool
load_only(const struct run *r, struct queue *q, struct queue_entry *m)
{
	struct strlist ids;
	struct error e;
	bool one = queued(r, &ids) == 1 && queue_open(q, r->qdir, &e) == 0;

	if (one && queue_load(q, ids.v[0], false, m, &e) != 0) {
		queue_close(q);
		one = false;
	}
	strlist_free(&ids);
	return one;
}

/* The stored message bytes, NUL-terminated. */
static char *
stored(const struct queue_entry *m)
{
	char *text = xcalloc(1, (size_t)m->data_len + 1);

	if (pread(m->fd, text, (size_t)m->data_len, m->data_offset) != (ssize_t)m->data_len)
		bail("pread: %s", strerror(errno));
	return text;
}

static bool
has_rcpt(const struct queue_entry *m, const char *addr)
{
	for (size_t i = 0; i < m->env.nrcpts; i++)
		if (strcmp(m->env.rcpts[i].addr, addr) == 0)
			return true;
	return false;
}

static void
test_queued(void)
{
	struct run r;
	struct queue q;
	struct queue_entry m;
	char *text;

	submit(&r, "", "outbox -C CONF -odq a@example.org",
	       "From: me@example.org\nSubject: hi\n\nhello\n");
	is_int(0, r.rc, "-odq: exit 0");
	if (!load_only(&r, &q, &m)) {
		ok(false, "-odq: one message in msg/");
		run_free(&r);
		return;
	}
	ok(true, "-odq: one message in msg/");
	is_string("default", m.env.account, "the account is recorded");
	is_string("me@example.org", m.env.from, "the sender is the account's from");
	is_int(1, (long)m.env.nrcpts, "one recipient");
	is_string("a@example.org", m.env.rcpts[0].addr, "the command line's recipient");
	is_int(0, m.st.attempts, "-odq: not attempted");
	text = stored(&m);
	ok(strstr(text, "Subject: hi\n") != NULL, "stored with its own line ends");
	ok(strstr(text, "\n\nhello\n") != NULL, "the body is stored");
	ok(strcasestr(text, "\nMessage-ID: <") != NULL, "a Message-ID is added");
	free(text);
	queue_entry_free(&m);
	queue_close(&q);
	run_free(&r);
}

static void
test_read_recipients(void)
{
	struct run r;
	struct queue q;
	struct queue_entry m;
	char *text;

	submit(&r, "", "outbox -C CONF -odq -t",
	       "From: me@example.org\nTo: b@example.org\nCc: c@example.org\n"
	       "Bcc: hidden.bcc@example.net\nSubject: t\n\nbody\n");
	is_int(0, r.rc, "-t: exit 0");
	if (!load_only(&r, &q, &m)) {
		ok(false, "-t: one message in msg/");
		run_free(&r);
		return;
	}
	is_int(3, (long)m.env.nrcpts, "-t: To, Cc and Bcc are recipients");
	ok(has_rcpt(&m, "b@example.org") && has_rcpt(&m, "c@example.org") &&
		   has_rcpt(&m, "hidden.bcc@example.net"),
	   "-t: each of them");
	text = stored(&m);
	ok(strcasestr(text, "Bcc:") == NULL, "Bcc is not stored");
	ok(strstr(text, "hidden.bcc") == NULL, "the Bcc address is not in the message");
	ok(strstr(text, "To: b@example.org") != NULL, "To is kept");
	free(text);
	queue_entry_free(&m);
	queue_close(&q);
	run_free(&r);
}

static void
test_too_large(void)
{
	struct strlist ids;
	struct run r;
	char message[4096];
	size_t n = (size_t)snprintf(message, sizeof message, "From: me@example.org\n\n");

	memset(message + n, 'x', 2048);
	memcpy(message + n + 2048, "\n", 2);
	submit(&r, "max_message_size 1k\n", "outbox -C CONF -odq a@example.org", message);
	is_int(-1, r.rc, "2k with max_message_size 1k: refused");
	is_int(ST_DATAERR, r.e.status, "ST_DATAERR");
	is_int(0, (long)queued(&r, &ids), "nothing queued");
	strlist_free(&ids);
	run_free(&r);
}

static void
test_foreground_unreachable(void)
{
	struct run r;
	struct queue q;
	struct queue_entry m;

	submit(&r, "", "outbox -C CONF a@example.org", "From: me@example.org\n\nhi\n");
	is_int(0, r.rc, "foreground, server down: exit 0, the message is on disk");
	if (!load_only(&r, &q, &m)) {
		ok(false, "foreground: one message in msg/");
		run_free(&r);
		return;
	}
	is_int(1, m.st.attempts, "one attempt recorded");
	ok(m.st.next_attempt > 0 && !m.st.held, "to be retried later");
	queue_entry_free(&m);
	queue_close(&q);
	run_free(&r);
}

static void
test_unqueued(void)
{
	struct strlist ids;
	struct run r;

	submit(&r, "queue off\n", "outbox -C CONF a@example.org", "From: me@example.org\n\nhi\n");
	is_int(-1, r.rc, "queue off, server down: fails");
	is_int(ST_CONNECT, r.e.status, "ST_CONNECT");
	is_int(0, (long)queued(&r, &ids), "nothing queued");
	strlist_free(&ids);
	run_free(&r);

	submit(&r, "queue off\n", "outbox -C CONF -odq a@example.org",
	       "From: me@example.org\n\nhi\n");
	is_int(ST_USAGE, r.rc < 0 ? (long)r.e.status : -1L, "queue off and -odq: ST_USAGE");
	run_free(&r);
}

static void
test_one_off(void)
{
	struct strlist ids;
	struct run r;
	char line[128];

	snprintf(line, sizeof line, "outbox -C CONF --port=%d -odq a@example.org", port);
	submit(&r, "", line, "From: me@example.org\n\nhi\n");
	is_int(ST_USAGE, r.rc < 0 ? (long)r.e.status : -1L, "--port with -odq: ST_USAGE");
	ok(strstr(r.e.msg, "--port") != NULL, "the message names --port");
	is_int(0, (long)queued(&r, &ids), "nothing queued");
	strlist_free(&ids);
	run_free(&r);
}

int
main(void)
{
	plan_lazy();
	dir = test_tmpdir("submit");
	setenv("HOME", dir, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	setenv("XDG_STATE_HOME", dir, 1);
	setenv("TMPDIR", dir, 1);
	port = test_closed_port();
	test_queued();
	test_read_recipients();
	test_too_large();
	test_foreground_unreachable();
	test_unqueued();
	test_one_off();
	test_tmpdir_free(dir);
	return 0;
}
