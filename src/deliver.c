/* deliver.c - from a queued message to a delivered one: one attempt,
 * what it means, the queue's record of it, and failure notices (the flush
 * that picks messages is flush.c).
 *
 * Untrusted input: queue files (checked by queue.c: trailer and format),
 * the message's header block (parsed by message.c for the log), and the
 * server's replies (bounded by the SMTP engine), which end up in state
 * files, logs and failure notices only as single lines. */
#include "config.h"

#include "deliver.h"

#include "address.h"
#include "crypto.h"
#include "i18n.h"
#include "log.h"
#include "message.h"
#include "notice.h"
#include "oauth2.h"
#include "progress.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Failure notices sent per hour at most: a storm of failures must not turn
 * into a storm of mail (nullmailer #54, #69). */
#define NOTICES_PER_HOUR 10
#define NOTICE_HISTORY_MAX 64

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* -v: the transcript; -v -v: each line with the seconds since the
 * connection began (ctx points at its start), so a stall shows. */
static void
trace_line(void *ctx, const char *dir, const char *line)
{
	const char *arrow = strcmp(dir, "C") == 0 ? "-->" : "<--";

	if (ctx != NULL) {
		int64_t us = now_us() - *(const int64_t *)ctx;

		fprintf(stderr, "[%3lld.%06lld] %s %s\n", (long long)(us / 1000000),
			(long long)(us % 1000000), arrow, line);
	} else {
		fprintf(stderr, "%s %s\n", arrow, line);
	}
}

void
deliver_secret_source(const struct account *a, struct secret_source *src)
{
	memset(src, 0, sizeof *src);
	src->account = a->name;
	src->host = account_get(a, KW_HOST);
	src->user = account_get(a, KW_USER);
	src->password = account_get(a, KW_PASSWORD);
	src->passwordeval = account_get(a, KW_PASSWORDEVAL);
	src->prompt = true;
}

static int
get_password(void *ctx, char **password, struct error *e)
{
	struct secret_source src;
	struct oauth2_client c;
	int rc;

	if (!oauth2_enabled(ctx)) {
		deliver_secret_source(ctx, &src);
		return secret_get_password(&src, password, e);
	}
	oauth2_client_init(&c, ctx);
	rc = oauth2_access_token(&c, password, e);
	oauth2_client_free(&c);
	return rc;
}

static void
warn_unverified(const struct account *a, const struct smtp_params *p)
{
	if (p->tls_mode != SMTP_TLS_OFF && !p->tls.certcheck && p->tls.fingerprint == NULL)
		log_warning(_("account %s: tls_certcheck is off, so the server's identity is not "
			      "checked; set tls_trust_file or tls_fingerprint instead"),
			    a->name);
}

void
deliver_smtp_params(struct account *a, int verbose, struct smtp_params *p)
{
	long timeout = account_long(a, KW_TIMEOUT);
	const char *auth = account_get(a, KW_AUTH);

	memset(p, 0, sizeof *p);
	p->host = account_get(a, KW_HOST);
	p->port = account_get(a, KW_PORT);
	p->socket_path = account_get(a, KW_SOCKET);
	p->source_ip = account_get(a, KW_SOURCE_IP);
	p->proxy_host = account_get(a, KW_PROXY_HOST);
	p->proxy_port = account_get(a, KW_PROXY_PORT);
	p->timeout_ms = timeout > 0 ? (int)timeout * 1000 : -1;
	p->helo_domain = account_get(a, KW_DOMAIN) ? account_get(a, KW_DOMAIN) : "localhost";
	if (!account_bool(a, KW_TLS))
		p->tls_mode = SMTP_TLS_OFF;
	else
		p->tls_mode =
			account_bool(a, KW_TLS_STARTTLS) ? SMTP_TLS_STARTTLS : SMTP_TLS_IMPLICIT;
	p->tls.host = p->host;
	p->tls.host_override = account_get(a, KW_TLS_HOST_OVERRIDE);
	p->tls.trust_file = account_get(a, KW_TLS_TRUST_FILE);
	p->tls.crl_file = account_get(a, KW_TLS_CRL_FILE);
	p->tls.fingerprint = account_get(a, KW_TLS_FINGERPRINT);
	p->tls.cert_file = account_get(a, KW_TLS_CERT_FILE);
	p->tls.key_file = account_get(a, KW_TLS_KEY_FILE);
	p->tls.priorities = account_get(a, KW_TLS_PRIORITIES);
	p->tls.certcheck = account_bool(a, KW_TLS_CERTCHECK);
	p->tls.timeout_ms = p->timeout_ms;
	if (strcmp(auth, "auto") == 0)
		p->auth_mode = SMTP_AUTH_AUTO;
	else if (strcmp(auth, "off") == 0)
		p->auth_mode = SMTP_AUTH_OFF;
	else if (strcmp(auth, "on") == 0)
		p->auth_mode = SMTP_AUTH_ON;
	else
		p->auth_mode = SMTP_AUTH_MECH;
	p->auth_mech = auth;
	p->user = account_get(a, KW_USER);
	p->allow_plaintext_auth = account_bool(a, KW_ALLOW_PLAINTEXT_AUTH);
	p->get_password = get_password;
	p->password_ctx = a;
	if (verbose > 0)
		p->trace = trace_line;
	if (verbose > 1) {
		static int64_t start;

		start = now_us();
		p->trace_ctx = &start;
	}
	warn_unverified(a, p);
}

static int
collect_header_info(void *ctx, const struct message_field *f, struct error *e)
{
	struct header_info *h = ctx;
	static const char *const visible[] = {"To", "Cc", "Resent-To", "Resent-Cc"};

	if (message_field_is(f, "Message-ID") && h->msgid == NULL) {
		const char *v = f->value;
		size_t n = f->value_len;

		while (n > 0 && (*v == ' ' || *v == '\t'))
			v++, n--;
		while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == '\r' || v[n - 1] == ' '))
			n--;
		h->msgid = xstrndup(v, n);
		return 0;
	}
	for (size_t i = 0; i < sizeof visible / sizeof visible[0]; i++) {
		if (message_field_is(f, visible[i])) {
			struct error ignored;

			address_list_parse(f->value, f->value_len, &h->visible, &ignored);
		}
	}
	return 0;
}

/* Whether a To or Cc header shows addr; the others are Bcc recipients. */
static bool
is_visible(const struct strlist *visible, const char *addr)
{
	for (size_t i = 0; i < visible->n; i++)
		if (strcasecmp(visible->v[i], addr) == 0)
			return true;
	return false;
}

/* "a@x,b@y" with every recipient that no To/Cc header shows (a Bcc)
 * left out and counted in *hidden, so logs never reveal Bcc recipients. */
static char *
log_recipients(const struct smtp_rcpt *rcpts, size_t n, const struct strlist *visible,
	       unsigned long *hidden)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		if (!is_visible(visible, rcpts[i].addr)) {
			(*hidden)++;
			continue;
		}
		buf_printf(&b, "%s%s", b.len ? "," : "", rcpts[i].addr);
	}
	s = xstrdup(b.data ? b.data : "");
	buf_free(&b);
	return s;
}

/* For the log: which recipients the server refused although the message
 * went to the others; Bcc recipients only counted.  NULL if none. */
static char *
rejected_summary(const struct smtp_rcpt *rcpts, size_t n, const struct strlist *visible)
{
	struct buf b;
	unsigned long hidden = 0;
	char *s = NULL;

	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		if (rcpts[i].state != RCPT_PERMFAIL)
			continue;
		if (is_visible(visible, rcpts[i].addr))
			buf_printf(&b, "%srecipient %s rejected: %s", b.len ? "; " : "",
				   rcpts[i].addr, rcpts[i].reply);
		else
			hidden++;
	}
	if (hidden > 0)
		buf_printf(&b, "%s%lu Bcc recipient(s) rejected", b.len ? "; " : "", hidden);
	if (b.len > 0)
		s = xstrdup(b.data);
	buf_free(&b);
	return s;
}

static const char *
syslog_facility(const struct account *a)
{
	const char *v = account_get(a, KW_SYSLOG);

	if (v == NULL || strcmp(v, "off") == 0)
		return NULL;
	return strcmp(v, "on") == 0 ? "LOG_USER" : v;
}

void
header_info_read(const char *hdr, size_t hlen, struct header_info *h)
{
	struct error ignored;

	strlist_init(&h->visible);
	h->msgid = NULL;
	message_fields(hdr, hlen, collect_header_info, h, &ignored);
}

void
header_info_free(struct header_info *h)
{
	strlist_free(&h->visible);
	free(h->msgid);
	h->msgid = NULL;
}

void
deliver_log(const struct account *a, const struct smtp_params *p, const struct smtp_outcome *o,
	    const struct smtp_mail *m, const struct header_info *h, const struct error *failure,
	    const char *queue_id, const char *action)
{
	unsigned long hidden = 0;
	char *shown = log_recipients(m->rcpts, m->nrcpts, &h->visible, &hidden);
	char *rejected =
		failure == NULL ? rejected_summary(m->rcpts, m->nrcpts, &h->visible) : NULL;
	struct log_record rec = {
		.host = p->socket_path ? p->socket_path : p->host,
		.tls = o->tls,
		.auth = o->auth_mech,
		.user = p->user,
		.from = m->from,
		.recipients = shown,
		.bcc = hidden,
		.mailsize = m->size,
		.smtpstatus = o->code,
		.smtpmsg = o->reply,
		.errormsg = failure != NULL ? failure->msg : rejected,
		.exitcode = failure != NULL ? status_exit_code(failure->status) : 0,
		.msgid = h->msgid,
		.queue_id = queue_id,
		.action = action,
	};

	log_delivery(account_get(a, KW_LOGFILE), account_get(a, KW_LOGFILE_TIME_FORMAT),
		     syslog_facility(a), &rec);
	free(shown);
	free(rejected);
}

void
deliver_report_recipients(const struct smtp_mail *m)
{
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct smtp_rcpt *rc = &m->rcpts[i];

		if (rc->state == RCPT_PERMFAIL)
			log_error(_("recipient %s rejected: %s"), rc->addr, rc->reply);
		else if (rc->state == RCPT_TEMPFAIL)
			log_error(_("recipient %s temporarily rejected: %s"), rc->addr, rc->reply);
	}
}

bool
deliver_is_pattern(const char *from)
{
	return strpbrk(from, "*?[") != NULL;
}

char *
deliver_account_address(const struct account *a)
{
	const char *from = account_get(a, KW_FROM);
	const char *domain = account_get(a, KW_DOMAIN);
	struct passwd *pw;
	char host[256] = "localhost";

	if (from != NULL && *from != '\0' && !deliver_is_pattern(from))
		return xstrdup(from);
	if (domain == NULL || strchr(domain, '.') == NULL) {
		if (gethostname(host, sizeof host) != 0)
			snprintf(host, sizeof host, "localhost");
		host[sizeof host - 1] = '\0';
		domain = host;
	}
	pw = getpwuid(getuid());
	return xasprintf("%s@%s", pw != NULL ? pw->pw_name : "root", domain);
}

char *
deliver_held_advice(const struct deliver_ctx *c, const struct account *a, const struct error *e)
{
	const char *user = account_get(a, KW_USER);

	if (e->status != ST_ACCOUNT || c->last_code < 500 || user == NULL)
		return xstrdup(_("fix it and run 'outbox -q'"));
	if (oauth2_enabled(a))
		return xasprintf(_("run 'outbox -a %s --authorize', then 'outbox -q'"), a->name);
	if (account_get(a, KW_PASSWORDEVAL) != NULL)
		return xasprintf(_("check what the passwordeval command of account %s gives for "
				   "user %s, then run 'outbox -q'"),
				 a->name, user);
	if (account_get(a, KW_PASSWORD) != NULL)
		return xasprintf(_("correct the password of account %s (user %s) in the "
				   "configuration, then run 'outbox -q'"),
				 a->name, user);
	return xasprintf(_("store the right password of user %s with 'outbox -a %s "
			   "--store-password', then run 'outbox -q'"),
			 user, a->name);
}

void
deliver_slot_init(struct deliver_slot *slot, struct account *a, int verbose)
{
	memset(slot, 0, sizeof *slot);
	slot->account = a;
	deliver_smtp_params(a, verbose, &slot->params);
}

void
deliver_slot_close(struct deliver_slot *slot)
{
	smtp_close(slot->session);
	slot->session = NULL;
}

/* The message's header block, for the log and for notices. */
static char *
read_headers(const struct queue_entry *m, size_t *len)
{
	size_t max = m->data_len < MESSAGE_HEADER_MAX ? (size_t)m->data_len : MESSAGE_HEADER_MAX;
	size_t have = 0, cap = 0;
	char *buf = NULL;
	struct message_layout lay;
	struct error ignored;

	/* In steps, so that only the header block is read and kept. */
	while (have < max && !message_has_blank_line(buf, have)) {
		size_t step = max - have < 65536 ? max - have : 65536;
		ssize_t n;

		if (have + step + 1 > cap) {
			cap = have + step + 1;
			buf = xrealloc(buf, cap);
		}
		n = pread(m->fd, buf + have, step, m->data_offset + (off_t)have);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	if (buf == NULL)
		buf = xmalloc(1);
	buf[have] = '\0';
	*len = have;
	if (message_layout(buf, have, MESSAGE_HEADER_MAX, &lay, &ignored) == 0)
		*len = lay.header_end;
	return buf;
}

/* A transaction on the slot's session, opening it on first use. */
static int
transact(struct deliver_slot *slot, struct smtp_mail *mail, struct smtp_outcome *o, struct error *e)
{
	int rc;

	if (slot->session == NULL && !slot->open_failed) {
		slot->session = smtp_open(&slot->params, &slot->open_outcome, &slot->open_error);
		slot->open_failed = slot->session == NULL;
	}
	if (slot->open_failed) {
		*o = slot->open_outcome;
		*e = slot->open_error;
		return -1;
	}
	rc = smtp_transaction(slot->session, mail, o, e);
	if (!smtp_usable(slot->session))
		deliver_slot_close(slot);
	return rc;
}

/* fopen() of a regular file only, without following a symbolic link or
 * blocking on a FIFO; NULL otherwise. */
static FILE *
open_stream(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	struct stat st;
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
		    ? fdopen(fd, (flags & O_ACCMODE) == O_RDONLY ? "r" : "w")
		    : NULL;
	if (f == NULL)
		close(fd);
	return f;
}

/* Failure notices: at most NOTICES_PER_HOUR, counted in QUEUE/notices. */
static bool
notice_budget(struct queue *q)
{
	time_t sent[NOTICE_HISTORY_MAX + 1];
	size_t n = 0;
	time_t now = time(NULL);
	char *path = xasprintf("%s/notices", q->dir);
	/* O_NOFOLLOW, O_NONBLOCK: whatever sits under that name, a FIFO
	 * among others, must not hang a flush or be written through. */
	FILE *f = open_stream(path, O_RDONLY);
	bool ok;

	if (f != NULL) {
		long long t;

		while (n < NOTICE_HISTORY_MAX && fscanf(f, "%lld", &t) == 1)
			sent[n++] = (time_t)t;
		fclose(f);
	}
	n = notice_rate_prune(sent, n, now);
	ok = notice_rate_ok(sent, n, now, NOTICES_PER_HOUR);
	if (ok && n < NOTICE_HISTORY_MAX)
		sent[n++] = now;
	f = open_stream(path, O_WRONLY | O_CREAT | O_TRUNC);
	if (f != NULL) {
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%lld\n", (long long)sent[i]);
		fclose(f);
	}
	free(path);
	return ok;
}

/* Keeps an unsendable notice next to the failed message. */
static void
keep_notice(struct deliver_ctx *c, const char *id, const struct buf *notice)
{
	char *path = xasprintf("%s/failed/%s.notice", c->q->dir, id);
	int fd;

	/* Always a new file: not through a symbolic link, not into a FIFO. */
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0 || write(fd, notice->data, notice->len) != (ssize_t)notice->len)
		log_error(_("cannot keep the failure notice for %s in %s: %s"), id, path,
			  strerror(errno));
	else
		log_warning(_("the failure notice for %s could not be sent; it is in %s"), id,
			    path);
	if (fd >= 0)
		close(fd);
	free(path);
}

/* Tells the sender which recipients will never get the message. */
static void
send_notice(struct deliver_ctx *c, struct deliver_slot *slot, const struct queue_entry *m,
	    const char *reason, bool expired)
{
	struct notice_rcpt *nr = xcalloc(m->env.nrcpts, sizeof *nr);
	struct smtp_rcpt to = {.addr = m->env.from};
	struct smtp_mail mail = {0};
	struct smtp_outcome o;
	struct notice n = {0};
	struct error e;
	struct buf out;
	char *from = deliver_account_address(slot->account);
	char host[256] = "localhost";
	size_t hlen, k = 0;
	char *hdr;

	if (*m->env.from == '\0') {
		free(nr);
		free(from);
		return; /* never for null-sender mail (RFC 5321 4.5.5) */
	}
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		const struct queue_rcpt *r = &m->env.rcpts[i];

		if (r->status == QRCPT_FAILED || (expired && r->status == QRCPT_PENDING)) {
			nr[k].addr = r->addr;
			nr[k].reply = r->reply != NULL ? r->reply : m->st.last_reply;
			k++;
		}
	}
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	hdr = read_headers(m, &hlen);
	n.from_addr = from;
	n.to_addr = m->env.from;
	n.reporting_host = host;
	n.remote_host = slot->params.host;
	n.envid = m->env.dsn_envid;
	n.reason = reason;
	n.rcpts = nr;
	n.nrcpts = k;
	n.orig_headers = hdr;
	n.orig_headers_len = hlen;
	n.arrival = m->env.created;
	n.last_attempt = m->st.last_attempt;
	n.now = time(NULL);
	n.msgid_domain = strchr(from, '@') ? strchr(from, '@') + 1 : "localhost";
	buf_init(&out, 0);
	if (k == 0 || notice_build(&n, &out, &e) < 0) {
		if (k > 0)
			log_error(_("cannot build the failure notice for %s: %s"), m->id, e.msg);
	} else if (!notice_budget(c->q)) {
		keep_notice(c, m->id, &out);
	} else {
		mail.from = "";
		mail.rcpts = &to;
		mail.nrcpts = 1;
		mail.headers = out.data;
		mail.headers_len = out.len;
		mail.eightbit = message_has_8bit(out.data, out.len);
		mail.smtputf8 = !address_is_ascii(m->env.from);
		mail.size = out.len;
		mail.body_fd = -1;
		if (transact(slot, &mail, &o, &e) < 0) {
			log_error(_("sending the failure notice for %s failed: %s"), m->id, e.msg);
			keep_notice(c, m->id, &out);
		}
	}
	buf_free(&out);
	free(hdr);
	free(nr);
	free(from);
}

static void
set_text(char **field, const char *text)
{
	free(*field);
	*field = text != NULL && *text != '\0' ? xstrdup(text) : NULL;
}

void
deliver_give_up(struct deliver_ctx *c, struct deliver_slot *slot, struct queue_entry *m,
		enum reason code, const char *reason, bool expired)
{
	struct error e;

	queue_reason_set(&m->st, code, reason);

	/* Refused as a whole (5xx to MAIL, DATA or the final dot): every
	 * recipient still waiting failed, with that reply. */
	for (size_t i = 0; !expired && i < m->env.nrcpts; i++) {
		if (m->env.rcpts[i].status == QRCPT_PENDING) {
			m->env.rcpts[i].status = QRCPT_FAILED;
			set_text(&m->env.rcpts[i].reply, m->st.last_reply);
		}
	}
	if (!c->foreground)
		send_notice(c, slot, m, reason, expired);
	if (queue_set_aside(c->q, m, reason, &e) < 0)
		log_error("%s", e.msg);
}

static size_t
count_status(const struct queue_entry *m, enum rcpt_status st)
{
	size_t n = 0;

	for (size_t i = 0; i < m->env.nrcpts; i++)
		n += m->env.rcpts[i].status == st;
	return n;
}

/* Records what the server said about each recipient it was given: a
 * recipient is delivered when the message went through, and failed for
 * good on a 5xx to its RCPT, whatever became of the rest. */
static void
record_recipients(struct queue_entry *m, const struct smtp_mail *mail, const size_t *index,
		  bool accepted)
{
	for (size_t i = 0; i < mail->nrcpts; i++) {
		struct queue_rcpt *qr = &m->env.rcpts[index[i]];
		const struct smtp_rcpt *sr = &mail->rcpts[i];

		if (sr->state == RCPT_PENDING)
			continue;
		set_text(&qr->reply, sr->reply);
		if (sr->state == RCPT_ACCEPTED && accepted)
			qr->status = QRCPT_DELIVERED;
		else if (sr->state == RCPT_PERMFAIL)
			qr->status = QRCPT_FAILED;
	}
}

static double
random_unit(void)
{
	unsigned int r = 0;

	crypto_random(&r, sizeof r);
	return (double)r / 4294967296.0;
}

void
deliver_attempt_init(struct attempt *a, const struct queue_envelope *env, int fd, off_t offset,
		     unsigned long long len)
{
	memset(a, 0, sizeof *a);
	a->rcpts = xcalloc(env->nrcpts + 1, sizeof *a->rcpts);
	a->index = xcalloc(env->nrcpts + 1, sizeof *a->index);
	for (size_t i = 0; i < env->nrcpts; i++) {
		if (env->rcpts[i].status != QRCPT_PENDING)
			continue;
		a->index[a->mail.nrcpts] = i;
		a->rcpts[a->mail.nrcpts++].addr = env->rcpts[i].addr;
	}
	a->mail.from = env->from;
	a->mail.rcpts = a->rcpts;
	a->mail.dsn_notify = env->dsn_notify;
	a->mail.dsn_return = env->dsn_return;
	a->mail.dsn_envid = env->dsn_envid;
	a->mail.eightbit = env->eightbit;
	a->mail.smtputf8 = env->smtputf8;
	a->mail.size = len;
	a->mail.body_fd = fd;
	a->mail.body_offset = offset;
	a->mail.body_len = len;
}

void
deliver_attempt_free(struct attempt *a)
{
	free(a->rcpts);
	free(a->index);
	memset(a, 0, sizeof *a);
}

int
deliver_attempt_run(struct deliver_slot *slot, struct attempt *a, bool foreground, struct error *e)
{
	int rc = 0;

	error_clear(e);
	memset(&a->outcome, 0, sizeof a->outcome);
	if (a->mail.nrcpts > 0)
		rc = transact(slot, &a->mail, &a->outcome, e);
	if (foreground)
		deliver_report_recipients(&a->mail);
	if (a->outcome.dsn_dropped)
		log_warning(_("the server does not support DSN; the DSN request was ignored"));
	return rc;
}

/* The attempt's marks on the entry's state. */
static void
record_attempt(struct queue_entry *m, const struct attempt *a, int rc, time_t now)
{
	m->st.attempts++;
	m->st.last_attempt = now;
	if (m->st.first_attempt == 0)
		m->st.first_attempt = now;
	if (a->outcome.reached && m->st.first_contact == 0)
		m->st.first_contact = now;
	m->st.uncertain = a->outcome.uncertain;
	set_text(&m->st.last_reply, a->outcome.reply);
	record_recipients(m, &a->mail, a->index, rc == 0);
}

/* Does what the action says to the entry: removes it, schedules the next
 * try, holds it, or gives up on it; the state is saved before anything is
 * deleted. */
static void
apply_action(struct deliver_ctx *c, struct deliver_slot *slot, struct queue_entry *m,
	     enum policy_action action, const struct error *e, time_t now)
{
	struct error qe;

	switch (action) {
	case ACT_DELIVERED:
		/* Some recipients may have been refused for good: tell the sender
		 * when nobody waits for the answer. */
		if (!c->foreground && count_status(m, QRCPT_FAILED) > 0)
			send_notice(c, slot, m, _("some recipients were refused"), false);
		if (queue_remove(c->q, m, &qe) < 0)
			log_error("%s", qe.msg);
		return;
	case ACT_RETRY_SOON:
	case ACT_RETRY:
		m->st.held = false;
		m->st.next_attempt =
			policy_next_attempt(action, m->st.attempts, now, random_unit());
		break;
	case ACT_HOLD:
		m->st.held = true;
		break;
	case ACT_FAIL:
		deliver_give_up(c, slot, m, failure_class(e->status)->reason, e->msg, false);
		return;
	}
	queue_reason_set(&m->st, failure_class(e->status)->reason, e->msg);
	if (queue_save_state(c->q, m, &qe) < 0)
		log_error("%s", qe.msg);
}

static void
show_progress(void *ctx, unsigned long long sent)
{
	progress_update(ctx, sent);
}

enum policy_action
deliver_entry(struct deliver_ctx *c, struct deliver_slot *slot, struct queue_entry *m,
	      struct error *e)
{
	struct attempt a;
	struct header_info info;
	struct progress bar;
	enum policy_action action;
	time_t now = time(NULL);
	size_t hlen;
	char *hdr = read_headers(m, &hlen);
	int rc;

	header_info_read(hdr, hlen, &info);
	deliver_attempt_init(&a, &m->env, m->fd, m->data_offset, m->data_len);
	progress_begin(&bar, PROGRESS_BYTES, _("sending"), c->flush_bar ? 0 : m->data_len);
	a.mail.progress = show_progress;
	a.mail.progress_ctx = &bar;
	rc = deliver_attempt_run(slot, &a, c->foreground, e);
	progress_end(&bar);
	record_attempt(m, &a, rc, now);
	c->last_code = a.outcome.code;
	action = policy_classify(rc, count_status(m, QRCPT_PENDING), a.outcome.uncertain,
				 account_bool(slot->account, KW_HOLD_ON_ACCOUNT_ERROR), e);
	deliver_log(slot->account, &slot->params, &a.outcome, &a.mail, &info,
		    action == ACT_DELIVERED ? NULL : e, m->id, policy_action_name(action));
	apply_action(c, slot, m, action, e, now);
	header_info_free(&info);
	free(hdr);
	deliver_attempt_free(&a);
	return action;
}
