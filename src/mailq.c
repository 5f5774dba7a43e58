/* mailq.c - the queue as a person or a program sees it: mailq / -bp (text
 * or --json) and the edits --remove, --hold, --release and --requeue.
 *
 * Untrusted input: the queue's files, read by queue.c (envelope values
 * revalidated there), and the first bytes of each message, whose Subject
 * is found with message.c's field parser; reasons, replies and the
 * Subject are shown through buf_append_visible(), so an old state file
 * with raw control bytes shows none either. */
#include "config.h"

#include "mailq.h"

#include "i18n.h"
#include "message.h"
#include "queue.h"
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *
rcpt_status_name(enum rcpt_status st)
{
	return st == QRCPT_DELIVERED ? N_("delivered")
	       : st == QRCPT_FAILED  ? N_("failed")
				     : N_("pending");
}

/* queued, held, retrying, failed or damaged: English for --json, and
 * through _() for a person. */
static const char *
entry_state(const struct queue_listed *l)
{
	const struct queue_entry *m = l->m;

	if (l->damaged)
		return N_("damaged");
	if (l->failed)
		return N_("failed");
	if (m->st.held || m->st.frozen)
		return N_("held");
	return m->st.next_attempt > time(NULL) ? N_("retrying") : N_("queued");
}

/* The reason in the language in use (NULL for none). */
static const char *
reason_of(const struct queue_entry *m)
{
	return reason_shown(m->st.code, m->st.reason, m->st.reason_lang);
}

/* Queue files may hold server text written by an older outbox, before it
 * was made visible on arrival: it goes through buf_append_visible() again
 * (a no-op on text already made visible). */
static void
put_visible(struct buf *b, const char *s)
{
	buf_append_visible(b, s, strlen(s));
}

static void
json_string(struct buf *b, const char *s)
{
	struct buf shown;

	if (s == NULL) {
		buf_puts(b, "null");
		return;
	}
	buf_init(&shown, 0);
	put_visible(&shown, s);
	buf_puts(b, "\"");
	for (size_t i = 0; i < shown.len; i++) {
		if (shown.data[i] == '"' || shown.data[i] == '\\')
			buf_printf(b, "\\%c", shown.data[i]);
		else
			buf_append(b, shown.data + i, 1);
	}
	buf_puts(b, "\"");
	buf_free(&shown);
}

/* At most this many bytes of a Subject are shown in the text listing. */
#define SUBJECT_SHOWN_MAX 60

struct subject_search {
	struct buf text;
	bool found;
};

/* The Subject field's value unfolded (RFC 5322 2.2.3), tabs as spaces,
 * without the blanks around it. */
static int
subject_field(void *ctx, const struct message_field *f, struct error *e)
{
	struct subject_search *s = ctx;

	(void)e;
	if (!message_field_is(f, "Subject"))
		return 0;
	for (size_t i = 0; i < f->value_len; i++) {
		char c = f->value[i] == '\t' ? ' ' : f->value[i];

		if (c != '\r' && c != '\n' && (c != ' ' || s->text.len > 0))
			buf_append(&s->text, &c, 1);
	}
	while (s->text.len > 0 && s->text.data[s->text.len - 1] == ' ')
		s->text.data[--s->text.len] = '\0';
	s->found = true;
	return 1;
}

/* The message's Subject as it is in the file (RFC 2047 words are not
 * decoded), unfolded; NULL without one.  Newly allocated. */
static char *
subject_of(const struct buf *head)
{
	struct subject_search s = {.found = false};
	struct error e;
	char *text = NULL;

	buf_init(&s.text, 0);
	if (head->len > 0)
		message_fields(head->data, head->len, subject_field, &s, &e);
	if (s.found)
		text = xstrndup(s.text.data != NULL ? s.text.data : "", s.text.len);
	buf_free(&s.text);
	return text;
}

/* "account: NAME  subject: TEXT", the subject escaped and cut. */
static void
put_account_subject(struct buf *out, const struct queue_entry *m, const struct buf *head)
{
	char *subject = subject_of(head);
	size_t n = subject != NULL ? strlen(subject) : 0;
	size_t keep = utf8_cut(subject != NULL ? subject : "", n, SUBJECT_SHOWN_MAX);

	buf_printf(out, "    %s ", _("account:"));
	put_visible(out, m->env.account);
	buf_printf(out, "  %s ", _("subject:"));
	if (subject == NULL)
		buf_puts(out, _("(none)"));
	else
		buf_append_visible(out, subject, keep);
	if (keep < n)
		buf_puts(out, "...");
	buf_puts(out, "\n");
	free(subject);
}

/* The version of the --json schema (doc/mailq-json.md): a change that
 * could break a reader increments it. */
#define JSON_VERSION 1

static void
json_recipients(const struct queue_entry *m, struct buf *out)
{
	buf_puts(out, "[");
	for (size_t k = 0; k < m->env.nrcpts; k++) {
		buf_puts(out, k ? ", {\"addr\": " : "{\"addr\": ");
		json_string(out, m->env.rcpts[k].addr);
		buf_printf(out, ", \"status\": \"%s\", \"reply\": ",
			   rcpt_status_name(m->env.rcpts[k].status));
		json_string(out, m->env.rcpts[k].reply);
		buf_puts(out, "}");
	}
	buf_puts(out, "]");
}

/* The i-th message of the --json listing. */
static void
json_entry(const struct queue_listed *l, size_t i, struct buf *out)
{
	const struct queue_entry *m = l->m;
	char *subject = subject_of(l->head);

	buf_puts(out, i ? ",\n {\"id\": " : "\n {\"id\": ");
	json_string(out, m->id);
	buf_printf(out,
		   ", \"queue\": \"%s\", \"state\": \"%s\", \"created\": %lld, "
		   "\"size\": %llu, \"account\": ",
		   l->failed ? "failed" : "msg", entry_state(l), (long long)m->env.created,
		   m->data_len);
	json_string(out, m->env.account);
	buf_puts(out, ", \"from\": ");
	json_string(out, m->env.from);
	buf_puts(out, ", \"subject\": ");
	json_string(out, subject);
	buf_puts(out, ", \"recipients\": ");
	json_recipients(m, out);
	buf_printf(out, ", \"attempts\": %u, \"next_attempt\": %lld, \"reason\": ", m->st.attempts,
		   (long long)m->st.next_attempt);
	json_string(out,
		    reason_code(m->st.code != REASON_NONE || m->st.reason == NULL ? m->st.code
										  : REASON_OTHER));
	buf_puts(out, ", \"last_reply\": ");
	json_string(out, m->st.last_reply);
	buf_printf(out, ", \"uncertain\": %s}", m->st.uncertain ? "true" : "false");
	free(subject);
}

static void
age_text(time_t since, char *out, size_t len)
{
	long s = (long)(time(NULL) - since);

	if (since <= 0) {
		/* a damaged file's: unknown */
		snprintf(out, len, "?");
		return;
	}
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(out, len, "%lds", s);
	else if (s < 7200)
		snprintf(out, len, "%ldm", s / 60);
	else if (s < 2 * 86400)
		snprintf(out, len, "%ldh", s / 3600);
	else
		snprintf(out, len, "%ldd", s / 86400);
}

/* "ADDR  (STATUS)", with the server's reply about it when it is not the
 * last reply, which is shown once below (delivered: no reply). */
static void
put_recipient(struct buf *out, const struct queue_entry *m, const struct queue_rcpt *r)
{
	buf_printf(out, "    %s  (%s", r->addr, _(rcpt_status_name(r->status)));
	if (r->status != QRCPT_DELIVERED && r->reply != NULL &&
	    (m->st.last_reply == NULL || strcmp(r->reply, m->st.last_reply) != 0)) {
		buf_puts(out, ": ");
		put_visible(out, r->reply);
	}
	buf_puts(out, ")\n");
}

/* One message of the text listing. */
static void
human_entry(const struct queue_listed *l, struct buf *out)
{
	const struct queue_entry *m = l->m;
	const char *state = entry_state(l);
	const char *reason = reason_of(m);
	char age[32], when[64] = "";

	age_text(m->env.created, age, sizeof age);
	buf_printf(out, "%s  %s  %llu  %s\n", m->id, age, m->data_len,
		   m->env.from == NULL ? "?"
		   : *m->env.from      ? m->env.from
				       : "<>");
	if (!l->damaged)
		put_account_subject(out, m, l->head);
	for (size_t k = 0; k < m->env.nrcpts; k++)
		put_recipient(out, m, &m->env.rcpts[k]);
	if (strcmp(state, "retrying") == 0) {
		struct tm tm;
		char stamp[32];

		if (localtime_r(&m->st.next_attempt, &tm) != NULL &&
		    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm) > 0)
			snprintf(when, sizeof when, _(" at %s"), stamp);
	}
	buf_puts(out, "    ");
	if (l->damaged) {
		put_visible(out, reason != NULL ? reason : _(state));
	} else if (m->st.frozen) {
		buf_puts(out, _("held with --hold; --release sends it"));
		if (reason != NULL) {
			buf_puts(out, "\n    ");
			put_visible(out, reason);
		}
	} else {
		buf_printf(out, "%s%s", _(state), when);
		if (reason != NULL) {
			buf_puts(out, ": ");
			put_visible(out, reason);
		}
	}
	buf_puts(out, "\n");
	if (m->st.last_reply != NULL) {
		buf_printf(out, "    %s ", _("last reply:"));
		put_visible(out, m->st.last_reply);
		buf_puts(out, "\n");
	}
}

struct listing {
	bool json;
	struct buf *out;
	int (*drain)(struct buf *out, struct error *e);
	size_t n;
};

/* The output is handed to drain whenever it holds this much. */
#define DRAIN_AT (64 * 1024)

static int
list_entry(void *ctx, struct queue_listed *l, struct error *e)
{
	struct listing *li = ctx;

	if (li->json)
		json_entry(l, li->n, li->out);
	else
		human_entry(l, li->out);
	li->n++;
	return li->out->len >= DRAIN_AT ? li->drain(li->out, e) : 0;
}

int
mailq_list(const struct request *r, struct buf *out, int (*drain)(struct buf *out, struct error *e),
	   struct error *e)
{
	struct session s = {0};
	struct queue q = {.dirfd = -1, .lock_fd = -1};
	struct listing li = {.json = r->json, .out = out, .drain = drain};
	int rc = session_open_for_queue(&s, r, &q, e);

	if (rc == 0 && r->json)
		buf_printf(out, "{\"version\": %d, \"messages\": [", JSON_VERSION);
	if (rc == 0)
		rc = queue_list(&q, list_entry, &li, e);
	if (rc == 0 && r->json)
		buf_puts(out, li.n ? "\n]}\n" : "]}\n");
	else if (rc == 0 && li.n == 0)
		buf_printf(out, "%s\n", _("Mail queue is empty"));
	queue_close(&q);
	session_close(&s);
	return rc;
}

enum edit { EDIT_REMOVE, EDIT_HOLD, EDIT_RELEASE, EDIT_REQUEUE };

/* --requeue: refused recipients are tried again, and the message is due
 * now with a fresh retry schedule and expiry. */
static void
requeue_reset(struct queue_entry *m)
{
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		if (m->env.rcpts[i].status != QRCPT_FAILED)
			continue;
		m->env.rcpts[i].status = QRCPT_PENDING;
		free(m->env.rcpts[i].reply);
		m->env.rcpts[i].reply = NULL;
	}
	m->st.attempts = 0;
	m->st.first_attempt = m->st.first_contact = 0;
	m->st.held = m->st.frozen = false;
	queue_reason_set(&m->st, REASON_NONE, NULL);
}

/* An edit of a message in failed/: --remove deletes it, --release and
 * --requeue put it back into the queue, due now. */
static int
edit_failed(struct queue *q, struct queue_entry *m, enum edit what, struct buf *out,
	    struct error *e)
{
	if (what == EDIT_HOLD)
		return error_set(
			e, ST_USAGE,
			_("message %s has failed and is not queued; --requeue=%s queues it "
			  "again, --remove=%s deletes it"),
			m->id, m->id, m->id);
	if (what == EDIT_REMOVE) {
		if (queue_remove_failed(q, m, e) < 0)
			return -1;
		buf_printf(out, _("%s removed\n"), m->id);
		return 0;
	}
	requeue_reset(m);
	m->st.next_attempt = 0;
	if (queue_requeue(q, m, e) < 0)
		return -1;
	buf_printf(out, _("%s requeued\n"), m->id);
	return 0;
}

static int
edit_queued(struct queue *q, struct queue_entry *m, enum edit what, struct buf *out,
	    struct error *e)
{
	if (what == EDIT_REMOVE) {
		if (queue_remove(q, m, e) < 0)
			return -1;
		buf_printf(out, _("%s removed\n"), m->id);
		return 0;
	}
	if (what == EDIT_REQUEUE)
		requeue_reset(m);
	m->st.frozen = what == EDIT_HOLD;
	if (what == EDIT_RELEASE)
		m->st.held = false;
	m->st.next_attempt = 0;
	if (queue_save_state(q, m, e) < 0)
		return -1;
	buf_printf(out,
		   what == EDIT_HOLD      ? _("%s held\n")
		   : what == EDIT_RELEASE ? _("%s released\n")
					  : _("%s requeued\n"),
		   m->id);
	return 0;
}

static int
edit_one(struct queue *q, const char *id, enum edit what, struct buf *out, struct error *e)
{
	struct queue_entry m;
	bool failed = false;
	int rc = queue_load(q, id, true, &m, e);

	if (rc == 1) {
		rc = queue_load_failed(q, id, &m, e);
		failed = rc == 0;
	}
	if (rc == 1)
		return error_set(e, ST_USAGE,
				 _("message %s is being delivered right now, or is not queued; "
				   "see mailq"),
				 id);
	if (rc < 0) {
		if (e->status != ST_DATAERR)
			error_set(e, ST_USAGE, _("no queued message %s; see mailq"), id);
		return -1;
	}
	rc = failed ? edit_failed(q, &m, what, out, e) : edit_queued(q, &m, what, out, e);
	queue_entry_free(&m);
	return rc;
}

int
mailq_edit(const struct request *r, struct buf *out, struct error *e)
{
	const struct {
		const struct strlist *ids;
		enum edit what;
	} edits[] = {
		{&r->remove, EDIT_REMOVE},
		{&r->hold, EDIT_HOLD},
		{&r->release, EDIT_RELEASE},
		{&r->requeue, EDIT_REQUEUE},
	};
	struct session s = {0};
	struct queue q = {.dirfd = -1, .lock_fd = -1};
	int rc = session_open_for_queue(&s, r, &q, e);

	for (size_t k = 0; rc == 0 && k < sizeof edits / sizeof edits[0]; k++)
		for (size_t i = 0; rc == 0 && i < edits[k].ids->n; i++)
			rc = edit_one(&q, edits[k].ids->v[i], edits[k].what, out, e);
	queue_close(&q);
	session_close(&s);
	return rc;
}
