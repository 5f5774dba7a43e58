/* submit.c - from a request to a delivered message.
 *
 * Untrusted input: the message (headers parsed by message.c, addresses by
 * address.c), argv values (checked here before use), the configuration
 * (validated by conf.c).  Every address is checked for CR, LF and NUL and
 * turned into its wire form before the SMTP engine sees it. */
#include "config.h"

#include "submit.h"

#include "address.h"
#include "conf.h"
#include "i18n.h"
#include "log.h"
#include "message.h"
#include "secret.h"
#include "smtp.h"
#include "spool.h"

#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MESSAGE_MAX (50ULL * 1024 * 1024)

struct session {
	const struct request *r;
	struct conf *conf;
	struct account *account;
};

static int
load_conf(const struct request *r, struct session *s, struct error *e)
{
	struct conf_paths paths;

	memset(&paths, 0, sizeof paths);
	paths.user_file = r->config_file;
	s->r = r;
	s->conf = conf_new();
	if (r->host_given)
		return 0;
	return conf_load(s->conf, &paths, e);
}

/* Picks the account and applies the command line's keyword options. */
static int
select_account(struct session *s, const char *envelope_from, struct error *e)
{
	const struct request *r = s->r;

	if (r->host_given) {
		s->account = conf_find_account(s->conf, "command line");
		if (s->account == NULL)
			s->account = conf_add_account(s->conf, "command line", e);
	} else {
		s->account = conf_select(s->conf, r->account, envelope_from, e);
	}
	if (s->account == NULL)
		return -1;
	for (size_t i = 0; i < r->n_overrides; i++) {
		if (account_set(s->account, r->overrides[i].keyword, r->overrides[i].value,
				"command line", e) < 0)
			return -1;
	}
	return account_check(s->account, e);
}

/* What the configuration may hold but outbox cannot honour: refusing is
 * safer than connecting some other way than the user asked. */
static int
check_supported(const struct account *a, struct error *e)
{
	if (account_get(a, KW_PROXY_HOST) != NULL)
		return error_set(e, ST_CONFIG,
				 _("account %s: proxy_host (SOCKS) is not supported; remove it or "
				   "use a system-wide proxy tool"),
				 a->name);
	if (strcmp(account_get(a, KW_PROTOCOL), "smtp") != 0)
		return error_set(e, ST_CONFIG,
				 _("account %s: protocol %s is not supported; use 'protocol smtp'"),
				 a->name, account_get(a, KW_PROTOCOL));
	return 0;
}

static void
trace_line(void *ctx, const char *dir, const char *line)
{
	fprintf(stderr, "%s %s\n", strcmp(dir, "C") == 0 ? "-->" : "<--", line);
}

static void
secret_source_of(const struct account *a, struct secret_source *src)
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

	secret_source_of(ctx, &src);
	return secret_get_password(&src, password, e);
}

static void
smtp_params_from(const struct account *a, bool verbose, struct smtp_params *p)
{
	long timeout = account_long(a, KW_TIMEOUT);
	const char *auth = account_get(a, KW_AUTH);

	memset(p, 0, sizeof *p);
	p->host = account_get(a, KW_HOST);
	p->port = account_get(a, KW_PORT);
	p->socket_path = account_get(a, KW_SOCKET);
	p->source_ip = account_get(a, KW_SOURCE_IP);
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
	p->password_ctx = (void *)a;
	if (verbose)
		p->trace = trace_line;
}

static void
warn_unverified(const struct account *a, const struct smtp_params *p)
{
	if (p->tls_mode != SMTP_TLS_OFF && !p->tls.certcheck && p->tls.fingerprint == NULL)
		log_warning(_("account %s: tls_certcheck is off, so the server's identity is not "
			      "checked; set tls_trust_file or tls_fingerprint instead"),
			    a->name);
}

static enum message_set
set_mode(const struct account *a, enum conf_keyword k)
{
	const char *v = account_get(a, k);

	if (v == NULL || strcmp(v, "auto") == 0)
		return MESSAGE_SET_AUTO;
	return strcmp(v, "off") == 0 ? MESSAGE_SET_OFF : MESSAGE_SET_ON;
}

/* login@host for mail that names no sender anywhere (cron's). */
static char *
default_sender(const struct account *a)
{
	struct passwd *pw = getpwuid(getuid());
	char host[256] = "localhost";
	const char *domain = account_get(a, KW_DOMAIN);

	if (domain == NULL || strchr(domain, '.') == NULL) {
		if (gethostname(host, sizeof host) != 0)
			snprintf(host, sizeof host, "localhost");
		host[sizeof host - 1] = '\0';
		domain = host;
	}
	return xasprintf("%s@%s", pw != NULL ? pw->pw_name : "root", domain);
}

static bool
is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
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
	    (account_bool(a, KW_ALLOW_FROM_OVERRIDE) || from == NULL || is_glob(from)))
		return address_normalize_sender(s->r->envelope_from, out, e);
	if (s->r->read_envelope_from && header_from != NULL)
		return address_normalize_sender(header_from, out, e);
	if (from != NULL && *from != '\0' && !is_glob(from))
		return address_normalize_sender(from, out, e);
	*out = default_sender(a);
	return 0;
}

struct header_addrs {
	struct strlist visible; /* To, Cc (and Resent-) addresses */
	char *msgid;
};

static int
collect_header_info(void *ctx, const struct message_field *f, struct error *e)
{
	struct header_addrs *h = ctx;
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
	for (size_t i = 0; i < s->r->recipients.n; i++)
		strlist_add(&raw, s->r->recipients.v[i]);
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
		/* A local name ("root" from cron) takes the sender's domain. */
		char *q = strchr(raw.v[i], '@') == NULL && domain != NULL
				  ? address_qualify(raw.v[i], domain + 1)
				  : xstrdup(raw.v[i]);
		int r = to_wire(q, &env->rcpts, &env->smtputf8, e);

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

static void
report_recipients(const struct smtp_mail *m)
{
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct smtp_rcpt *rc = &m->rcpts[i];

		if (rc->state == RCPT_PERMFAIL)
			log_error(_("recipient %s rejected: %s"), rc->addr, rc->reply);
		else if (rc->state == RCPT_TEMPFAIL)
			log_error(_("recipient %s temporarily rejected: %s"), rc->addr, rc->reply);
	}
}

static const char *
sender_domain(const char *sender, const char *fallback)
{
	const char *at = strrchr(sender, '@');

	return at != NULL && at[1] != '\0' ? at + 1 : fallback;
}

static void describe_files(const struct session *s, struct buf *out);

int
submit_deliver(const struct request *r, int in_fd, struct error *e)
{
	struct session s = {0};
	struct spool sp = {.fd = -1};
	struct message_layout layout;
	struct header_addrs info = {0};
	struct envelope env = {0};
	struct message_rewrite rw;
	struct buf headers;
	struct smtp_params params;
	struct smtp_mail mail;
	struct smtp_outcome outcome = {0};
	struct smtp_rcpt *rcpts = NULL;
	char *header_from = NULL, *sender = NULL, *generated_msgid = NULL, *rejected = NULL;
	unsigned long long limit = DEFAULT_MESSAGE_MAX;
	char dsn_buf[64];
	int rc = -1;

	buf_init(&headers, 0);
	strlist_init(&info.visible);
	strlist_init(&env.rcpts);
	if (load_conf(r, &s, e) < 0)
		goto out;
	if (r->verbose) {
		struct buf files;

		buf_init(&files, 0);
		describe_files(&s, &files);
		fputs(files.data ? files.data : "", stderr);
		buf_free(&files);
	}
	if (!r->read_envelope_from || r->account != NULL || r->host_given) {
		/* Known before reading the message: fail before consuming it. */
		if (select_account(&s, r->envelope_from, e) < 0)
			goto out;
		limit = (unsigned long long)account_long(s.account, KW_MAX_MESSAGE_SIZE);
	}
	if (spool_read(in_fd, spool_default_dir(), limit, MESSAGE_HEADER_MAX, &sp, e) < 0)
		goto out;
	if (message_layout(sp.head.data ? sp.head.data : "", sp.head.len, MESSAGE_HEADER_MAX,
			   &layout, e) < 0)
		goto out;
	{
		const char *hdr = sp.head.data + layout.header_start;
		size_t hlen = layout.header_end - layout.header_start;

		if (message_fields(hdr, hlen, collect_header_info, &info, e) < 0 ||
		    message_from_address(hdr, hlen, &header_from, e) < 0)
			goto out;
		if (s.account == NULL && select_account(&s, header_from, e) < 0)
			goto out;
		if (check_supported(s.account, e) < 0 ||
		    envelope_sender(&s, header_from, &sender, e) < 0 ||
		    build_envelope(&s, hdr, hlen, sender, &env, e) < 0)
			goto out;
		memset(&rw, 0, sizeof rw);
		rw.remove_bcc = account_bool(s.account, KW_REMOVE_BCC_HEADERS);
		rw.from_header = set_mode(s.account, KW_SET_FROM_HEADER);
		rw.date_header = set_mode(s.account, KW_SET_DATE_HEADER);
		rw.msgid_header = set_mode(s.account, KW_SET_MSGID_HEADER);
		rw.from_addr = sender;
		rw.from_name =
			r->full_name ? r->full_name : account_get(s.account, KW_FROM_FULL_NAME);
		rw.msgid_domain = sender_domain(sender, "localhost");
		rw.undisclosed_recipients = account_bool(s.account, KW_UNDISCLOSED_RECIPIENTS);
		if (info.msgid == NULL && rw.msgid_header != MESSAGE_SET_OFF)
			rw.msgid_override = generated_msgid = message_make_msgid(rw.msgid_domain);
		rw.now = time(NULL);
		if (message_rewrite_headers(hdr, hlen, &rw, &headers, e) < 0 ||
		    buf_puts(&headers, layout.eol) < 0)
			goto out;
	}

	rcpts = xcalloc(env.rcpts.n, sizeof *rcpts);
	for (size_t i = 0; i < env.rcpts.n; i++)
		rcpts[i].addr = env.rcpts.v[i];
	memset(&mail, 0, sizeof mail);
	mail.from = env.from;
	mail.rcpts = rcpts;
	mail.nrcpts = env.rcpts.n;
	mail.dsn_notify = r->dsn_notify ? r->dsn_notify : dsn_notify(s.account, dsn_buf);
	mail.dsn_return = r->dsn_return ? r->dsn_return : dsn_return(s.account);
	mail.dsn_envid = r->dsn_envid;
	mail.eightbit = sp.eightbit || (r->body_type && strcasecmp(r->body_type, "8BITMIME") == 0);
	mail.smtputf8 = env.smtputf8;
	mail.headers = headers.data;
	mail.headers_len = headers.len;
	mail.body_fd = sp.fd;
	mail.body_offset = (off_t)layout.body_start;
	mail.body_len = sp.size - layout.body_start;
	mail.size = headers.len + (sp.size - layout.body_start) + sp.bare_lf;

	smtp_params_from(s.account, r->verbose, &params);
	warn_unverified(s.account, &params);
	rc = smtp_send(&params, &mail, &outcome, e);
	report_recipients(&mail);
	if (outcome.dsn_dropped)
		log_warning(_("the server does not support DSN; -N, -R and -V were ignored"));
	if (rc == 0) {
		for (size_t i = 0; i < mail.nrcpts; i++) {
			if (rcpts[i].state == RCPT_TEMPFAIL) {
				rc = error_set(
					e, ST_SERVER_TEMP,
					_("not delivered to every recipient: %s was "
					  "temporarily refused (the others got the message)"),
					rcpts[i].addr);
				break;
			}
		}
	}
	if (rc == 0)
		rejected = rejected_summary(rcpts, mail.nrcpts, &info.visible);
	if (outcome.uncertain)
		error_prefix(e, _("delivery status uncertain (connection lost after the message "
				  "was sent)"));
	{
		unsigned long hidden = 0;
		char *shown = log_recipients(rcpts, mail.nrcpts, &info.visible, &hidden);
		struct log_record rec = {
			.host = params.socket_path ? params.socket_path : params.host,
			.tls = outcome.tls,
			.auth = outcome.auth_mech,
			.user = params.user,
			.from = env.from,
			.recipients = shown,
			.bcc = hidden,
			.mailsize = mail.size,
			.smtpstatus = outcome.code,
			.smtpmsg = outcome.reply,
			.errormsg = rc < 0 ? e->msg : rejected,
			.exitcode = rc < 0 ? status_exit_code(e->status) : 0,
			.msgid = info.msgid ? info.msgid : generated_msgid,
		};

		log_delivery(account_get(s.account, KW_LOGFILE),
			     account_get(s.account, KW_LOGFILE_TIME_FORMAT),
			     syslog_facility(s.account), &rec);
		free(shown);
	}
out:
	free(rcpts);
	free(rejected);
	free(header_from);
	free(sender);
	free(generated_msgid);
	free(info.msgid);
	free(env.from);
	strlist_free(&env.rcpts);
	strlist_free(&info.visible);
	buf_free(&headers);
	spool_close(&sp);
	if (s.conf != NULL)
		conf_free(s.conf);
	return rc;
}

static void
describe_files(const struct session *s, struct buf *out)
{
	const struct conf_files *f = conf_loaded_files(s->conf);

	if (f == NULL)
		return;
	if (f->system != NULL)
		buf_printf(out, "%s %s\n", _("system configuration file:"), f->system);
	if (f->user != NULL)
		buf_printf(out, "%s %s\n", _("user configuration file:"), f->user);
	if (f->msmtp)
		buf_printf(out, "%s\n",
			   _("(no outbox configuration found; msmtp's files were read)"));
}

int
submit_pretend(const struct request *r, struct buf *out, struct error *e)
{
	struct session s = {0};
	int rc = -1;

	if (load_conf(r, &s, e) == 0 && select_account(&s, r->envelope_from, e) == 0 &&
	    check_supported(s.account, e) == 0) {
		describe_files(&s, out);
		buf_printf(out, "%s %s\n", _("account:"), s.account->name);
		conf_describe_account(s.account, out);
		rc = 0;
	}
	conf_free(s.conf);
	return rc;
}

/* The account for the keyring options: it needs a host and a user, the
 * attributes of its keyring item. */
static int
keyring_account(const struct request *r, struct session *s, struct error *e)
{
	if (load_conf(r, s, e) < 0 || select_account(s, r->envelope_from, e) < 0)
		return -1;
	if (account_get(s->account, KW_USER) == NULL)
		return error_set(e, ST_CONFIG,
				 _("account %s has no user; set 'user' before storing a password"),
				 s->account->name);
	return 0;
}

int
submit_store_password(const struct request *r, struct buf *out, struct error *e)
{
	struct session s = {0};
	char *password = NULL;
	int rc = -1;

	if (keyring_account(r, &s, e) == 0) {
		const char *host = account_get(s.account, KW_HOST);
		const char *user = account_get(s.account, KW_USER);
		char *prompt = xasprintf(_("Password for %s at %s: "), user, host);

		if (secret_read_new(prompt, &password, e) == 0 &&
		    secret_store(host, user, password, e) == 0) {
			buf_printf(out, _("stored the password for %s at %s in the keyring\n"), user,
				   host);
			rc = 0;
		}
		free(prompt);
		free_secret(password);
	}
	conf_free(s.conf);
	return rc;
}

int
submit_delete_password(const struct request *r, struct buf *out, struct error *e)
{
	struct session s = {0};
	int rc = -1;

	if (keyring_account(r, &s, e) == 0) {
		const char *host = account_get(s.account, KW_HOST);
		const char *user = account_get(s.account, KW_USER);

		rc = secret_delete(host, user, e);
		if (rc == 0)
			buf_printf(out, _("deleted the password for %s at %s from the keyring\n"), user,
				   host);
	}
	conf_free(s.conf);
	return rc;
}

int
submit_password_source(const struct request *r, struct buf *out, struct error *e)
{
	struct session s = {0};
	struct secret_source src;
	int rc = -1;

	if (load_conf(r, &s, e) == 0 && select_account(&s, r->envelope_from, e) == 0) {
		secret_source_of(s.account, &src);
		buf_printf(out, "%s %s\n", _("account:"), s.account->name);
		rc = secret_describe(&src, out, e);
	}
	conf_free(s.conf);
	return rc;
}

int
submit_serverinfo(const struct request *r, struct buf *out, struct error *e)
{
	struct session s = {0};
	struct smtp_params params;
	int rc = -1;

	if (load_conf(r, &s, e) == 0 && select_account(&s, r->envelope_from, e) == 0 &&
	    check_supported(s.account, e) == 0) {
		smtp_params_from(s.account, r->verbose, &params);
		rc = smtp_serverinfo(&params, out, e);
	}
	conf_free(s.conf);
	return rc;
}
