/* queue_file-t.c - tests for src/queue_file.c: a message file written and
 * read back (envelope, offsets, length), the damage its trailer catches
 * (a changed byte, a cut trailer, a wrong length), the state file written
 * and parsed back, and the envelope checks before a commit. */
#include "config.h"

#include "queue_file.h"

#include "tap/basic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADERS "Subject: hi\n\n"
#define BODY "body\n"

static int
temp_file(const char *content)
{
	char path[] = "/tmp/queue_file-t-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		bail("mkstemp failed");
	unlink(path);
	if (content != NULL && write_all(fd, content, strlen(content)) < 0)
		bail("cannot write %s", path);
	return fd;
}

static void
entry_init(struct queue_entry *m, struct queue_rcpt *rcpt)
{
	memset(m, 0, sizeof *m);
	m->fd = -1;
	*rcpt = (struct queue_rcpt){.addr = xstrdup("r@example.org")};
	m->env.account = xstrdup("work");
	m->env.from = xstrdup("f@example.org");
	m->env.rcpts = rcpt;
	m->env.nrcpts = 1;
	m->env.created = 1700000000;
}

/* Writes a message file and returns its descriptor. */
static int
write_message(struct queue_entry *m)
{
	int fd = temp_file(NULL), body = temp_file(BODY), err;

	is_int(QUEUE_WRITE_OK,
	       queue_file_write(fd, m, HEADERS, strlen(HEADERS), body, 0, &m->data_offset,
				&m->data_len, &err),
	       "written");
	close(body);
	return fd;
}

/* Reads fd back; returns queue_file_read's result and frees what it got. */
static int
read_back(int fd, const char **why, struct queue_entry *out)
{
	int rc;

	memset(out, 0, sizeof *out);
	out->fd = -1;
	*why = NULL;
	rc = queue_file_read(fd, out, why);
	return rc;
}

static void
test_round_trip(void)
{
	struct queue_entry m, r;
	struct queue_rcpt rcpt;
	const char *why;
	int fd;

	entry_init(&m, &rcpt);
	fd = write_message(&m);
	is_int(strlen(HEADERS BODY), m.data_len, "the message bytes are counted");
	is_int(0, read_back(fd, &why, &r), "read back");
	is_string("work", r.env.account, "account");
	is_string("f@example.org", r.env.from, "from");
	is_int(1, r.env.nrcpts, "one recipient");
	is_string("r@example.org", r.env.nrcpts > 0 ? r.env.rcpts[0].addr : NULL, "recipient");
	is_int(1700000000, r.env.created, "created");
	is_int(m.data_offset, r.data_offset, "where the message starts");
	is_int(m.data_len, r.data_len, "its length");
	queue_envelope_free(&r.env);

	/* one byte of the body changed */
	if (pwrite(fd, "B", 1, m.data_offset + (off_t)strlen(HEADERS)) != 1)
		bail("pwrite failed");
	is_int(1, read_back(fd, &why, &r), "a changed byte: damaged");
	is_string("its checksum does not match", why, "a changed byte: why");
	queue_envelope_free(&r.env);

	/* the trailer cut short, as by a crash */
	if (ftruncate(fd, m.data_offset + (off_t)m.data_len + 10) < 0)
		bail("ftruncate failed");
	is_int(1, read_back(fd, &why, &r), "a cut trailer: damaged");
	is_string("no trailer (the file is incomplete)", why, "a cut trailer: why");
	queue_envelope_free(&r.env);
	close(fd);
	free(m.env.account);
	free(m.env.from);
	free(rcpt.addr);
}

static const struct {
	const char *name;
	const char *file;
	const char *why; /* NULL: loads */
} files[] = {
	{"a wrong length",
	 "outbox-queue 1\naccount a\nfrom \nrcpt r@x\neightbit 0\nsmtputf8 0\ncreated 1\n\nX\n"
	 "outbox-trailer 5 0000000000000000000000000000000000000000000000000000000000000000\n",
	 "its length does not match its trailer"},
	{"no empty line",
	 "x\noutbox-trailer 0 "
	 "0000000000000000000000000000000000000000000000000000000000000000\n",
	 "no end of envelope"},
	{"empty", "", "no trailer (the file is incomplete)"},
};

static void
test_damaged(void)
{
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		int fd = temp_file(files[i].file);
		struct queue_entry r;
		const char *why;

		is_int(1, read_back(fd, &why, &r), "%s: damaged", files[i].name);
		is_string(files[i].why, why, "%s: why", files[i].name);
		queue_envelope_free(&r.env);
		close(fd);
	}
}

static void
test_state(void)
{
	struct queue_entry m, r;
	struct queue_rcpt rcpt, rcpt2;
	struct buf b;

	entry_init(&m, &rcpt);
	m.st.attempts = 3;
	m.st.held = true;
	m.st.reason = xstrdup("two\r\nlines");
	rcpt.status = QRCPT_DELIVERED;
	rcpt.reply = xstrdup("250 ok");
	buf_init(&b, 0);
	queue_state_format(&b, &m);
	entry_init(&r, &rcpt2);
	is_string(NULL, queue_state_parse(b.data, b.len, &r), "the state parses back");
	is_int(3, r.st.attempts, "attempts");
	ok(r.st.held, "held");
	is_string("two  lines", r.st.reason, "the reason on one line");
	is_int(QRCPT_DELIVERED, rcpt2.status, "recipient status");
	is_string("250 ok", rcpt2.reply, "recipient reply");
	buf_free(&b);
	queue_state_free(&r.st);
	queue_state_free(&m.st);
	free(rcpt.reply);
	free(rcpt2.reply);
	free(rcpt.addr);
	free(rcpt2.addr);
	free(m.env.account);
	free(m.env.from);
	free(r.env.account);
	free(r.env.from);

	buf_init(&b, 0);
	buf_puts(&b, "outbox-state 9\n");
	entry_init(&r, &rcpt2);
	is_string("unknown format", queue_state_parse(b.data, b.len, &r), "another version");
	buf_free(&b);
	free(rcpt2.addr);
	free(r.env.account);
	free(r.env.from);
}

/* State files and their reasons: a code with a detail round-trips; one
 * written before codes existed (a free-text reason) loads as it was; a
 * code of a newer outbox is "other", not damage. */
static const struct {
	const char *text;
	enum reason code;
	const char *reason, *lang;
} reason_cases[] = {
	{"outbox-state 1\nreason-code connect-failed\nreason kein Weg\nreason-lang de\n",
	 REASON_CONNECT, "kein Weg", "de"},
	{"outbox-state 1\nreason Verbindung abgelehnt\n", REASON_NONE, "Verbindung abgelehnt",
	 NULL},
	{"outbox-state 1\nreason-code from-the-future\n", REASON_OTHER, NULL, NULL},
	{"outbox-state 1\nheld 1\n", REASON_NONE, NULL, NULL},
};

static void
test_reasons(void)
{
	for (size_t i = 0; i < sizeof reason_cases / sizeof reason_cases[0]; i++) {
		struct queue_entry r;
		struct queue_rcpt rcpt;
		char *text = xstrdup(reason_cases[i].text);

		entry_init(&r, &rcpt);
		is_string(NULL, queue_state_parse(text, strlen(text), &r), "reason case %zu parses",
			  i);
		is_int(reason_cases[i].code, r.st.code, "case %zu: code", i);
		is_string(reason_cases[i].reason, r.st.reason, "case %zu: detail", i);
		is_string(reason_cases[i].lang, r.st.reason_lang, "case %zu: language", i);
		queue_state_free(&r.st);
		free(text);
		free(rcpt.addr);
		free(r.env.account);
		free(r.env.from);
	}
	{
		struct queue_entry m, r;
		struct queue_rcpt rcpt, rcpt2;
		struct buf b;

		entry_init(&m, &rcpt);
		queue_reason_set(&m.st, REASON_AUTH, "535 no");
		is_string("en", m.st.reason_lang, "the detail is tagged with the language");
		buf_init(&b, 0);
		queue_state_format(&b, &m);
		ok(strstr(b.data, "\nreason-code auth-failed\nreason 535 no\nreason-lang en\n") !=
			   NULL,
		   "code, detail and language are written");
		entry_init(&r, &rcpt2);
		is_string(NULL, queue_state_parse(b.data, b.len, &r), "and read back");
		is_int(REASON_AUTH, r.st.code, "the code read back");
		buf_free(&b);
		queue_state_free(&m.st);
		queue_state_free(&r.st);
		free(rcpt.addr);
		free(rcpt2.addr);
		free(m.env.account);
		free(m.env.from);
		free(r.env.account);
		free(r.env.from);
	}
}

static void
test_check(void)
{
	struct queue_entry m;
	struct queue_rcpt rcpt;
	struct queue_envelope copy;
	struct error e;

	entry_init(&m, &rcpt);
	is_int(0, queue_envelope_check(&m.env, &e), "a good envelope passes");
	queue_envelope_copy(&copy, &m.env);
	is_string("r@example.org", copy.rcpts[0].addr, "the copy has the recipient");
	queue_envelope_free(&copy);
	ok(copy.rcpts == NULL && copy.nrcpts == 0, "freed and zeroed");
	free(rcpt.addr);
	rcpt.addr = xstrdup("r@example.org\r\nRSET");
	is_int(-1, queue_envelope_check(&m.env, &e), "a line break is refused");
	is_int(ST_SOFTWARE, e.status, "as an internal error");
	free(rcpt.addr);
	free(m.env.account);
	free(m.env.from);
}

int
main(void)
{
	plan_lazy();
	test_round_trip();
	test_damaged();
	test_state();
	test_reasons();
	test_check();
	return 0;
}
