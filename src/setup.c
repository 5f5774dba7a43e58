/* setup.c - outbox --configure ADDRESS (setup.h).
 *
 * Order of work: the address and the target file are checked first (so
 * nothing is looked up for an account that could not be written), then
 * the servers are found and probed, the block is built and parsed back
 * with the real parser, and only then written, after the person (or
 * --yes) agreed.  Credentials and the --test login come last.
 *
 * Untrusted input: what autoconfig.c returns (checked there), the
 * server's EHLO (smtp.c), a password or client ID typed at the terminal
 * or piped in (the password is wiped after use). */
#include "config.h"

#include "setup.h"

#include "address.h"
#include "admin.h"
#include "autoconfig.h"
#include "conf.h"
#include "i18n.h"
#include "oauth2.h"
#include "secret.h"
#include "smtp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct setup {
	const struct request *r;
	const char *address;
	const char *name;
	char *file;                   /* where the account goes */
	bool new_file;                /* it does not exist yet */
	struct autoconfig ac;         /* the servers to probe, in order */
	struct autoconfig_server use; /* the one that answered */
	struct caps caps;             /* its EHLO after TLS */
	const char *provider;         /* OAuth2 provider, or NULL */
	char *client_id;
	const char *user;
	const char *auth; /* the auth keyword's value */
	struct buf block;
	struct buf *out;
};

static const char *
override(const struct request *r, enum conf_keyword k)
{
	for (size_t i = 0; i < r->n_overrides; i++)
		if (r->overrides[i].keyword == k)
			return r->overrides[i].value;
	return NULL;
}

/* What out holds so far goes to standard output now: the person sees each
 * step as it happens, and before any question. */
static void
show(struct buf *out)
{
	if (out->len > 0)
		fwrite(out->data, 1, out->len, stdout);
	fflush(stdout);
	buf_reset(out);
}

/* A question on the terminal; the answer without its newline. */
static int
ask(const char *question, char *answer, size_t size, struct error *e)
{
	FILE *tty = fopen("/dev/tty", "r+e");

	if (tty == NULL)
		return error_set(e, ST_IOERR, _("cannot open /dev/tty: %s"), strerror(errno));
	fputs(question, tty);
	fflush(tty);
	if (fgets(answer, (int)size, tty) == NULL)
		answer[0] = '\0';
	answer[strcspn(answer, "\r\n")] = '\0';
	fclose(tty);
	return 0;
}

/* host is domain or a name under it. */
static bool
is_under(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);

	return strcasecmp(host, domain) == 0 ||
	       (h > d && host[h - d - 1] == '.' && strcasecmp(host + h - d, domain) == 0);
}

const char *
setup_oauth2_provider(const char *host)
{
	static const struct {
		const char *domain, *provider;
	} hosts[] = {
		{"gmail.com", "google"},      {"googlemail.com", "google"},
		{"google.com", "google"},     {"office365.com", "microsoft"},
		{"outlook.com", "microsoft"},
	};

	for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++)
		if (is_under(host, hosts[i].domain))
			return hosts[i].provider;
	return NULL;
}

/* Text that goes into the file as one line's value: no control bytes. */
static bool
fits_a_line(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

/* ---- the file ---- */

/* The user's outbox file (-C, else the one outbox reads, else the XDG
 * path); refuses msmtp's files, which outbox reads only while it has none
 * of its own, and an account name the file already has. */
static int
pick_file(struct setup *s, struct error *e)
{
	struct conf_paths paths = {0};
	struct conf_files f;
	struct conf *c;
	int rc = 0;

	if (s->r->config_file != NULL) {
		s->file = xstrdup(s->r->config_file);
	} else {
		if (conf_find_files(&paths, &f, e) < 0)
			return -1;
		if (f.msmtp) {
			char *mine = conf_default_user_file(&paths);

			rc = error_set(
				e, ST_CONFIG,
				_("outbox reads msmtp's %s as it has no file of its own; copy "
				  "it first (cp %s %s) and run --configure again, or use -C "
				  "FILE"),
				f.user != NULL ? f.user : f.system,
				f.user != NULL ? f.user : f.system, mine ? mine : "?");
			free(mine);
		} else {
			s->file = f.user != NULL ? xstrdup(f.user) : conf_default_user_file(&paths);
		}
		conf_files_free(&f);
		if (rc < 0)
			return -1;
		if (s->file == NULL)
			return error_set(e, ST_CONFIG,
					 _("no home directory to put the configuration in; use -C "
					   "FILE"));
	}
	s->new_file = access(s->file, F_OK) < 0 && errno == ENOENT;
	if (s->new_file)
		return 0;
	c = conf_new();
	if (conf_load_file(c, s->file, false, e) < 0) {
		error_prefix(e, _("cannot add an account to %s"), s->file);
		rc = -1;
	} else if (conf_find_account(c, s->name) != NULL) {
		rc = error_set(e, ST_USAGE,
			       _("%s already has an account %s; name the new one with -a NAME "
				 "(outbox never rewrites your lines)"),
			       s->file, s->name);
	}
	conf_free(c);
	return rc;
}

/* ---- finding and probing ---- */

static void
add_server(struct autoconfig *ac, const char *host, long port, enum autoconfig_tls tls)
{
	struct autoconfig_server *sv = &ac->servers[ac->n++];

	memset(sv, 0, sizeof *sv);
	snprintf(sv->host, sizeof sv->host, "%s", host);
	sv->port = port;
	sv->tls = tls;
}

static int
find_servers(struct setup *s, struct error *e)
{
	const char *host = override(s->r, KW_HOST);
	struct autoconfig_options o = {
		.trust_file = override(s->r, KW_TLS_TRUST_FILE),
		.timeout_ms = SETUP_TIMEOUT_MS,
	};
	int rc;

	if (host != NULL) {
		memset(&s->ac, 0, sizeof s->ac);
		strlist_init(&s->ac.tried);
		s->ac.source = xstrdup(_("the command line"));
		add_server(&s->ac, host, 465, AUTOCONFIG_IMPLICIT_TLS);
		add_server(&s->ac, host, 587, AUTOCONFIG_STARTTLS);
		return 0;
	}
	buf_printf(s->out, _("Looking up the submission server for %s:\n"), s->address);
	show(s->out);
	rc = autoconfig_discover(s->address, &o, &s->ac, e);
	for (size_t i = 0; i < s->ac.tried.n; i++)
		buf_printf(s->out, "  %s\n", s->ac.tried.v[i]);
	if (rc == 0)
		buf_printf(s->out, _("Found by %s.\n"), s->ac.source);
	return rc;
}

/* --port: only that port; a server found on it keeps its TLS mode, any
 * other found host is tried on it with implicit TLS for 465, else
 * STARTTLS. */
static int
apply_port(struct setup *s, struct error *e)
{
	const char *given = override(s->r, KW_PORT);
	struct autoconfig *ac = &s->ac;
	long port;

	if (given == NULL)
		return 0;
	if (parse_long(given, 1, 65535, &port) < 0)
		return error_set(e, ST_USAGE, _("--port takes a number from 1 to 65535, not '%s'"),
				 given);
	for (size_t i = 0; i < ac->n; i++)
		if (ac->servers[i].port != port) {
			ac->servers[i].port = port;
			ac->servers[i].tls =
				port == 465 ? AUTOCONFIG_IMPLICIT_TLS : AUTOCONFIG_STARTTLS;
		}
	autoconfig_sort(ac);
	return 0;
}

static const char *
tls_name(enum autoconfig_tls tls)
{
	return tls == AUTOCONFIG_IMPLICIT_TLS ? _("implicit TLS") : "STARTTLS";
}

/* The first lines of the server's description (its name, greeting and
 * capabilities); all of it with -v. */
static void
show_description(struct setup *s, const struct buf *d)
{
	const char *p = d->data != NULL ? d->data : "";
	int lines = s->r->verbose > 0 ? -1 : 3;

	for (; *p != '\0' && lines != 0; lines--) {
		size_t n = strcspn(p, "\n");

		buf_printf(s->out, "  %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* Connects, verifies, reads EHLO: 0 when sv answered. */
static int
probe_one(struct setup *s, const struct autoconfig_server *sv, struct error *e)
{
	char port[8];
	struct buf d;
	struct smtp_outcome o = {0};
	struct smtp_session *sess;
	struct smtp_params p = {
		.host = sv->host,
		.port = port,
		.timeout_ms = SETUP_TIMEOUT_MS,
		.helo_domain = "localhost",
		.tls_mode =
			sv->tls == AUTOCONFIG_IMPLICIT_TLS ? SMTP_TLS_IMPLICIT : SMTP_TLS_STARTTLS,
		.tls = {.host = sv->host,
			.trust_file = override(s->r, KW_TLS_TRUST_FILE),
			.certcheck = true,
			.timeout_ms = SETUP_TIMEOUT_MS},
		.auth_mode = SMTP_AUTH_OFF,
	};

	snprintf(port, sizeof port, "%ld", sv->port);
	buf_init(&d, 0);
	p.describe = &d;
	buf_printf(s->out, _("Trying %s port %ld (%s): "), sv->host, sv->port, tls_name(sv->tls));
	show(s->out);
	sess = smtp_open(&p, &o, e);
	if (sess == NULL) {
		buf_printf(s->out, "%s\n", e->msg);
		buf_free(&d);
		return -1;
	}
	smtp_close(sess);
	buf_printf(s->out, _("the certificate is valid for %s.\n"), sv->host);
	show_description(s, &d);
	buf_free(&d);
	s->use = *sv;
	s->caps = o.caps;
	return 0;
}

static int
probe(struct setup *s, struct error *e)
{
	struct buf failures;

	buf_init(&failures, 0);
	for (size_t i = 0; i < s->ac.n; i++) {
		if (probe_one(s, &s->ac.servers[i], e) == 0) {
			buf_free(&failures);
			return 0;
		}
		buf_printf(&failures, "%s%s port %ld: %s", i > 0 ? "; " : "", s->ac.servers[i].host,
			   s->ac.servers[i].port, e->msg);
	}
	error_set(e, e->status, _("no server that %s named could be used: %s"), s->ac.source,
		  failures.data != NULL ? failures.data : "");
	buf_free(&failures);
	return -1;
}

/* ---- the account ---- */

static bool
caps_offer_oauth2(const struct caps *c)
{
	return caps_has_auth(c, "XOAUTH2") || caps_has_auth(c, "OAUTHBEARER");
}

/* auth, user, provider and client ID from what was found and given. */
static int
decide_auth(struct setup *s, struct error *e)
{
	const char *auth = override(s->r, KW_AUTH);
	const char *id = override(s->r, KW_OAUTH2_CLIENT_ID);
	const char *doc = NULL;
	char answer[256];

	s->user = override(s->r, KW_USER);
	if (s->user == NULL)
		s->user = s->use.user[0] != '\0' ? s->use.user : s->address;
	s->provider = setup_oauth2_provider(s->use.host);
	if (auth != NULL && strcasecmp(auth, "xoauth2") != 0 &&
	    strcasecmp(auth, "oauthbearer") != 0)
		s->provider = NULL;
	if (s->provider != NULL && !caps_offer_oauth2(&s->caps) && !s->use.oauth2)
		s->provider = NULL;
	if (s->provider == NULL) {
		s->auth = auth != NULL                                    ? auth
			  : s->use.no_auth || !(s->caps.flags & CAP_AUTH) ? "off"
									  : "on";
		return 0;
	}
	s->auth = auth != NULL ? auth : "xoauth2";
	doc = strcmp(s->provider, "google") == 0 ? DOCDIR "/oauth2-google.md"
						 : DOCDIR "/oauth2-microsoft.md";
	buf_printf(s->out, _("%s is %s's: the account signs in with OAuth2 (see %s).\n"),
		   s->use.host, s->provider, doc);
	if (id == NULL && !s->r->dry_run && isatty(STDIN_FILENO)) {
		show(s->out);
		if (ask(_("Your OAuth2 client ID: "), answer, sizeof answer, e) < 0)
			return -1;
		if (answer[0] != '\0' && fits_a_line(answer))
			s->client_id = xstrdup(answer);
	} else if (id != NULL && fits_a_line(id)) {
		s->client_id = xstrdup(id);
	}
	if (s->client_id == NULL)
		return error_set(e, ST_USAGE,
				 _("%s's OAuth2 needs a client ID of your own, which outbox cannot "
				   "find: register one (%s) and pass --oauth2-client-id=ID"),
				 s->provider, doc);
	return 0;
}

static bool
written_by_setup(enum conf_keyword k)
{
	return k == KW_HOST || k == KW_PORT || k == KW_USER || k == KW_AUTH ||
	       k == KW_OAUTH2_CLIENT_ID || k == KW_TLS || k == KW_TLS_STARTTLS;
}

static int
build_block(struct setup *s, struct error *e)
{
	char day[16];
	time_t now = time(NULL);
	struct tm tm;

	strftime(day, sizeof day, "%Y-%m-%d", localtime_r(&now, &tm));
	buf_init(&s->block, 0);
	buf_printf(&s->block, "# %s, %s: %s\n", "outbox --configure", day, s->ac.source);
	buf_printf(&s->block, "account %s\nhost %s\nport %ld\ntls on\ntls_starttls %s\n", s->name,
		   s->use.host, s->use.port, s->use.tls == AUTOCONFIG_STARTTLS ? "on" : "off");
	buf_printf(&s->block, "auth %s\n", s->auth);
	if (strcmp(s->auth, "off") != 0)
		buf_printf(&s->block, "user %s\n", s->user);
	if (override(s->r, KW_FROM) == NULL)
		buf_printf(&s->block, "from %s\n", s->address);
	if (s->provider != NULL)
		buf_printf(&s->block, "oauth2_provider %s\noauth2_client_id %s\n", s->provider,
			   s->client_id);
	for (size_t i = 0; i < s->r->n_overrides; i++) {
		const struct cli_override *o = &s->r->overrides[i];

		if (written_by_setup(o->keyword) ||
		    (o->keyword == KW_OAUTH2_PROVIDER && s->provider != NULL))
			continue;
		if (!fits_a_line(o->value))
			return error_set(e, ST_USAGE, _("--%s: a value cannot hold a line break"),
					 conf_keywords[o->keyword].name);
		buf_printf(&s->block, "%s %s\n", conf_keywords[o->keyword].name, o->value);
	}
	if (s->new_file)
		buf_printf(&s->block, "\naccount default : %s\n", s->name);
	return 0;
}

/* The file as it will be, parsed by the parser that will read it: the
 * block must fit after the user's lines (their defaults apply to it). */
static int
check_block(struct setup *s, struct error *e)
{
	struct conf *c = conf_new();
	struct account *a;
	struct buf all;
	int fd, rc = 0;

	buf_init(&all, 0);
	if (!s->new_file) {
		fd = open_for_reading(s->file);
		rc = fd < 0 ? -1 : read_to_eof(fd, &all, false);
		if (fd >= 0)
			close(fd);
	}
	buf_puts(&all, "\n");
	buf_puts(&all, s->block.data);
	if (rc == 0)
		rc = conf_load_string(c, s->file, all.data, all.len, e);
	else
		rc = error_set(e, ST_CONFIG, _("cannot read %s: %s"), s->file, strerror(errno));
	buf_free(&all);

	if (rc == 0) {
		a = conf_find_account(c, s->name);
		rc = a != NULL ? account_check(a, e)
			       : error_set(e, ST_SOFTWARE, "account %s not in the block", s->name);
	}
	conf_free(c);
	return rc;
}

/* Asks at a terminal; without one, --yes is the only yes. */
static int
agreed(struct setup *s, bool *yes, struct error *e)
{
	char answer[16], *question;

	*yes = s->r->yes;
	if (*yes)
		return 0;
	if (!isatty(STDIN_FILENO))
		return error_set(e, ST_USAGE,
				 _("nothing written: standard input is not a terminal, so nothing "
				   "was asked; add --yes to write the account to %s"),
				 s->file);
	show(s->out);
	question = xasprintf(_("Add this account to %s? [y/N] "), s->file);
	if (ask(question, answer, sizeof answer, e) < 0) {
		free(question);
		return -1;
	}
	free(question);
	/* The locale's yes (YESEXPR): [j/N] in German, [o/N] in French. */
	*yes = rpmatch(answer) == 1;
	if (!*yes)
		buf_puts(s->out, _("Nothing was written.\n"));
	return 0;
}

static int
write_block(struct setup *s, struct error *e)
{
	char *backup = NULL;

	if (conf_append(s->file, s->block.data, &backup, e) < 0)
		return -1;
	if (backup != NULL)
		buf_printf(s->out, _("Added account %s to %s (its copy before: %s).\n"), s->name,
			   s->file, backup);
	else
		buf_printf(s->out, _("Wrote account %s to the new file %s.\n"), s->name, s->file);
	free(backup);
	return 0;
}

/* ---- credentials and the test ---- */

/* The request that --test, --authorize would get: this account, from
 * this file. */
static void
account_request(const struct setup *s, struct request *t, enum cli_mode mode)
{
	memset(t, 0, sizeof *t);
	t->mode = mode;
	t->account = s->name;
	t->config_file = s->r->config_file;
	t->verbose = s->r->verbose;
}

/* A password piped in: the first line of standard input; *out is NULL
 * when there is none (an empty input), which leaves it for later. */
static int
piped_password(char **out, struct error *e)
{
	struct buf b;
	size_t n;

	*out = NULL;
	buf_init(&b, SETUP_PASSWORD_MAX);
	if (read_to_eof(STDIN_FILENO, &b, true) < 0) {
		buf_free(&b);
		return error_set(e, ST_DATAERR, _("cannot read the password: %s"), strerror(errno));
	}
	n = b.data != NULL ? strcspn(b.data, "\r\n") : 0;
	if (n > 0)
		*out = xstrndup(b.data, n);
	buf_free(&b);
	return 0;
}

/* The password into the keyring: asked at a terminal, else read from
 * standard input.  *stored says whether there is one now. */
static int
store_password(struct setup *s, bool *stored, struct error *e)
{
	char *password = NULL, *prompt;
	int rc;

	*stored = false;
	prompt = xasprintf(_("Password for %s at %s: "), s->user, s->use.host);
	show(s->out);
	rc = isatty(STDIN_FILENO) ? secret_read_new(prompt, &password, e)
				  : piped_password(&password, e);
	free(prompt);
	if (rc == 0 && password == NULL) {
		buf_printf(s->out,
			   _("No password given: store it with 'outbox -a %s --store-password'.\n"),
			   s->name);
	} else if (rc == 0 && (rc = secret_store(s->use.host, s->user, password, e)) == 0) {
		buf_printf(s->out, _("Stored the password for %s at %s in the keyring.\n"), s->user,
			   s->use.host);
		*stored = true;
	}
	free_secret(password);
	return rc;
}

static int
sign_in(struct setup *s, bool *ready, struct error *e)
{
	struct request t;
	int rc;

	*ready = false;
	if (!isatty(STDIN_FILENO)) {
		buf_printf(
			s->out,
			_("Sign in at a terminal with 'outbox -a %s --authorize', then test with "
			  "'outbox -a %s --test'.\n"),
			s->name, s->name);
		return 0;
	}
	account_request(s, &t, CLI_AUTHORIZE);
	show(s->out);
	rc = admin_authorize(&t, s->out, e);
	*ready = rc == 0;
	return rc;
}

static int
credentials_and_test(struct setup *s, struct error *e)
{
	struct request t;
	bool ready = true;
	int rc = 0;

	if (s->provider != NULL)
		rc = sign_in(s, &ready, e);
	else if (strcmp(s->auth, "off") != 0)
		rc = store_password(s, &ready, e);
	if (rc < 0 || !ready)
		return rc;
	account_request(s, &t, CLI_TEST);
	show(s->out);
	return admin_test(&t, s->out, e);
}

/* ---- the command ---- */

static int
check_address(struct setup *s, struct error *e)
{
	const char *a;

	if (s->r->recipients.n != 1)
		return error_set(e, ST_USAGE,
				 _("--configure takes one address: outbox --configure "
				   "alice@example.org"));
	a = s->r->recipients.v[0];
	if (strchr(a, '@') == NULL || strpbrk(a, " <>,;:\"") != NULL || !fits_a_line(a))
		return error_set(
			e, ST_USAGE,
			_("'%s' is not an address with an ASCII domain (user@example.org)"), a);
	s->address = a;
	s->name = s->r->account != NULL ? s->r->account : a;
	if (!fits_a_line(s->name) || strpbrk(s->name, " \t") != NULL)
		return error_set(e, ST_USAGE, _("-a: an account name is one word"));
	return 0;
}

static int
configure(struct setup *s, struct error *e)
{
	bool yes;

	if (check_address(s, e) < 0 || pick_file(s, e) < 0 || find_servers(s, e) < 0 ||
	    apply_port(s, e) < 0)
		return -1;
	show(s->out);
	if (probe(s, e) < 0 || decide_auth(s, e) < 0 || build_block(s, e) < 0 ||
	    check_block(s, e) < 0)
		return -1;
	if (s->r->dry_run) {
		buf_printf(s->out, _("Would add to %s:\n"), s->file);
		buf_puts(s->out, s->block.data);
		return 0;
	}
	buf_printf(s->out, _("The account for %s:\n"), s->file);
	buf_puts(s->out, s->block.data);
	if (agreed(s, &yes, e) < 0)
		return -1;
	if (!yes)
		return 0;
	if (write_block(s, e) < 0)
		return -1;
	return credentials_and_test(s, e);
}

int
setup_configure(const struct request *r, struct buf *out, struct error *e)
{
	struct setup s = {.r = r, .out = out};
	int rc = configure(&s, e);

	free(s.file);
	free(s.client_id);
	autoconfig_free(&s.ac);
	buf_free(&s.block);
	return rc;
}
