/* mailq-t.c - tests for src/mailq.c: a queue in a private directory (the
 * account's queue_dir in a -C file) holding a message in each state
 * (queued, retrying, held, held with --hold, failed, damaged), listed as
 * text and as --json (ids, states, ages, recipients, control bytes of
 * server text escaped, valid JSON), then edited with --hold, --release and
 * --remove, including the ids that cannot be edited. */
#include "config.h"

#include "mailq.h"

#include "queue.h"

#include "tap/basic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXARGS 16

static char *dir, *conf, *qdir;
static struct strlist args; /* argv strings: requests point into them */

static const char headers[] = "From: a@example.org\r\nSubject: t\r\n\r\n";
/* E_FAILED3's: a Subject with a control byte, UTF-8, folded, long. */
static const char long_headers[] =
	"Subject:  \x1b[31m red \xc3\xa9t\xc3\xa9\r\n\tfolded, and then a long tail "
	"past sixty bytes\r\nFrom: a@example.org\r\n\r\n";
static const char body[] = "hello\r\n";

enum entry {
	E_QUEUED,
	E_RETRYING,
	E_HELD,
	E_FROZEN,
	E_FAILED,
	E_DAMAGED,
	E_LOCKED,
	E_FAILED2, /* in failed/, one recipient delivered, one refused */
	E_FAILED3, /* in failed/, with a kept failure notice */
	E__COUNT
};
static char ids[E__COUNT][64];
static struct queue_entry locked; /* E_LOCKED, kept locked as a deliverer would */

static bool
contains(const char *haystack, const char *needle)
{
	return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* A request from a command line split at spaces ("CONF": the -C file). */
static void
parse(const char *line, struct request *r)
{
	char *copy = xstrdup(line), *save = NULL;
	char *argv[MAXARGS];
	struct error e;
	int argc = 0;

	for (char *w = strtok_r(copy, " ", &save); w != NULL && argc < MAXARGS - 1;
	     w = strtok_r(NULL, " ", &save)) {
		strlist_add(&args, strcmp(w, "CONF") == 0 ? conf : w);
		argv[argc++] = args.v[args.n - 1];
	}
	argv[argc] = NULL;
	free(copy);
	if (cli_parse(argc, argv, r, &e) < 0)
		bail("cli_parse %s: %s", line, e.msg);
}

/* What mailq_list or mailq_edit writes for a command line; NULL with e
 * set when it fails. */
static char *
run(int (*fn)(const struct request *, struct buf *, struct error *), const char *line,
    struct error *e)
{
	struct request r;
	struct buf out;
	char *text;

	parse(line, &r);
	buf_init(&out, 0);
	error_clear(e);
	text = fn(&r, &out, e) == 0 ? xstrdup(out.data != NULL ? out.data : "") : NULL;
	buf_free(&out);
	cli_request_free(&r);
	return text;
}

/* What mailq_list handed to drain, how often, and the largest piece. */
static struct buf drained;
static size_t drains, biggest;

static int
drain(struct buf *out, struct error *e)
{
	(void)e;
	drains++;
	if (out->len > biggest)
		biggest = out->len;
	buf_append(&drained, out->data, out->len);
	buf_reset(out);
	return 0;
}

/* mailq_list with its pieces put together again, as standard output
 * would have them. */
static int
list_gathered(const struct request *r, struct buf *out, struct error *e)
{
	int rc;

	buf_init(&drained, 0);
	drains = biggest = 0;
	rc = mailq_list(r, out, drain, e);
	if (rc == 0 && out->len > 0)
		buf_append(&drained, out->data, out->len);
	buf_reset(out);
	if (rc == 0 && drained.len > 0)
		buf_append(out, drained.data, drained.len);
	buf_free(&drained);
	return rc;
}

/* The -C file: one account whose queue_dir is queue. */
static void
write_conf(const char *queue)
{
	FILE *f = fopen(conf, "w");

	if (f == NULL || fprintf(f, "account default\nhost h\nqueue_dir %s\n", queue) < 0 ||
	    fclose(f) != 0)
		bail("cannot write %s", conf);
}

static void
commit(struct queue *q, enum entry which, time_t age, struct queue_entry *m)
{
	struct queue_rcpt rcpts[] = {{.addr = (char[]){"a@example.org"}},
				     {.addr = (char[]){"b@example.net"}}};
	struct queue_envelope env = {.account = (char[]){"default"},
				     .from = which == E_QUEUED ? (char[]){""}
							       : (char[]){"me@example.org"},
				     .rcpts = rcpts,
				     .nrcpts = which == E_RETRYING || which == E_FAILED2 ? 2 : 1,
				     .created = time(NULL) - age};
	struct error e;
	int fd = memfd_create("body", MFD_CLOEXEC);

	if (fd < 0 || write(fd, body, sizeof body - 1) != (ssize_t)(sizeof body - 1))
		bail("memfd: %s", strerror(errno));
	const char *hdr = which == E_FAILED3 ? long_headers : headers;

	if (queue_commit(q, &env, hdr, strlen(hdr), fd, 0, m, &e) < 0)
		bail("queue_commit: %s", e.msg);
	close(fd);
	snprintf(ids[which], sizeof ids[which], "%s", m->id);
}

static void
save_state(struct queue *q, struct queue_entry *m)
{
	struct error e;

	if (queue_save_state(q, m, &e) < 0)
		bail("queue_save_state: %s", e.msg);
}

/* One message in each state. */
static void
fill_queue(void)
{
	struct queue q;
	struct queue_entry m;
	struct error e;
	char *path;
	int fd;

	if (queue_open(&q, qdir, &e) < 0)
		bail("queue_open: %s", e.msg);
	commit(&q, E_QUEUED, 600, &m);
	queue_entry_free(&m);

	commit(&q, E_RETRYING, 3 * 3600, &m);
	m.st.attempts = 2;
	m.st.next_attempt = time(NULL) + 3600;
	queue_reason_set(&m.st, REASON_SERVER_TEMP, "server busy \x1b[31m \"quoted\" \\ back");
	m.st.last_reply = xstrdup("451 4.3.2 try\x07 later");
	m.env.rcpts[0].status = QRCPT_DELIVERED;
	m.env.rcpts[0].reply = xstrdup("250 ok");
	m.env.rcpts[1].status = QRCPT_FAILED;
	m.env.rcpts[1].reply = xstrdup("550 no\x01");
	save_state(&q, &m);
	queue_entry_free(&m);

	commit(&q, E_HELD, 3 * 86400, &m);
	m.st.held = true;
	m.st.reason = xstrdup("account: no password");
	save_state(&q, &m);
	queue_entry_free(&m);

	commit(&q, E_FROZEN, 600, &m);
	m.st.frozen = true;
	m.st.reason = xstrdup("was: x");
	save_state(&q, &m);
	queue_entry_free(&m);

	commit(&q, E_FAILED, 600, &m);
	if (queue_set_aside(&q, &m, "550 rejected", &e) < 0)
		bail("queue_set_aside: %s", e.msg);
	queue_entry_free(&m);

	commit(&q, E_DAMAGED, 600, &m);
	queue_entry_free(&m);
	path = xasprintf("%s/msg/%s", qdir, ids[E_DAMAGED]);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) < 0)
		bail("cannot damage %s", path);
	free(path);

	commit(&q, E_LOCKED, -100, &locked);

	commit(&q, E_FAILED2, 600, &m);
	m.st.attempts = 7;
	m.st.first_contact = time(NULL) - 6 * 86400;
	m.env.rcpts[0].status = QRCPT_DELIVERED;
	m.env.rcpts[1].status = QRCPT_FAILED;
	m.env.rcpts[1].reply = xstrdup("550 5.1.1 no such user");
	m.st.code = REASON_RCPTS;
	if (queue_set_aside(&q, &m, "550 5.1.1 no such user", &e) < 0)
		bail("queue_set_aside: %s", e.msg);
	queue_entry_free(&m);

	commit(&q, E_FAILED3, 600, &m);
	if (queue_set_aside(&q, &m, "554 no", &e) < 0)
		bail("queue_set_aside: %s", e.msg);
	queue_entry_free(&m);
	path = xasprintf("%s/failed/%s.notice", qdir, ids[E_FAILED3]);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) < 0)
		bail("cannot write %s", path);
	free(path);
	queue_close(&q);
}

/* The lines mailq shows for an entry, "ID  AGE  SIZE  FROM" first. */
static const struct {
	enum entry which;
	const char *lines; /* after "ID  " */
} text_cases[] = {
	{E_QUEUED, "10m  42  <>\n    account: default  subject: t\n    a@example.org  (pending)\n"
		   "    queued\n"},
	{E_RETRYING, "3h  42  me@example.org\n    account: default  subject: t\n"
		     "    a@example.org  (delivered)\n    b@example.net  (failed: 550 no\\x01)\n"
		     "    retrying at "},
	{E_RETRYING, ": server busy \\x1b[31m \"quoted\" \\ back\n"
		     "    last reply: 451 4.3.2 try\\x07 later\n"},
	{E_HELD, "3d  42  me@example.org\n    account: default  subject: t\n"
		 "    a@example.org  (pending)\n    held: account: no password\n"},
	{E_FROZEN, "10m  42  me@example.org\n    account: default  subject: t\n"
		   "    a@example.org  (pending)\n    held with --hold; --release sends it\n"
		   "    was: x\n"},
	{E_FAILED, "10m  42  me@example.org\n    account: default  subject: t\n"
		   "    a@example.org  (pending)\n    failed: 550 rejected\n"},
	{E_DAMAGED, "0  ?\n    damaged: no trailer"},
	{E_LOCKED, "0s  42  me@example.org\n    account: default  subject: t\n"
		   "    a@example.org  (pending)\n    queued\n"},
	/* The reply refusing b is shown beside it, once: it is the message's
	 * reason; the Subject escaped, unfolded and cut at 60 bytes. */
	{E_FAILED2, "10m  42  me@example.org\n    account: default  subject: t\n"
		    "    a@example.org  (delivered)\n    b@example.net  (failed: 550 5.1.1 no such "
		    "user)\n    failed: 550 5.1.1 no such user\n"},
	{E_FAILED3, "10m  105  me@example.org\n    account: default  subject: \\x1b[31m red "
		    "\xc3\xa9t\xc3\xa9 folded, and then a long tail past sixty byte...\n"},
};

static void
test_text(void)
{
	struct error e;
	char *out = run(list_gathered, "mailq -C CONF", &e);

	if (out == NULL)
		bail("mailq: %s", e.msg);
	if (getenv("MAILQ_T_SHOW") != NULL)
		fputs(out, stderr);
	for (size_t i = 0; i < sizeof text_cases / sizeof text_cases[0]; i++) {
		const char *at = strstr(out, ids[text_cases[i].which]);
		char *want = xasprintf("%s%s", text_cases[i].lines[0] == ':' ? "" : "  ",
				       text_cases[i].lines);

		ok(at != NULL && strstr(at, want) != NULL, "mailq text, entry %d, part %zu",
		   (int)text_cases[i].which, i);
		free(want);
	}
	ok(strchr(out, '\x1b') == NULL && strchr(out, '\x07') == NULL,
	   "no raw control byte reaches the listing");
	ok(strstr(out, ids[E_FAILED]) > strstr(out, ids[E_LOCKED]), "failed/ is listed after msg/");
	free(out);
}

/* Pieces of the --json output, each after the entry's id. */
static const struct {
	enum entry which;
	const char *piece;
} json_cases[] = {
	{E_QUEUED, "\", \"queue\": \"msg\", \"state\": \"queued\", \"created\": "},
	{E_QUEUED, ", \"size\": 42, \"account\": \"default\", \"from\": \"\", \"subject\": \"t\", "
		   "\"recipients\": [{\"addr\": \"a@example.org\", \"status\": \"pending\", "
		   "\"reply\": null}], \"attempts\": 0, \"next_attempt\": 0, \"reason\": null, "
		   "\"last_reply\": null, \"uncertain\": false}"},
	{E_RETRYING, "\"state\": \"retrying\""},
	{E_RETRYING,
	 "\"recipients\": [{\"addr\": \"a@example.org\", \"status\": \"delivered\", "
	 "\"reply\": \"250 ok\"}, {\"addr\": \"b@example.net\", \"status\": \"failed\", "
	 "\"reply\": \"550 no\\\\x01\"}], \"attempts\": 2, "},
	/* The code, never the translated detail. */
	{E_RETRYING, "\"reason\": \"temporary-reject\", "
		     "\"last_reply\": \"451 4.3.2 try\\\\x07 later\""},
	{E_HELD, "\"state\": \"held\""},
	/* A free-text reason of an older outbox has no code. */
	{E_HELD, "\"reason\": \"other\""},
	{E_FROZEN, "\"state\": \"held\""},
	{E_FAILED, "\"queue\": \"failed\", \"state\": \"failed\""},
	{E_FAILED2, "\"reason\": \"recipients-rejected\""},
	{E_DAMAGED, "\"state\": \"damaged\""},
	{E_DAMAGED, "\"account\": null, \"from\": null, \"subject\": null, \"recipients\": [], "},
	{E_DAMAGED, "\"reason\": \"damaged\""},
	{E_LOCKED, "\"state\": \"queued\""},
	{E_FAILED3, "\"subject\": \"\\\\x1b[31m red \xc3\xa9t\xc3\xa9 folded, and then a long tail "
		    "past sixty bytes\""},
};

/* Whether python's json module accepts text (skipped without python). */
static void
check_json_valid(const char *text)
{
	char *path = xasprintf("%s/out.json", dir);
	char *cmd = xasprintf("/usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "
			      "'%s' 2>/dev/null",
			      path);
	FILE *f;
	int status;

	if (access("/usr/bin/python3", X_OK) != 0) {
		skip("no /usr/bin/python3 to check the JSON");
		goto out;
	}
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		bail("cannot write %s", path);
	status = system(cmd);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "--json is valid JSON");
out:
	free(cmd);
	free(path);
}

static void
test_json(void)
{
	struct error e;
	char *out = run(list_gathered, "mailq -C CONF --json", &e);

	if (out == NULL)
		bail("mailq --json: %s", e.msg);
	if (getenv("MAILQ_T_SHOW") != NULL)
		fputs(out, stderr);
	for (size_t i = 0; i < sizeof json_cases / sizeof json_cases[0]; i++) {
		const char *at = strstr(out, ids[json_cases[i].which]);
		const char *end = at != NULL ? strchr(at, '\n') : NULL;
		const char *found = at != NULL ? strstr(at, json_cases[i].piece) : NULL;

		ok(found != NULL && (end == NULL || found < end), "mailq --json, entry %d: %s",
		   (int)json_cases[i].which, json_cases[i].piece);
	}
	ok(strncmp(out, "{\"version\": 1, \"messages\": [\n {\"id\": ",
		   strlen("{\"version\": 1, \"messages\": [\n {\"id\": ")) == 0 &&
		   contains(out, "\n]}\n"),
	   "a versioned object, one message a line");
	check_json_valid(out);
	free(out);
}

static void
test_empty(void)
{
	char *saved = qdir;
	struct error e;
	char *out;

	qdir = xasprintf("%s/empty", dir);
	write_conf(qdir);
	out = run(list_gathered, "mailq -C CONF", &e);
	is_string("Mail queue is empty\n", out, "an empty queue says so");
	free(out);
	out = run(list_gathered, "mailq -C CONF --json", &e);
	is_string("{\"version\": 1, \"messages\": []}\n", out,
		  "an empty queue has no messages in JSON");
	free(out);
	free(qdir);
	qdir = saved;
}

static void
copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char block[4096];
	size_t n;

	if (in == NULL || out == NULL)
		bail("cannot copy %s to %s: %s", from, to, strerror(errno));
	while ((n = fread(block, 1, sizeof block, in)) > 0)
		if (fwrite(block, 1, n, out) != n)
			bail("cannot write %s", to);
	if (fclose(in) != 0 || fclose(out) != 0)
		bail("cannot copy %s to %s", from, to);
}

/* A listing of many messages is handed out in pieces as it is made, each
 * at most 64 KiB and one message, so mailq's memory does not grow with
 * the queue; together they are the whole listing, in order. */
static void
test_big(void)
{
	char *saved = qdir;
	struct queue q;
	struct queue_entry m;
	struct error e;
	static const char head[] = "{\"version\": 1, \"messages\": [\n {\"id\": \"";
	char *out, first[64], last[64], queued[64];
	enum { N = 1500 };

	snprintf(queued, sizeof queued, "%s", ids[E_QUEUED]);

	qdir = xasprintf("%s/big", dir);
	write_conf(qdir);
	if (queue_open(&q, qdir, &e) < 0)
		bail("queue_open: %s", e.msg);
	commit(&q, E_QUEUED, 60, &m);
	queue_entry_free(&m);
	/* copies of the committed file under other ids: no fsync each */
	for (int i = 1; i < N; i++) {
		char *from = xasprintf("%s/msg/%s", qdir, ids[E_QUEUED]);
		char *to = xasprintf("%s/msg/%023x", qdir, i);

		copy_file(from, to);
		free(from);
		free(to);
	}
	queue_close(&q);
	snprintf(first, sizeof first, "%023x", 1);
	snprintf(last, sizeof last, "%s", ids[E_QUEUED]);
	out = run(list_gathered, "mailq -C CONF", &e);
	ok(out != NULL && strlen(out) > 2 * 64 * 1024, "%d messages: over 128 KiB of text", N);
	ok(drains >= 2, "handed out in pieces as it goes: %zu", drains);
	ok(biggest < 64 * 1024 + 1024, "each piece at most 64 KiB and one message: %zu", biggest);
	ok(out != NULL && strncmp(out, first, strlen(first)) == 0 && strstr(out, last) != NULL &&
		   strstr(out, last) > strstr(out, first),
	   "the oldest first, the newest in it too");
	free(out);
	out = run(list_gathered, "mailq -C CONF --json", &e);
	ok(drains >= 2 && biggest < 64 * 1024 + 1024, "--json in pieces too: %zu, at most %zu",
	   drains, biggest);
	ok(out != NULL && strncmp(out, head, strlen(head)) == 0 &&
		   strncmp(out + strlen(head), first, strlen(first)) == 0 &&
		   strcmp(out + strlen(out) - 4, "\n]}\n") == 0,
	   "--json: one object from the first piece to the last");
	free(out);
	snprintf(ids[E_QUEUED], sizeof ids[E_QUEUED], "%s", queued);
	free(qdir);
	qdir = saved;
}

/* Edits, in order: a command line with ids named by entry (#1 is
 * E_QUEUED, #2 E_RETRYING...), what it prints, and a piece of the
 * listing afterwards. */
static const struct {
	const char *args;
	const char *printed; /* NULL: an error */
	const char *after;   /* or a piece of the error */
	enum status status;
} edits[] = {
	{"--hold=#1", "#1 held\n",
	 "#1  10m  42  <>\n    account: default  subject: t\n    a@example.org  (pending)\n"
	 "    held with --hold; --release sends it\n",
	 ST_OK},
	{"--release=#1", "#1 released\n",
	 "#1  10m  42  <>\n    account: default  subject: t\n    a@example.org  (pending)\n"
	 "    queued\n",
	 ST_OK},
	{"--release=#3", "#3 released\n", "    a@example.org  (pending)\n    queued: account",
	 ST_OK},
	{"--release=#2 --hold=#4", "#4 held\n#2 released\n",
	 "(failed: 550 no\\x01)\n    queued: server busy", ST_OK},
	{"--release=#4", "#4 released\n", "    queued: was: x\n", ST_OK},
	{"--remove=#1", "#1 removed\n", NULL, ST_OK},
	{"--remove=#1", NULL, "message #1 is being delivered right now, or is not queued",
	 ST_USAGE},
	{"--hold=0000000000000000000000000", NULL, "no queued message 0000000000000000000000000",
	 ST_USAGE},
	{"--hold=../../etc/passwd", NULL, "no queued message ../../etc/passwd", ST_USAGE},
	{"--hold=#7", NULL, "message #7 is being delivered right now", ST_USAGE},
	{"--release=#6", NULL, "#6", ST_DATAERR},
	{"--hold=#2 --port=2525", NULL, "--port is a setting for one message", ST_USAGE},
	{"--remove=#3 --hold=#2", "#3 removed\n#2 held\n", "held with --hold", ST_OK},
	/* Messages in failed/ (issue 12): listed, and edited like the rest. */
	{"--hold=#5", NULL, "message #5 has failed and is not queued; --requeue=#5", ST_USAGE},
	{"--requeue=#5", "#5 requeued\n", "    a@example.org  (pending)\n    queued\n", ST_OK},
	{"--release=#8", "#8 requeued\n",
	 "    a@example.org  (delivered)\n    b@example.net  (pending)\n    queued\n", ST_OK},
	{"--requeue=#8 --requeue=#2", "#8 requeued\n#2 requeued\n",
	 "    b@example.net  (pending)\n    queued", ST_OK},
	{"--remove=#9", "#9 removed\n", NULL, ST_OK},
	{"--requeue=#9", NULL, "message #9 is being delivered right now, or is not queued",
	 ST_USAGE},
	{"--requeue=nonsense", NULL, "no queued message nonsense", ST_USAGE},
};

/* fmt with each "#N" replaced by the id of entry N - 1. */
static char *
with_ids(const char *fmt)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	for (const char *p = fmt; *p != '\0'; p++) {
		if (p[0] == '#' && p[1] >= '1' && p[1] <= '0' + E__COUNT)
			buf_puts(&b, ids[*++p - '1']);
		else
			buf_append(&b, p, 1);
	}
	s = xstrdup(b.data != NULL ? b.data : "");
	buf_free(&b);
	return s;
}

static void
test_edit(void)
{
	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		char *opts = with_ids(edits[i].args);
		char *line = xasprintf("outbox -C CONF %s", opts);
		char *after = edits[i].after != NULL ? with_ids(edits[i].after) : NULL;
		struct error e;
		char *out = run(mailq_edit, line, &e);

		if (edits[i].printed != NULL) {
			char *want = with_ids(edits[i].printed);
			char *list = run(list_gathered, "mailq -C CONF", &e);

			is_string(want, out, "edit %zu: %s", i, edits[i].args);
			if (after != NULL)
				ok(contains(list, after), "... then mailq shows the change");
			else
				ok(!contains(list, ids[strchr(edits[i].args, '#')[1] - '1']),
				   "... then mailq no longer lists it");
			free(list);
			free(want);
		} else {
			ok(out == NULL && e.status == edits[i].status && contains(e.msg, after),
			   "edit %zu: %s refused: %s", i, edits[i].args, e.msg);
		}
		free(out);
		free(after);
		free(line);
		free(opts);
	}
}

static bool
exists(const char *sub, enum entry which, const char *suffix)
{
	char *path = xasprintf("%s/%s/%s%s", qdir, sub, ids[which], suffix);
	bool there = access(path, F_OK) == 0;

	free(path);
	return there;
}

/* What the edits of failed/ left on disk, and the state they gave. */
static void
test_failed_files(void)
{
	struct queue q;
	struct queue_entry m;
	struct error e;

	ok(!exists("failed", E_FAILED, "") && !exists("failed", E_FAILED, ".state") &&
		   exists("msg", E_FAILED, "") && exists("state", E_FAILED, ""),
	   "--requeue moved failed/ID back to msg/ with its state, failed/ID.state gone");
	ok(!exists("failed", E_FAILED3, "") && !exists("failed", E_FAILED3, ".state") &&
		   !exists("failed", E_FAILED3, ".notice") && !exists("msg", E_FAILED3, ""),
	   "--remove of a failed message deleted it, its state and its notice");
	if (queue_open(&q, qdir, &e) < 0)
		bail("queue_open: %s", e.msg);
	is_int(0, queue_load(&q, ids[E_FAILED2], false, &m, &e), "the requeued message loads");
	ok(m.st.attempts == 0 && m.st.first_contact == 0 && m.st.next_attempt == 0 && !m.st.held &&
		   !m.st.frozen && m.st.code == REASON_NONE && m.st.reason == NULL,
	   "its retry schedule and expiry start afresh, due now, no reason");
	ok(m.env.nrcpts == 2 && m.env.rcpts[0].status == QRCPT_DELIVERED &&
		   m.env.rcpts[1].status == QRCPT_PENDING && m.env.rcpts[1].reply == NULL,
	   "the refused recipient is pending again, the delivered one is not sent again");
	queue_entry_free(&m);
	queue_close(&q);
}

int
main(void)
{
	plan_lazy();
	dir = test_tmpdir("mailq-t");
	setenv("HOME", dir, 1);
	setenv("XDG_STATE_HOME", dir, 1);
	conf = xasprintf("%s/config", dir);
	qdir = xasprintf("%s/queue", dir);
	write_conf(qdir);
	strlist_init(&args);
	fill_queue();
	test_text();
	test_json();
	test_edit();
	test_failed_files();
	queue_entry_free(&locked);
	test_empty();
	test_big();
	strlist_free(&args);
	free(qdir);
	free(conf);
	test_tmpdir_free(dir);
	return 0;
}
