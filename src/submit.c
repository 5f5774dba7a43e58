/* submit.c - from a request to a delivered message.
 *
 * Untrusted input: the message (headers parsed by message.c, addresses by
 * address.c), argv values (checked here before use), the configuration
 * (validated by conf.c).  Every address is checked for CR, LF and NUL and
 * turned into its wire form before the SMTP engine sees it. */
#include "config.h"

#include "submit.h"

#include "address.h"
#include "bs.h"
#include "conf.h"
#include "deliver.h"
#include "i18n.h"
#include "log.h"
#include "message.h"
#include "queue.h"
#include "session.h"
#include "smtp.h"
#include "spool.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

static enum message_set
set_mode(const struct account *a, enum conf_keyword k)
{
	const char *v = account_get(a, k);

	if (v == NULL || strcmp(v, "auto") == 0)
		return MESSAGE_SET_AUTO;
	return strcmp(v, "off") == 0 ? MESSAGE_SET_OFF : MESSAGE_SET_ON;
}

/* The envelope sender, in the order -f (unless the account forbids
 * overriding it), the From: header with --read-envelope-from, the
 * account's from, login@host.  "" is the null sender. */
static int
envelope_sender(const struct session *s, const char *header_from, char **out, struct error *e)
{
	const struct account *a = s->account;
	const char *from = account_get(a, KW_FROM);

	if (s->r->envelope_from != NULL &&
	    (account_bool(a, KW_ALLOW_FROM_OVERRIDE) || from == NULL || deliver_is_pattern(from)))
		return address_normalize_sender(s->r->envelope_from, out, e);
	if (s->r->read_envelope_from && header_from != NULL)
		return address_normalize_sender(header_from, out, e);
	if (from != NULL && *from != '\0' && !deliver_is_pattern(from))
		return address_normalize_sender(from, out, e);
	*out = deliver_account_address(a);
	return 0;
}

struct envelope {
	char *from;           /* wire form */
	struct strlist rcpts; /* wire form */
	bool smtputf8;
};

static int
to_wire(const char *addr, struct strlist *out, bool *smtputf8, struct error *e)
{
	bool utf8 = false;
	char *w;

	if (address_check(addr, e) < 0)
		return -1;
	w = address_to_wire(addr, &utf8, e);
	if (w == NULL)
		return -1;
	if (address_check_mailbox(w, e) < 0) {
		free(w);
		return -1;
	}
	*smtputf8 |= utf8;
	if (strlist_contains(out, w))
		free(w);
	else
		strlist_add_owned(out, w);
	return 0;
}

static int
build_envelope(const struct session *s, const char *hdr, size_t hlen, const char *sender,
	       struct envelope *env, struct error *e)
{
	struct strlist raw;
	const char *aliases = account_get(s->account, KW_ALIASES);
	const char *domain = strchr(sender, '@');
	int rc = -1;

	strlist_init(&raw);
	strlist_init(&env->rcpts);
	for (size_t i = 0; i < s->r->recipients.n; i++) {
		char *path;

		/* sendmail takes "<alice@example.org>" as an argument too. */
		if (address_normalize_sender(s->r->recipients.v[i], &path, e) < 0)
			goto out;
		strlist_add_owned(&raw, path);
	}
	if (s->r->read_recipients && message_recipients(hdr, hlen, &raw, e) < 0)
		goto out;
	if (raw.n == 0) {
		error_set(e, ST_USAGE,
			  s->r->read_recipients
				  ? _("no recipients: the message has no To, Cc or Bcc header and "
				      "none were given")
				  : _("no recipients given; name them as arguments or use -t"));
		goto out;
	}
	if (aliases != NULL && conf_aliases_expand(aliases, &raw, e) < 0)
		goto out;
	if (*sender != '\0') {
		struct strlist one;

		strlist_init(&one);
		rc = to_wire(sender, &one, &env->smtputf8, e);
		env->from = rc == 0 ? xstrdup(one.v[0]) : NULL;
		strlist_free(&one);
		if (rc < 0)
			goto out;
		rc = -1;
	} else {
		env->from = xstrdup("");
	}
	for (size_t i = 0; i < raw.n; i++) {
		/* A local name ("root" from cron) takes the sender's domain; a
		 * dotted one too ("first.last"), but it may be a mistyped
		 * address: say so. */
		bool local = strchr(raw.v[i], '@') == NULL && domain != NULL;
		char *q = local ? address_qualify(raw.v[i], domain + 1) : xstrdup(raw.v[i]);
		int r;

		r = to_wire(q, &env->rcpts, &env->smtputf8, e);
		if (r == 0 && local && strchr(raw.v[i], '.') != NULL)
			log_warning(_("recipient %s has no domain; sending to %s (write "
				      "local-part@domain to mean another)"),
				    raw.v[i], q);

		free(q);
		if (r < 0)
			goto out;
	}
	rc = 0;
out:
	strlist_free(&raw);
	return rc;
}

/* dsn_notify as RFC 3461 wants it (upper case), NULL for off. */
static const char *
dsn_notify(const struct account *a, char out[64])
{
	const char *v = account_get(a, KW_DSN_NOTIFY);
	size_t i;

	if (v == NULL || strcmp(v, "off") == 0)
		return NULL;
	for (i = 0; v[i] != '\0' && i < 63; i++)
		out[i] = (char)toupper((unsigned char)v[i]);
	out[i] = '\0';
	return out;
}

/* dsn_return: msmtp's "headers" and "full" are RET=HDRS and RET=FULL. */
static const char *
dsn_return(const struct account *a)
{
	const char *v = account_get(a, KW_DSN_RETURN);

	if (v == NULL || strcmp(v, "off") == 0)
		return NULL;
	return strcmp(v, "full") == 0 ? "FULL" : "HDRS";
}

static const char *
sender_domain(const char *sender, const char *fallback)
{
	const char *at = strrchr(sender, '@');

	return at != NULL && at[1] != '\0' ? at + 1 : fallback;
}

/* A message read, parsed and rewritten: ready to be queued or sent. */
struct prepared {
	struct spool sp;
	struct message_layout layout;
	struct buf headers; /* rewritten header block, blank line included */
	struct envelope env;
	struct header_info info; /* of the original headers, for the log */
	char *msgid;             /* the Message-ID the message goes out with */
	char *dsn_notify;
};

static void
prepared_free(struct prepared *p)
{
	free(p->env.from);
	strlist_free(&p->env.rcpts);
	header_info_free(&p->info);
	free(p->msgid);
	free(p->dsn_notify);
	buf_free(&p->headers);
	spool_close(&p->sp);
}

/* Reads the message into spool_dir and builds envelope and headers. */
static int
prepare(const struct request *r, struct session *s, int in_fd, const char *spool_dir,
	struct prepared *p, struct error *e)
{
	unsigned long long limit = SESSION_MESSAGE_MAX;
	struct message_rewrite rw;
	char *header_from = NULL, *sender = NULL;
	const char *hdr;
	size_t hlen;
	int rc = -1;

	if (s->account != NULL)
		limit = (unsigned long long)account_long(s->account, KW_MAX_MESSAGE_SIZE);
	if (spool_read(in_fd, spool_dir, limit, MESSAGE_HEADER_MAX, &p->sp, e) < 0 ||
	    message_layout(p->sp.head.data ? p->sp.head.data : "", p->sp.head.len,
			   MESSAGE_HEADER_MAX, &p->layout, e) < 0)
		return -1;
	hdr = p->sp.head.data + p->layout.header_start;
	hlen = p->layout.header_end - p->layout.header_start;
	header_info_read(hdr, hlen, &p->info);
	if (message_from_address(hdr, hlen, &header_from, e) < 0)
		goto out;
	if (s->account == NULL && session_pick_account(s, header_from, e) < 0)
		goto out;
	if (session_check_supported(s->account, e) < 0 ||
	    envelope_sender(s, header_from, &sender, e) < 0 ||
	    build_envelope(s, hdr, hlen, sender, &p->env, e) < 0)
		goto out;
	memset(&rw, 0, sizeof rw);
	rw.remove_bcc = account_bool(s->account, KW_REMOVE_BCC_HEADERS);
	rw.from_header = set_mode(s->account, KW_SET_FROM_HEADER);
	rw.date_header = set_mode(s->account, KW_SET_DATE_HEADER);
	rw.msgid_header = set_mode(s->account, KW_SET_MSGID_HEADER);
	rw.from_addr = sender;
	rw.from_name = r->full_name ? r->full_name : account_get(s->account, KW_FROM_FULL_NAME);
	rw.msgid_domain = sender_domain(sender, "localhost");
	rw.undisclosed_recipients = account_bool(s->account, KW_UNDISCLOSED_RECIPIENTS);
	if (p->info.msgid != NULL)
		p->msgid = xstrdup(p->info.msgid);
	else if (rw.msgid_header != MESSAGE_SET_OFF)
		rw.msgid_override = p->msgid = message_make_msgid(rw.msgid_domain);
	rw.now = time(NULL);
	if (message_rewrite_headers(hdr, hlen, &rw, &p->headers, e) < 0 ||
	    buf_puts(&p->headers, p->layout.eol) < 0)
		goto out;
	if (r->dsn_notify != NULL)
		p->dsn_notify = xstrdup(r->dsn_notify);
	else {
		char buf[64];
		const char *v = dsn_notify(s->account, buf);

		p->dsn_notify = v != NULL ? xstrdup(v) : NULL;
	}
	rc = 0;
out:
	free(header_from);
	free(sender);
	return rc;
}

static bool
eightbit(const struct request *r, const struct prepared *p)
{
	return p->sp.eightbit || (r->body_type && strcasecmp(r->body_type, "8BITMIME") == 0);
}

/* The envelope of a prepared message, as the queue keeps it and as an
 * attempt sends it.  envelope_free_rcpts() frees the recipient array (the
 * strings belong to p and r). */
static void
envelope_of(const struct request *r, const struct session *s, const struct prepared *p,
	    struct queue_envelope *env)
{
	const char *ret = r->dsn_return ? r->dsn_return : dsn_return(s->account);

	memset(env, 0, sizeof *env);
	env->account = s->account->name;
	env->from = p->env.from;
	env->nrcpts = p->env.rcpts.n;
	env->rcpts = xcalloc(env->nrcpts, sizeof *env->rcpts);
	for (size_t i = 0; i < env->nrcpts; i++)
		env->rcpts[i].addr = p->env.rcpts.v[i];
	env->dsn_notify = p->dsn_notify;
	env->dsn_return = ret != NULL ? xstrdup(ret) : NULL;
	env->dsn_envid = r->dsn_envid != NULL ? xstrdup(r->dsn_envid) : NULL;
	env->eightbit = eightbit(r, p);
	env->smtputf8 = p->env.smtputf8;
	env->msgid = p->msgid;
	env->created = time(NULL);
}

static void
envelope_release(struct queue_envelope *env)
{
	free(env->rcpts);
	free(env->dsn_return);
	free(env->dsn_envid);
}

/* `queue off`: msmtp's way, straight from the spool file; a temporary
 * failure is exit 75 and nothing is kept. */
static int
send_without_queue(const struct request *r, struct session *s, struct prepared *p, struct error *e)
{
	struct queue_envelope env;
	struct deliver_slot slot;
	struct attempt a;
	size_t pending = 0;
	int rc;

	envelope_of(r, s, p, &env);
	deliver_attempt_init(&a, &env, p->sp.fd, (off_t)p->layout.body_start,
			     p->sp.size - p->layout.body_start);
	a.mail.headers = p->headers.data;
	a.mail.headers_len = p->headers.len;
	a.mail.size = p->headers.len + a.mail.body_len + p->sp.bare_lf;
	deliver_slot_init(&slot, s->account, r->verbose);
	rc = deliver_attempt_run(&slot, &a, true, e);
	for (size_t i = 0; i < a.mail.nrcpts; i++)
		pending += a.rcpts[i].state == RCPT_TEMPFAIL;
	/* Nothing to hold: account trouble keeps its own exit status. */
	if (policy_classify(rc, pending, a.outcome.uncertain, true, e) != ACT_DELIVERED)
		rc = -1;
	if (p->info.msgid == NULL && p->msgid != NULL)
		p->info.msgid = xstrdup(p->msgid);
	deliver_log(s->account, &slot.params, &a.outcome, &a.mail, &p->info, rc < 0 ? e : NULL,
		    NULL, NULL);
	deliver_slot_close(&slot);
	deliver_attempt_free(&a);
	envelope_release(&env);
	return rc;
}

static int
commit(const struct request *r, struct session *s, struct queue *q, struct prepared *p,
       struct queue_entry *m, struct error *e)
{
	struct queue_envelope env;
	int rc;

	envelope_of(r, s, p, &env);
	rc = queue_commit(q, &env, p->headers.data, p->headers.len, p->sp.fd,
			  (off_t)p->layout.body_start, m, e);
	envelope_release(&env);
	return rc;
}

/* Detaches a child that runs fn; the parent returns at once.  The child's
 * stdio goes to /dev/null; it never returns. */
static void
in_background(void (*fn)(void *ctx), void *ctx)
{
	pid_t pid = fork();

	if (pid != 0) {
		if (pid < 0)
			log_warning(_("cannot start a background delivery: %s; the message stays "
				      "queued"),
				    strerror(errno));
		return;
	}
	setsid();
	{
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			if (null > STDERR_FILENO)
				close(null);
		}
	}
	fn(ctx);
	_exit(0);
}

struct background {
	struct deliver_ctx *ctx;
	struct queue_entry *entry; /* NULL: only flush */
	struct account *account;
};

/* A background flush of what is due, honouring backoff. */
static void
background_flush(void *arg)
{
	struct background *b = arg;
	struct flush_filter f = {0};
	struct error e;

	b->ctx->foreground = false;
	if (b->entry != NULL) {
		struct deliver_slot slot;

		deliver_slot_init(&slot, b->account, false);
		deliver_entry(b->ctx, &slot, b->entry, &e);
		deliver_slot_close(&slot);
	}
	deliver_flush(b->ctx, &f, NULL, &e);
}

static enum cli_delivery
delivery_mode(const struct request *r, const struct account *a)
{
	const char *mode = account_get(a, KW_DELIVERY_MODE);

	if (r->delivery_given)
		return r->delivery;
	if (mode != NULL && strcmp(mode, "background") == 0)
		return DELIVER_BACKGROUND;
	if (mode != NULL && strcmp(mode, "queue") == 0)
		return DELIVER_QUEUE;
	return DELIVER_FOREGROUND;
}

/* When the next try is, for a person: "in 40 s", "in 12 min", "at 14:05",
 * "at 2026-12-04 09:00". */
static void
next_try(time_t next, char *out, size_t n)
{
	time_t now = time(NULL);
	struct tm t, today;
	char stamp[32];

	if (next <= now + 59) {
		snprintf(out, n, _("in %ld s"), next > now ? (long)(next - now) : 0L);
		return;
	}
	if (next < now + 3600) {
		snprintf(out, n, _("in %ld min"), (long)((next - now + 59) / 60));
		return;
	}
	localtime_r(&next, &t);
	localtime_r(&now, &today);
	if (strftime(stamp, sizeof stamp,
		     t.tm_yday == today.tm_yday && t.tm_year == today.tm_year ? "%H:%M"
									      : "%Y-%m-%d %H:%M",
		     &t) == 0)
		stamp[0] = '\0';
	snprintf(out, n, _("at %s"), stamp);
}

/* At a terminal: a queued message, why, and when it is tried again. */
static void
tell_queued(const struct queue_entry *m, const char *why)
{
	char when[48];

	if (why == NULL) {
		log_error(_("message %s queued; the next queue run sends it ('outbox -q' does it "
			    "now)"),
			  m->id);
		return;
	}
	next_try(m->st.next_attempt, when, sizeof when);
	log_error(_("message %s queued: %s; next try %s, or now with 'outbox -q'"), m->id, why,
		  when);
}

/* Foreground delivery of the committed message, then the account's other
 * due messages over the same connection, then a background flush of the
 * rest.  The exit status follows DESIGN.md 1.4. */
static int
deliver_committed(const struct request *r, struct session *s, struct deliver_ctx *ctx,
		  struct queue_entry *m, struct error *e)
{
	struct deliver_slot slot;
	enum policy_action action;
	struct error qe;
	int rc = 0;

	deliver_slot_init(&slot, s->account, r->verbose);
	action = deliver_entry(ctx, &slot, m, e);
	switch (action) {
	case ACT_DELIVERED:
		deliver_more_for_account(ctx, &slot);
		break;
	case ACT_RETRY_SOON:
	case ACT_RETRY:
		if (r->verbose || log_interactive())
			tell_queued(m, e->msg);
		break;
	case ACT_HOLD: {
		char *advice = deliver_held_advice(ctx, s->account, e);

		log_error(_("message %s held: %s; %s"), m->id, e->msg, advice);
		free(advice);
		break;
	}
	case ACT_FAIL:
		error_prefix(e, _("message %s not sent and kept in %s/failed"), m->id, ctx->q->dir);
		rc = -1;
		break;
	}
	deliver_slot_close(&slot);
	if (action == ACT_DELIVERED && queue_has_messages(ctx->q, &qe) == 1) {
		struct background b = {.ctx = ctx};

		in_background(background_flush, &b);
	}
	return rc;
}

/* Without the queue (`queue off`, or a one-off command line): -odb and
 * -odq cannot work; the message is sent at once, and a temporary failure
 * is exit 75. */
static int
submit_unqueued(const struct request *r, struct session *s, int in_fd, const char *one_off,
		struct prepared *p, struct error *e)
{
	int rc;

	if (r->delivery == DELIVER_QUEUE || r->delivery == DELIVER_BACKGROUND) {
		if (one_off != NULL)
			return error_set(e, ST_USAGE,
					 _("-odb and -odq need the queue, and a message sent with "
					   "--%s on the command line is never queued; put the "
					   "setting in an account and use -a"),
					 one_off);
		return error_set(e, ST_USAGE,
				 _("-odb and -odq need the queue, which is off for account %s"),
				 s->account->name);
	}
	rc = prepare(r, s, in_fd, spool_default_dir(), p, e);
	if (rc == 0)
		rc = send_without_queue(r, s, p, e);
	if (rc < 0 && one_off != NULL && status_exit_code(e->status) == EX_TEMPFAIL)
		error_prefix(e,
			     _("message not queued (--%s on the command line is for this attempt "
			       "only)"),
			     one_off);
	return rc;
}

/* With the queue: read, commit, then deliver as -od or delivery_mode says.
 * From the commit on the message is on disk: exit 0 is allowed. */
static int
submit_queued(const struct request *r, struct session *s, int in_fd, struct prepared *p,
	      struct error *e)
{
	struct queue q = {.dirfd = -1, .lock_fd = -1};
	struct queue_entry m = {.fd = -1};
	struct deliver_ctx ctx = {.q = &q, .verbose = r->verbose, .foreground = true};
	int rc = -1;

	if (session_open_queue(s->account, &q, e) == 0) {
		char *tmp = xasprintf("%s/tmp", q.dir);

		rc = prepare(r, s, in_fd, tmp, p, e);
		free(tmp);
		if (rc == 0)
			rc = commit(r, s, &q, p, &m, e);
	}
	if (rc == 0) {
		spool_close(&p->sp);
		ctx.conf = s->conf;
		switch (delivery_mode(r, s->account)) {
		case DELIVER_QUEUE:
			queue_poke(&q);
			if (log_interactive())
				tell_queued(&m, NULL);
			break;
		case DELIVER_BACKGROUND: {
			struct background b = {.ctx = &ctx, .entry = &m, .account = s->account};

			in_background(background_flush, &b);
			break;
		}
		case DELIVER_FOREGROUND:
			rc = deliver_committed(r, s, &ctx, &m, e);
			break;
		}
	}
	queue_entry_free(&m);
	queue_close(&q);
	return rc;
}

int
submit_deliver(const struct request *r, int in_fd, struct error *e)
{
	struct session s = {0};
	struct prepared p = {.sp = {.fd = -1}};
	const char *one_off = session_one_off(r);
	int rc = -1;

	buf_init(&p.headers, 0);
	if (session_open(&s, r, e) < 0)
		goto out;
	if (r->verbose) {
		struct buf files;

		buf_init(&files, 0);
		session_describe_files(&s, &files);
		fputs(files.data ? files.data : "", stderr);
		buf_free(&files);
	}
	/* The account is known before reading the message unless the From
	 * header picks it: then fail before consuming the message. */
	if ((!r->read_envelope_from || r->account != NULL || r->host_given) &&
	    session_pick_account(&s, r->envelope_from, e) < 0)
		goto out;
	if (one_off == NULL && (s.account == NULL || account_bool(s.account, KW_QUEUE)))
		rc = submit_queued(r, &s, in_fd, &p, e);
	else
		rc = submit_unqueued(r, &s, in_fd, one_off, &p, e);
out:
	prepared_free(&p);
	session_close(&s);
	return rc;
}

static void
flush_filter_of(const struct request *r, struct flush_filter *f)
{
	const char *arg = r->queue_filter;

	memset(f, 0, sizeof *f);
	f->force = true;
	if (arg == NULL || *arg == '\0')
		return;
	/* sendmail's -qI<id>, -qR<recipient>, -qS<sender>; a bare -q<time>
	 * (a daemon's interval) means "now" here. */
	if (*arg == 'I')
		f->id_prefix = arg + 1;
	else if (*arg == 'R')
		f->rcpt = arg + 1;
	else if (*arg == 'S')
		f->sender = arg + 1;
}

int
submit_flush(const struct request *r, struct error *e)
{
	struct session s = {0};
	struct queue q = {.dirfd = -1, .lock_fd = -1};
	struct deliver_ctx ctx = {0};
	struct flush_filter f;
	int rc = -1;

	if (session_open_for_queue(&s, r, &q, e) == 0) {
		ctx.q = &q;
		ctx.conf = s.conf;
		ctx.verbose = r->verbose;
		flush_filter_of(r, &f);
		rc = deliver_flush(&ctx, &f, NULL, e);
		if (rc == 0 && log_interactive()) {
			struct buf line;

			buf_init(&line, 0);
			deliver_summary(&ctx, &line);
			log_error("%s", line.data);
			buf_free(&line);
		}
	}
	queue_close(&q);
	session_close(&s);
	return rc;
}

enum edit { EDIT_REMOVE, EDIT_HOLD, EDIT_RELEASE };

/* A -bs message: a stdin submission with MAIL FROM and RCPT TO as its
 * envelope (no -t). */
static int
submit_message(void *ctx, const char *from, const struct strlist *rcpts, int fd, struct error *e)
{
	struct request one = *(const struct request *)ctx;

	one.mode = CLI_DELIVER;
	one.envelope_from = from;
	one.recipients = *rcpts;
	one.read_recipients = false;
	return submit_deliver(&one, fd, e);
}

int
submit_smtp_stdio(const struct request *r, int in_fd, int out_fd, struct error *e)
{
	struct request each = *r; /* what every message starts from */
	struct bs_params p = {
		.max_size = session_size_limit(r),
		.submit = submit_message,
		.ctx = &each,
	};

	return bs_run(&p, in_fd, out_fd, e);
}
