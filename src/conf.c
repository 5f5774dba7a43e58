/* conf.c - the keyword table, accounts and their values, inheritance,
 * finding and loading the configuration files, and selecting the account
 * for a message.  The checks of values are in conf_values.c, the file
 * syntax in conf_parse.c, aliases in conf_aliases.c.
 *
 * Untrusted input: values set from the command line (checked like file
 * values), the environment ($HOME, $XDG_CONFIG_HOME) and the envelope
 * sender used for account selection.  Secret values are wiped when
 * replaced or freed.
 */
#include "config.h"

#include "conf_private.h"

#include "i18n.h"
#include "suggest.h"

#include <errno.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

/* ---- accounts ---- */

const struct conf_keyword_info conf_keywords[KW__COUNT] = {
	[KW_HOST] = {"host", CT_STRING, .connection = true, .needs_argument = true,
		     .argument = "hostname",
		     .description = N_("the submission server, a host name or address")},
	[KW_PORT] = {"port", CT_NUMBER, .connection = true, .min = 1, .max = 65535,
		     .needs_argument = true, .argument = "number",
		     .description = N_("the server's port; default 587 with STARTTLS, 465 with "
				       "implicit TLS, 25 without TLS")},
	[KW_SOURCE_IP] = {"source_ip", CT_STRING, .connection = true, .argument = "[address]",
			  .description = N_("the local address to connect from")},
	[KW_TIMEOUT] = {"timeout", CT_TIMEOUT, .default_value = "60", .min = 1, .max = DAY,
			.needs_argument = true, .argument = "off|seconds",
			.description = N_("network timeout in seconds, 1 to 86400")},
	[KW_DOMAIN] = {"domain", CT_HOSTNAME, .connection = true, .default_value = "localhost",
		       .argument = "name", .description = N_("the argument of EHLO or LHLO")},
	[KW_PROTOCOL] = {"protocol", CT_CHOICE, .connection = true, .default_value = "smtp",
			 .choices = "smtp|lmtp", .needs_argument = true, .argument = "smtp|lmtp",
			 .description = N_("the protocol spoken to the server")},
	[KW_SOCKET] = {"socket", CT_PATH, .connection = true, .argument = "[file]",
		       .description = N_("a Unix domain socket to connect to instead of host and "
					 "port")},
	[KW_PROXY_HOST] = {"proxy_host", CT_STRING, .connection = true, .needs_argument = true,
			   .argument = "hostname",
			   .description = N_("a SOCKS5 proxy to connect through")},
	[KW_PROXY_PORT] = {"proxy_port", CT_NUMBER, .connection = true, .default_value = "1080",
			   .if_empty = "1080", .min = 1, .max = 65535, .argument = "[number]",
			   .description = N_("the SOCKS5 proxy's port")},
	[KW_TLS] = {"tls", CT_BOOL, .connection = true, .default_value = "on", .if_empty = "on",
		    .argument = "[on|off]", .description = N_("use TLS")},
	[KW_TLS_STARTTLS] = {"tls_starttls", CT_BOOL, .connection = true, .default_value = "on",
			     .if_empty = "on", .argument = "[on|off]",
			     .description = N_("start TLS with STARTTLS (on) or connect with "
					       "implicit TLS (off)")},
	[KW_TLS_TRUST_FILE] = {"tls_trust_file", CT_PATH, .connection = true,
			       .default_value = "system", .argument = "[file|system]",
			       .description = N_("the CA certificates to trust (PEM); system "
						 "means the system's; empty trusts no CA")},
	[KW_TLS_CRL_FILE] = {"tls_crl_file", CT_PATH, .connection = true, .argument = "[file]",
			     .description = N_("a certificate revocation list (PEM)")},
	[KW_TLS_FINGERPRINT] = {"tls_fingerprint", CT_FINGERPRINT, .connection = true,
				.argument = "[fingerprint]",
				.description = N_("accept only the server certificate with this "
						  "SHA-256 fingerprint")},
	[KW_TLS_CERT_FILE] = {"tls_cert_file", CT_PATH, .connection = true, .argument = "[file]",
			      .description = N_("a client certificate (PEM) to present")},
	[KW_TLS_KEY_FILE] = {"tls_key_file", CT_PATH, .connection = true, .argument = "[file]",
			     .description = N_("the client certificate's private key (PEM)")},
	[KW_TLS_CERTCHECK] = {"tls_certcheck", CT_BOOL, .connection = true, .default_value = "on",
			      .if_empty = "on", .argument = "[on|off]",
			      .description = N_("verify the server certificate")},
	[KW_TLS_PRIORITIES] = {"tls_priorities", CT_STRING, .connection = true,
			       .argument = "[priorities]",
			       .description = N_("a GnuTLS priority string")},
	[KW_TLS_HOST_OVERRIDE] = {"tls_host_override", CT_STRING, .connection = true,
				  .argument = "[hostname]",
				  .description = N_("the name to verify the certificate against "
						    "instead of host")},
	[KW_TLS_MIN_DH_PRIME_BITS] = {"tls_min_dh_prime_bits", CT_NUMBER, .min = 1, .max = 65536,
				      .ignored = true, .argument = "[bits]",
				      .description = N_("accepted for msmtp compatibility and "
							"ignored; use tls_priorities")},
	[KW_AUTH] = {"auth", CT_CHOICE, .connection = true, .default_value = "auto",
		     .if_empty = "on",
		     .choices = "auto|on|off|plain|login|cram-md5|scram-sha-1|scram-sha-256|"
				"scram-sha-1-plus|scram-sha-256-plus|xoauth2|oauthbearer|external",
		     .argument = "[auto|on|off|mechanism]",
		     .description = N_("authenticate: on picks the strongest mechanism both sides "
				       "have")},
	[KW_USER] = {"user", CT_STRING, .connection = true, .argument = "[name]",
		     .description = N_("the user name for authentication")},
	[KW_PASSWORD] = {"password", CT_STRING, .connection = true, .secret = true,
			 .argument = "[secret]",
			 .description = N_("the password; prefer passwordeval or the keyring")},
	[KW_PASSWORDEVAL] = {"passwordeval", CT_STRING, .connection = true, .argument = "[command]",
			     .description = N_("a command whose output is the password")},
	[KW_ALLOW_PLAINTEXT_AUTH] = {"allow_plaintext_auth", CT_BOOL, .connection = true,
				     .default_value = "off", .if_empty = "on",
				     .argument = "[on|off]",
				     .description = N_("allow a mechanism named in auth over a "
						       "connection without TLS")},
	[KW_OAUTH2_PROVIDER] = {"oauth2_provider", CT_CHOICE, .connection = true,
				.choices = "google|microsoft|custom",
				.argument = "[google|microsoft|custom]",
				.description =
					N_("get and refresh the OAuth2 token for auth xoauth2 "
					   "or oauthbearer with these endpoints")},
	[KW_OAUTH2_CLIENT_ID] = {"oauth2_client_id", CT_STRING, .connection = true,
				 .argument = "[id]",
				 .description = N_("the OAuth2 client ID you registered with the "
						   "provider")},
	[KW_OAUTH2_CLIENT_SECRET] = {"oauth2_client_secret", CT_STRING, .connection = true,
				     .secret = true, .argument = "[secret]",
				     .description =
					     N_("the OAuth2 client's secret, if the provider "
						"gave it one")},
	[KW_OAUTH2_TENANT] = {"oauth2_tenant", CT_STRING, .connection = true,
			      .default_value = "common", .argument = "[tenant]",
			      .description = N_("the Microsoft Entra tenant: common, "
						"organizations, a domain or a tenant ID")},
	[KW_OAUTH2_AUTHORIZE_URL] = {"oauth2_authorize_url", CT_STRING, .connection = true,
				     .argument = "[url]",
				     .description = N_("the provider's authorization endpoint "
						       "(browser sign-in)")},
	[KW_OAUTH2_DEVICE_URL] = {"oauth2_device_url", CT_STRING, .connection = true,
				  .argument = "[url]",
				  .description =
					  N_("the provider's device authorization endpoint")},
	[KW_OAUTH2_TOKEN_URL] = {"oauth2_token_url", CT_STRING, .connection = true,
				 .argument = "[url]",
				 .description = N_("the provider's token endpoint")},
	[KW_OAUTH2_SCOPE] = {"oauth2_scope", CT_STRING, .connection = true, .argument = "[scopes]",
			     .description = N_("the OAuth2 scopes to ask for, separated by "
					       "spaces")},
	[KW_OAUTH2_TLS_TRUST_FILE] = {"oauth2_tls_trust_file", CT_PATH, .connection = true,
				      .default_value = "system", .argument = "[file|system]",
				      .description = N_("the CA certificates to trust for the "
							"OAuth2 endpoints (PEM)")},
	[KW_FROM] = {"from", CT_STRING, .argument = "address",
		     .description = N_("the envelope sender; a glob also selects this account for "
				       "-f")},
	[KW_FROM_FULL_NAME] = {"from_full_name", CT_STRING, .argument = "[name]",
			       .description = N_("the full name in a generated From: header")},
	[KW_ALLOW_FROM_OVERRIDE] = {"allow_from_override", CT_BOOL, .default_value = "on",
				    .if_empty = "on", .argument = "[on|off]",
				    .description = N_("let -f override from")},
	[KW_SET_FROM_HEADER] = {"set_from_header", CT_CHOICE, .default_value = "auto",
				.if_empty = "on", .choices = "auto|on|off",
				.argument = "[auto|on|off]",
				.description = N_("add a From: header when missing (auto), always "
						  "(on) or never (off)")},
	[KW_SET_DATE_HEADER] = {"set_date_header", CT_CHOICE, .default_value = "auto",
				.if_empty = "auto", .choices = "auto|off", .argument = "[auto|off]",
				.description = N_("add a Date: header when missing")},
	[KW_SET_MSGID_HEADER] = {"set_msgid_header", CT_CHOICE, .default_value = "auto",
				 .if_empty = "auto", .choices = "auto|off",
				 .argument = "[auto|off]",
				 .description = N_("add a Message-ID: header when missing")},
	[KW_REMOVE_BCC_HEADERS] = {"remove_bcc_headers", CT_BOOL, .default_value = "on",
				   .if_empty = "on", .argument = "[on|off]",
				   .description = N_("remove Bcc: headers from what is sent")},
	[KW_UNDISCLOSED_RECIPIENTS] = {"undisclosed_recipients", CT_BOOL, .default_value = "off",
				       .if_empty = "on", .argument = "[on|off]",
				       .description = N_("replace To, Cc and Bcc by To: "
							 "undisclosed-recipients:;")},
	[KW_DSN_NOTIFY] = {"dsn_notify", CT_DSN_NOTIFY, .default_value = "off",
			   .needs_argument = true, .argument = "off|never|condition[,...]",
			   .description = N_("when to request delivery status notifications: "
					     "success, failure, delay")},
	[KW_DSN_RETURN] = {"dsn_return", CT_CHOICE, .default_value = "off",
			   .choices = "off|headers|full", .needs_argument = true,
			   .argument = "off|headers|full",
			   .description = N_("how much of the message a notification returns")},
	[KW_ALIASES] = {"aliases", CT_PATH, .argument = "[file]",
			.description = N_("an aliases file for local recipients")},
	[KW_LOGFILE] = {"logfile", CT_PATH, .argument = "[file|-]",
			.description = N_("append one line per message to this file; - is "
					  "standard output")},
	[KW_LOGFILE_TIME_FORMAT] = {"logfile_time_format", CT_STRING,
				    .default_value = "%b %d %H:%M:%S", .if_empty = "%b %d %H:%M:%S",
				    .argument = "[format]",
				    .description = N_("the strftime(3) format of log file times")},
	[KW_SYSLOG] = {"syslog", CT_SYSLOG, .default_value = "off", .if_empty = "on",
		       .argument = "[on|off|facility]",
		       .description = N_("log to syslog; on means LOG_USER")},
	[KW_QUEUE] = {"queue", CT_BOOL, .default_value = "on", .if_empty = "on",
		      .argument = "[on|off]",
		      .description = N_("keep messages that cannot be delivered now in the queue")},
	[KW_QUEUE_DIR] = {"queue_dir", CT_PATH, .argument = "[directory]",
			  .description = N_("the queue directory; default "
					    "$XDG_STATE_HOME/outbox/queue")},
	[KW_QUEUE_MAX_AGE] = {"queue_max_age", CT_DURATION, .default_value = "5d", .min = 60,
			      .max = 366 * DAY, .needs_argument = true, .argument = "duration",
			      .description = N_("give up on a message this long after the first "
						"attempt that reached the server")},
	[KW_DELIVERY_MODE] = {"delivery_mode", CT_CHOICE, .default_value = "foreground",
			      .choices = "foreground|background|queue", .needs_argument = true,
			      .argument = "foreground|background|queue",
			      .description = N_("deliver before returning, in the background, or "
						"only queue")},
	[KW_HOLD_ON_ACCOUNT_ERROR] = {"hold_on_account_error", CT_BOOL, .default_value = "on",
				      .if_empty = "on", .argument = "[on|off]",
				      .description = N_("hold messages on account or "
							"configuration errors instead of failing")},
	[KW_MAX_MESSAGE_SIZE] = {"max_message_size", CT_SIZE, .default_value = "50M", .min = 1024,
				 .max = 0x7fffffffL, .needs_argument = true,
				 .argument = "bytes[k|M|G]",
				 .description = N_("refuse larger messages")},
	[KW_EVAL] = {"eval", CT_EVAL, .needs_argument = true, .argument = "command",
		     .description = N_("replace this line by the first line the command "
				       "prints")},
};

int
conf_keyword_lookup(const char *name)
{
	for (int k = 0; k < KW__COUNT; k++)
		if (strcmp(conf_keywords[k].name, name) == 0)
			return k;
	return -1;
}

/* ---- accounts ---- */

struct account *
account_new(const char *name, const char *file, unsigned line)
{
	struct account *a = xcalloc(1, sizeof *a);

	a->name = xstrdup(name);
	a->file = file;
	a->first_line = line;
	return a;
}

void
account_store(struct account *a, enum conf_keyword k, char *value, const char *source,
	      unsigned line)
{
	if (conf_keywords[k].secret)
		free_secret(a->value[k]);
	else
		free(a->value[k]);
	a->value[k] = value;
	a->source[k] = source;
	a->line[k] = line;
}

static void
account_copy_value(struct account *to, const struct account *from, enum conf_keyword k)
{
	account_store(to, k, from->value[k] != NULL ? xstrdup(from->value[k]) : NULL,
		      from->source[k], from->line[k]);
}

void
account_inherit(struct account *to, const struct account *from, const bool which[KW__COUNT])
{
	for (int k = 0; k < KW__COUNT; k++)
		if (which == NULL || which[k])
			account_copy_value(to, from, k);
}

void
account_free(struct account *a)
{
	if (a == NULL)
		return;
	for (int k = 0; k < KW__COUNT; k++)
		account_store(a, k, NULL, NULL, 0);
	free(a->name);
	free(a);
}

static const char *
default_port(const struct account *a)
{
	if (strcmp(account_get(a, KW_PROTOCOL), "lmtp") == 0)
		return NULL;
	if (!account_bool(a, KW_TLS))
		return "25";
	return account_bool(a, KW_TLS_STARTTLS) ? "587" : "465";
}

const char *
account_get(const struct account *a, enum conf_keyword k)
{
	if (a->value[k] != NULL)
		return a->value[k][0] != '\0' ? a->value[k] : NULL;
	if (k == KW_PORT)
		return default_port(a);
	return conf_keywords[k].default_value;
}

bool
account_is_set(const struct account *a, enum conf_keyword k)
{
	return a->value[k] != NULL;
}

bool
account_bool(const struct account *a, enum conf_keyword k)
{
	const char *v = account_get(a, k);

	return v != NULL && strcmp(v, "off") != 0;
}

long
account_long(const struct account *a, enum conf_keyword k)
{
	const char *v = account_get(a, k);

	return v != NULL ? conf_value_long(k, v) : -1;
}

char *
conf_home_directory(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && h[0] == '/')
		return xstrdup(h);
	pw = getpwuid(getuid());
	if (pw != NULL && pw->pw_dir != NULL && pw->pw_dir[0] == '/')
		return xstrdup(pw->pw_dir);
	return NULL;
}

int
account_set(struct account *a, enum conf_keyword k, const char *value, const char *source,
	    struct error *e)
{
	char *home, *v;
	int rc;

	if (k == KW_EVAL)
		return error_set(e, ST_CONFIG, _("eval is only valid in a configuration file"));
	home = conf_home_directory();
	rc = conf_value_check(k, value, home, &v, e);
	free(home);
	if (rc < 0)
		return -1;
	account_store(a, k, v, source, 0);
	return 0;
}

static const enum conf_keyword oauth2_urls[] = {KW_OAUTH2_AUTHORIZE_URL, KW_OAUTH2_DEVICE_URL,
						KW_OAUTH2_TOKEN_URL};

/* The OAuth2 keywords: a provider with a mechanism that carries a token,
 * a user and a client; https endpoints, all of them for a custom one. */
static int
check_oauth2(const struct account *a, struct error *e)
{
	const char *provider = account_get(a, KW_OAUTH2_PROVIDER);
	const char *auth = account_get(a, KW_AUTH);

	if (provider == NULL)
		return account_get(a, KW_OAUTH2_CLIENT_ID) == NULL
			       ? 0
			       : error_set(e, ST_CONFIG,
					   _("account %s (%s): oauth2_client_id is set but "
					     "oauth2_provider is not; add 'oauth2_provider "
					     "google|microsoft|custom'"),
					   a->name, a->file);
	if (strcmp(auth, "xoauth2") != 0 && strcmp(auth, "oauthbearer") != 0)
		return error_set(e, ST_CONFIG,
				 _("account %s (%s): oauth2_provider needs 'auth xoauth2' or "
				   "'auth oauthbearer'"),
				 a->name, a->file);
	if (account_get(a, KW_USER) == NULL || account_get(a, KW_OAUTH2_CLIENT_ID) == NULL)
		return error_set(e, ST_CONFIG,
				 _("account %s (%s): oauth2_provider needs 'user' and "
				   "'oauth2_client_id' (register your own client, see "
				   "outbox.conf(5))"),
				 a->name, a->file);
	for (size_t i = 0; i < sizeof oauth2_urls / sizeof oauth2_urls[0]; i++) {
		const char *url = account_get(a, oauth2_urls[i]);

		if (url != NULL && strncmp(url, "https://", 8) != 0)
			return error_set(e, ST_CONFIG,
					 _("account %s (%s): %s must be an https:// URL"), a->name,
					 a->file, conf_keywords[oauth2_urls[i]].name);
	}
	if (strcmp(provider, "custom") == 0 && (account_get(a, KW_OAUTH2_TOKEN_URL) == NULL ||
						account_get(a, KW_OAUTH2_SCOPE) == NULL ||
						(account_get(a, KW_OAUTH2_AUTHORIZE_URL) == NULL &&
						 account_get(a, KW_OAUTH2_DEVICE_URL) == NULL)))
		return error_set(
			e, ST_CONFIG,
			_("account %s (%s): oauth2_provider custom needs oauth2_token_url, "
			  "oauth2_scope and oauth2_authorize_url or oauth2_device_url"),
			a->name, a->file);
	return 0;
}

int
account_check(const struct account *a, struct error *e)
{
	if (account_get(a, KW_HOST) == NULL && account_get(a, KW_SOCKET) == NULL)
		return error_set(e, ST_CONFIG,
				 _("account %s (%s): no host; add a 'host NAME' line to it"),
				 a->name, a->file);
	if (account_get(a, KW_PORT) == NULL)
		return error_set(e, ST_CONFIG,
				 _("account %s (%s): LMTP has no default port; add a 'port' line"),
				 a->name, a->file);
	if (account_get(a, KW_PROXY_HOST) != NULL && account_get(a, KW_SOCKET) != NULL)
		return error_set(e, ST_CONFIG,
				 _("account %s (%s): proxy_host cannot be used with socket; remove "
				   "one of them"),
				 a->name, a->file);
	if ((account_get(a, KW_TLS_CERT_FILE) == NULL) != (account_get(a, KW_TLS_KEY_FILE) == NULL))
		return error_set(e, ST_CONFIG,
				 _("account %s (%s): tls_cert_file and tls_key_file must be set "
				   "together"),
				 a->name, a->file);
	if (account_get(a, KW_TLS_FINGERPRINT) != NULL && !account_bool(a, KW_TLS_CERTCHECK))
		return error_set(e, ST_CONFIG,
				 _("account %s (%s): tls_fingerprint cannot be used with "
				   "tls_certcheck off"),
				 a->name, a->file);
	return check_oauth2(a, e);
}

int
conf_describe_account(const struct account *a, struct buf *out)
{
	int rc = 0;

	for (int k = 0; k < KW__COUNT; k++) {
		const struct conf_keyword_info *ki = &conf_keywords[k];
		const char *v = account_get(a, k);
		char *where;

		if (ki->type == CT_EVAL)
			continue;
		if (a->value[k] == NULL)
			where = xstrdup(_("default"));
		else if (a->line[k] > 0)
			where = xasprintf("%s:%u", a->source[k], a->line[k]);
		else
			where = xstrdup(a->source[k]);
		if (v != NULL && ki->secret)
			v = "********";
		else if (v == NULL)
			v = a->value[k] != NULL ? _("(none)") : _("(not set)");
		rc |= buf_printf(out, "%-22s = %s  (%s%s)\n", ki->name, v, where,
				 ki->ignored ? _("; ignored") : "");
		free(where);
	}
	return rc < 0 ? -1 : 0;
}

/* ---- the configuration ---- */

struct conf *
conf_new(void)
{
	struct conf *c = xcalloc(1, sizeof *c);

	c->home = conf_home_directory();
	strlist_init(&c->names);
	strlist_init(&c->warnings);
	return c;
}

void
conf_set_eval(struct conf *c, conf_eval_fn fn, void *ctx)
{
	c->eval = fn;
	c->eval_ctx = ctx;
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_accounts; i++)
		account_free(c->accounts[i]);
	free(c->accounts);
	strlist_free(&c->names);
	strlist_free(&c->warnings);
	conf_files_free(&c->loaded);
	free(c->home);
	free(c);
}

const char *
conf_label(struct conf *c, const char *name)
{
	strlist_add(&c->names, name);
	return c->names.v[c->names.n - 1];
}

struct account *
conf_find_account(struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->n_accounts; i++)
		if (strcmp(c->accounts[i]->name, name) == 0)
			return c->accounts[i];
	return NULL;
}

struct account *
conf_add_account(struct conf *c, const char *name, struct error *e)
{
	struct account *a;

	if (conf_find_account(c, name) != NULL) {
		error_set(e, ST_CONFIG, _("account %s is already defined"), name);
		return NULL;
	}
	a = account_new(name, conf_label(c, _("command line")), 0);
	c->accounts = xrealloc(c->accounts, (c->n_accounts + 1) * sizeof *c->accounts);
	c->accounts[c->n_accounts++] = a;
	return a;
}

const struct conf_files *
conf_loaded_files(const struct conf *c)
{
	return &c->loaded;
}

const struct strlist *
conf_warnings(const struct conf *c)
{
	return &c->warnings;
}

/* ---- finding the files ---- */

static bool
file_exists(const char *path)
{
	struct stat st;

	/* Anything but "not there" counts: reading it reports the problem. */
	return stat(path, &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

/* Adds name to the list of names looked for. */
static void
note_searched(struct conf_files *f, const char *name)
{
	char *s;

	if (name == NULL)
		return;
	s = f->searched != NULL ? xasprintf("%s, %s", f->searched, name) : xstrdup(name);
	free(f->searched);
	f->searched = s;
}

/* The first of two candidate names that exists (either may be NULL),
 * noting each one looked for; takes ownership of both. */
static char *
first_existing(struct conf_files *f, char *a, char *b)
{
	note_searched(f, a);
	if (a != NULL && file_exists(a)) {
		free(b);
		return a;
	}
	free(a);
	note_searched(f, b);
	if (b != NULL && file_exists(b))
		return b;
	free(b);
	return NULL;
}

static char *
path_join(const char *dir, const char *name)
{
	return dir != NULL ? xasprintf("%s/%s", dir, name) : NULL;
}

void
conf_files_free(struct conf_files *f)
{
	free(f->system);
	free(f->user);
	free(f->searched);
	memset(f, 0, sizeof *f);
}

/* $XDG_CONFIG_HOME, else HOME/.config. */
static char *
config_home(const struct conf_paths *p, const char *home)
{
	const char *env_xdg = getenv("XDG_CONFIG_HOME");

	if (p->xdg_config_home != NULL)
		return xstrdup(p->xdg_config_home);
	if (env_xdg != NULL && env_xdg[0] == '/') /* XDG: relative values are ignored */
		return xstrdup(env_xdg);
	return path_join(home, ".config");
}

char *
conf_default_user_file(const struct conf_paths *p)
{
	char *home = p->home != NULL ? xstrdup(p->home) : conf_home_directory();
	char *xdg = config_home(p, home), *file = path_join(xdg, "outbox/config");

	free(xdg);
	free(home);
	return file;
}

int
conf_find_files(const struct conf_paths *p, struct conf_files *f, struct error *e)
{
	char *home = p->home != NULL ? xstrdup(p->home) : conf_home_directory();
	char *xdg = config_home(p, home);
	int rc = 0;

	memset(f, 0, sizeof *f);
	f->system = first_existing(
		f, path_join(p->sysconfdir != NULL ? p->sysconfdir : SYSCONFDIR, "outbox.conf"),
		NULL);
	if (p->user_file != NULL) {
		struct stat st;

		if (stat(p->user_file, &st) < 0) {
			rc = error_set(e, ST_CONFIG, _("cannot read configuration file %s: %s"),
				       p->user_file, strerror(errno));
			conf_files_free(f);
		} else {
			f->user = xstrdup(p->user_file);
		}
	} else {
		f->user = first_existing(f, path_join(xdg, "outbox/config"),
					 path_join(home, ".outboxrc"));
		if (f->user == NULL && f->system == NULL) {
			f->user = first_existing(f, path_join(home, ".msmtprc"),
						 path_join(xdg, "msmtp/config"));
			f->system = first_existing(f,
						   path_join(p->msmtp_sysconfdir != NULL
								     ? p->msmtp_sysconfdir
								     : "/etc",
							     "msmtprc"),
						   NULL);
			f->msmtp = f->user != NULL || f->system != NULL;
		}
	}
	free(xdg);
	free(home);
	return rc;
}

int
conf_load(struct conf *c, const struct conf_paths *p, struct error *e)
{
	struct conf_files f;

	if (p->home != NULL) {
		free(c->home);
		c->home = xstrdup(p->home);
	}
	if (conf_find_files(p, &f, e) < 0)
		return -1;
	/* msmtp reads the system file only if it can: it may be private to
	 * root and hold a password that is not meant for this user. */
	if (f.system != NULL && access(f.system, R_OK) < 0) {
		free(f.system);
		f.system = NULL;
	}
	if ((f.system != NULL && conf_load_file(c, f.system, true, e) < 0) ||
	    (f.user != NULL && conf_load_file(c, f.user, false, e) < 0)) {
		conf_files_free(&f);
		return -1;
	}
	conf_files_free(&c->loaded);
	c->loaded = f;
	return 0;
}

/* ---- selecting the account ---- */

static bool
address_matches(const char *pattern, const char *addr)
{
	if (strpbrk(pattern, "*?[") != NULL)
		return fnmatch(pattern, addr, FNM_CASEFOLD) == 0;
	return strcasecmp(pattern, addr) == 0;
}

/* msmtp: user+detail@domain also matches from user@domain. */
static bool
from_matches(const char *pattern, const char *addr)
{
	const char *at = strrchr(addr, '@');
	const char *plus = strchr(addr, '+');
	char *base;
	bool match;

	if (address_matches(pattern, addr))
		return true;
	if (plus == NULL || (at != NULL && plus > at))
		return false;
	base = xstrndup(addr, (size_t)(plus - addr));
	if (at != NULL) {
		char *full = xasprintf("%s%s", base, at);

		free(base);
		base = full;
	}
	match = address_matches(pattern, base);
	free(base);
	return match;
}

static void
suggest_account(const struct conf *c, const char *name, struct error *e)
{
	struct suggestion sg;

	suggestion_init(&sg, name);
	for (size_t i = 0; i < c->n_accounts; i++)
		suggestion_offer(&sg, c->accounts[i]->name, strlen(c->accounts[i]->name));
	suggestion_append(&sg, e);
}

struct account *
conf_select(struct conf *c, const char *account_name, const char *envelope_from, struct error *e)
{
	struct account *a;

	if (c->n_accounts == 0 && c->loaded.searched != NULL && c->loaded.user == NULL &&
	    c->loaded.system == NULL) {
		error_set(e, ST_CONFIG,
			  _("no configuration file found, so no account to send with (looked for "
			    "%s); start from an example in %s or, coming from msmtp, read %s"),
			  c->loaded.searched, CONF_EXAMPLES_DIR, CONF_MIGRATION_PAGE);
		return NULL;
	}
	if (account_name != NULL) {
		const struct conf_files *f = &c->loaded;

		a = conf_find_account(c, account_name);
		if (a == NULL) {
			if (f->user == NULL && f->system == NULL)
				error_set(e, ST_CONFIG,
					  _("account %s is not defined: no configuration file "
					    "was found"),
					  account_name);
			else
				error_set(e, ST_CONFIG, _("account %s is not defined in %s%s%s"),
					  account_name, f->user != NULL ? f->user : f->system,
					  f->user != NULL && f->system != NULL ? _(" or ") : "",
					  f->user != NULL && f->system != NULL ? f->system : "");
			suggest_account(c, account_name, e);
		}
		return a;
	}
	if (envelope_from != NULL && *envelope_from != '\0') {
		for (size_t i = 0; i < c->n_accounts; i++) {
			const char *from = account_get(c->accounts[i], KW_FROM);

			if (from != NULL && from_matches(from, envelope_from))
				return c->accounts[i];
		}
	}
	a = conf_find_account(c, "default");
	if (a == NULL)
		error_set(e, ST_CONFIG,
			  _("no account given and no default account; use -a or add 'account "
			    "default : NAME'"));
	return a;
}
