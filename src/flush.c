/* flush.c - the queue flush (-q, and after a delivery): which messages are
 * due, one connection per account, one flusher at a time, passes until
 * nobody asks for another, and expiry.
 *
 * Untrusted input: the queue's files, loaded and checked by queue.c. */
#include "config.h"

#include "deliver.h"

#include "i18n.h"
#include "log.h"
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool
contains(const char *hay, const char *needle)
{
	return needle == NULL || (hay != NULL && strcasestr(hay, needle) != NULL);
}

static bool
wanted(const struct flush_filter *f, const struct queue_entry *m, time_t now)
{
	bool rcpt = f->rcpt == NULL;

	for (size_t i = 0; i < m->env.nrcpts && !rcpt; i++)
		rcpt = contains(m->env.rcpts[i].addr, f->rcpt);
	if (!rcpt || !contains(m->env.from, f->sender))
		return false;
	if (f->only_account != NULL && strcmp(f->only_account, m->env.account) != 0)
		return false;
	if (m->st.frozen)
		return false; /* --hold: until --release */
	return f->force || (!m->st.held && m->st.next_attempt <= now);
}

struct slots {
	struct deliver_slot *v;
	size_t n;
};

static struct deliver_slot *
slot_for(struct slots *s, struct deliver_ctx *c, struct account *a)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].account == a)
			return &s->v[i];
	s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
	deliver_slot_init(&s->v[s->n], a, c->verbose);
	return &s->v[s->n++];
}

/* One message of a flush. */
static void
flush_one(struct deliver_ctx *c, const struct flush_filter *f, struct slots *slots,
	  struct deliver_slot *reuse, const char *id)
{
	struct queue_entry m;
	struct account *a;
	struct error e;
	time_t now = time(NULL);
	long max_age;
	int rc;

	if (queue_not_due(c->q, id, now, f->force))
		return;
	rc = queue_load(c->q, id, true, &m, &e);
	if (rc < 0)
		log_error("%s", e.msg);
	if (rc != 0)
		return;
	if (!wanted(f, &m, now)) {
		queue_entry_free(&m);
		return;
	}
	a = conf_find_account(c->conf, m.env.account);
	if (a == NULL) {
		if (!m.st.held) {
			char *why = xasprintf(_("the account %s no longer exists in the "
						"configuration"),
					      m.env.account);

			m.st.held = true;
			queue_reason_set(&m.st, REASON_NO_ACCOUNT, why);
			log_error(_("message %s held: %s"), m.id, why);
			free(why);
			if (queue_save_state(c->q, &m, &e) < 0)
				log_error("%s", e.msg);
		}
		queue_entry_free(&m);
		return;
	}
	{
		struct deliver_slot *slot =
			reuse != NULL && reuse->account == a ? reuse : slot_for(slots, c, a);
		bool was_held = m.st.held;

		max_age = account_long(a, KW_QUEUE_MAX_AGE);
		if (m.st.first_contact != 0 && max_age > 0 && now - m.st.first_contact >= max_age) {
			char *reason =
				max_age >= 86400
					? xasprintf(_("no delivery for %ld days; giving up"),
						    max_age / 86400)
					: xasprintf(_("no delivery for %ld minutes; giving up"),
						    max_age / 60);

			deliver_give_up(c, slot, &m, REASON_EXPIRED, reason, true);
			free(reason);
			c->tally.failed++;
		} else {
			enum policy_action action = deliver_entry(c, slot, &m, &e);

			c->tally.tried++;
			c->tally.sent += action == ACT_DELIVERED;
			c->tally.failed += action == ACT_FAIL;
			/* Said once, when the message becomes held. */
			if (action == ACT_HOLD && (!was_held || c->verbose)) {
				char *advice = deliver_held_advice(c, a, &e);

				log_error(_("message %s held: %s; %s"), m.id, e.msg, advice);
				free(advice);
			}
		}
	}
	queue_entry_free(&m);
}

static bool
same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* What killed writers left behind goes; what is not a queue file is
 * moved aside and reported. */
static void
sweep(struct queue *q)
{
	struct strlist notes;

	strlist_init(&notes);
	queue_sweep(q, &notes);
	for (size_t i = 0; i < notes.n; i++)
		log_error("%s", notes.v[i]);
	strlist_free(&notes);
}

/* One pass over the queue's messages, with a progress bar (messages) for
 * a person watching a long flush. */
static void
flush_pass(struct deliver_ctx *c, const struct flush_filter *f, struct slots *slots,
	   struct deliver_slot *reuse, struct queue_ids *ids)
{
	struct progress bar;
	char id[QUEUE_ID_LEN + 1];
	struct error e;
	int rc;

	progress_begin(&bar, PROGRESS_MESSAGES, _("flushing"), ids->n);
	c->flush_bar = bar.active;
	while ((rc = queue_ids_next(ids, id, &e)) == 1) {
		if (f->id_prefix == NULL || strncmp(id, f->id_prefix, strlen(f->id_prefix)) == 0)
			flush_one(c, f, slots, reuse, id);
		progress_update(&bar, ids->next);
	}
	if (rc < 0)
		log_error("%s", e.msg);
	progress_end(&bar);
	c->flush_bar = false;
}

/* The marker goes before the listing: a message committed meanwhile is
 * either listed (and the marker made again) or marked after the removal. */
static void
unmark_if_empty(struct queue *q)
{
	struct error e;

	queue_mark(q, false);
	if (queue_has_messages(q, &e) != 0)
		queue_mark(q, true);
}

int
deliver_flush(struct deliver_ctx *c, const struct flush_filter *f, struct deliver_slot *reuse,
	      struct error *e)
{
	struct slots slots = {0};
	int got = queue_lock_flusher(c->q, e);
	int rc = 0;

	if (got < 0)
		return -1;
	if (got == 1) {
		/* Another flusher runs: ask it for one more pass. */
		queue_ask_again(c->q);
		c->tally.deferred = true;
		return 0;
	}
	sweep(c->q);
	for (int pass = 0; pass < 5; pass++) {
		struct timespec before = queue_trigger_time(c->q);
		struct timespec asked = queue_again_time(c->q);
		struct queue_ids ids;

		if (queue_ids(c->q, &ids, e) < 0) {
			rc = -1;
			break;
		}
		flush_pass(c, f, &slots, reuse, &ids);
		queue_ids_free(&ids);
		if (same_time(before, queue_trigger_time(c->q)) &&
		    same_time(asked, queue_again_time(c->q)))
			break;
	}
	for (size_t i = 0; i < slots.n; i++)
		deliver_slot_close(&slots.v[i]);
	free(slots.v);
	if (rc == 0)
		unmark_if_empty(c->q);
	return rc;
}

void
deliver_more_for_account(struct deliver_ctx *c, struct deliver_slot *slot)
{
	struct flush_filter f = {.only_account = slot->account->name};
	struct slots none = {0};
	struct queue_ids ids;
	struct error e;
	char id[QUEUE_ID_LEN + 1];

	if (queue_ids(c->q, &ids, &e) < 0)
		return;
	while (slot->session != NULL && queue_ids_next(&ids, id, &e) == 1)
		flush_one(c, &f, &none, slot, id);
	queue_ids_free(&ids);
	free(none.v);
}

/* " (next try 14:05)", the date too when it is not today; "" for none. */
static void
next_try(time_t at, char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm when, today;
	char t[32];

	*out = '\0';
	if (at == 0 || localtime_r(&at, &when) == NULL || localtime_r(&now, &today) == NULL)
		return;
	if (when.tm_yday == today.tm_yday && when.tm_year == today.tm_year)
		strftime(t, sizeof t, "%H:%M", &when);
	else
		strftime(t, sizeof t, "%Y-%m-%d %H:%M", &when);
	snprintf(out, len, _(" (next try %s)"), t);
}

struct waiting {
	unsigned waiting, held;
	time_t next, now;
};

static int
count_waiting(void *ctx, struct queue_listed *l, struct error *e)
{
	struct waiting *w = ctx;
	const struct queue_state *st = &l->m->st;

	(void)e;
	if (l->failed || l->damaged)
		return 0;
	if (st->held || st->frozen) {
		w->held++;
		return 0;
	}
	w->waiting++;
	if (w->next == 0 || st->next_attempt < w->next)
		w->next = st->next_attempt > w->now ? st->next_attempt : w->now;
	return 0;
}

void
deliver_summary(struct deliver_ctx *c, struct buf *line)
{
	struct waiting w = {.now = time(NULL)};
	struct error e;
	char when[96];

	if (c->tally.deferred) {
		buf_puts(line, _("another flush is running; it was asked for one more pass"));
		return;
	}
	if (queue_list(c->q, count_waiting, &w, &e) < 0)
		w = (struct waiting){0};
	next_try(w.next, when, sizeof when);
	if (c->tally.tried == 0 && c->tally.failed == 0)
		buf_printf(line, _("nothing due: %u waiting%s, %u held"), w.waiting, when, w.held);
	else
		buf_printf(line, _("queue flushed: %u sent, %u waiting%s, %u held, %u failed"),
			   c->tally.sent, w.waiting, when, w.held, c->tally.failed);
}
