/* conf.c - reads msmtp-syntax configuration files into accounts, selects
 * the account for a message, and expands msmtp aliases files.
 *
 * Untrusted input: the configuration files (any size up to CONF_FILE_MAX,
 * any line length), the output of `eval` commands (bounded), the aliases
 * file, and the envelope sender used for account selection.  Values may
 * hold passwords: the buffers that held file text are wiped.
 */
#include "config.h"

#include "conf.h"

#include "i18n.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <netdb.h>
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

/* Configuration files are small; anything larger is the wrong file. */
#define CONF_FILE_MAX (4L * 1024 * 1024)
/* An eval command's output (only its first line is used). */
#define EVAL_OUTPUT_MAX (1024 * 1024)
/* An eval command that has not finished by then is killed. */
#define EVAL_TIMEOUT_MS (120 * 1000)
#define ALIASES_FILE_MAX (1024 * 1024)
#define ALIASES_DEPTH_MAX 16

#define DAY 86400L
#define HOSTNAME_MAX 255
#define HOSTNAME_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"

const struct conf_keyword_info conf_keywords[KW__COUNT] = {
	[KW_HOST] = {"host", CT_STRING, .connection = true, .needs_argument = true, .argument = "hostname",
		     .description = N_("the submission server, a host name or address")},
	[KW_PORT] = {"port", CT_NUMBER, .connection = true, .min = 1, .max = 65535, .needs_argument = true,
		     .argument = "number",
		     .description = N_("the server's port; default 587 with STARTTLS, 465 with "
				       "implicit TLS, 25 without TLS")},
	[KW_SOURCE_IP] = {"source_ip", CT_STRING, .connection = true, .argument = "[address]",
			  .description = N_("the local address to connect from")},
	[KW_TIMEOUT] = {"timeout", CT_TIMEOUT, .default_value = "60", .min = 1, .max = DAY,
			.needs_argument = true, .argument = "off|seconds",
			.description = N_("network timeout in seconds, 1 to 86400")},
	[KW_DOMAIN] = {"domain", CT_HOSTNAME, .connection = true, .default_value = "localhost", .argument = "name",
		       .description = N_("the argument of EHLO or LHLO")},
	[KW_PROTOCOL] = {"protocol", CT_CHOICE, .connection = true, .default_value = "smtp", .choices = "smtp|lmtp",
			 .needs_argument = true, .argument = "smtp|lmtp",
			 .description = N_("the protocol spoken to the server")},
	[KW_SOCKET] = {"socket", CT_PATH, .connection = true, .argument = "[file]",
		       .description = N_("a Unix domain socket to connect to instead of host and "
					 "port")},
	[KW_PROXY_HOST] = {"proxy_host", CT_STRING, .connection = true, .needs_argument = true, .argument = "hostname",
			   .description = N_("a SOCKS5 proxy to connect through")},
	[KW_PROXY_PORT] = {"proxy_port", CT_NUMBER, .connection = true, .default_value = "1080", .if_empty = "1080",
			   .min = 1, .max = 65535, .argument = "[number]",
			   .description = N_("the SOCKS5 proxy's port")},
	[KW_TLS] = {"tls", CT_BOOL, .connection = true, .default_value = "on", .if_empty = "on", .argument = "[on|off]",
		    .description = N_("use TLS")},
	[KW_TLS_STARTTLS] = {"tls_starttls", CT_BOOL, .connection = true, .default_value = "on", .if_empty = "on",
			     .argument = "[on|off]",
			     .description = N_("start TLS with STARTTLS (on) or connect with "
					       "implicit TLS (off)")},
	[KW_TLS_TRUST_FILE] = {"tls_trust_file", CT_PATH, .connection = true, .default_value = "system",
			       .argument = "[file|system]",
			       .description = N_("the CA certificates to trust (PEM); system "
						 "means the system's; empty trusts no CA")},
	[KW_TLS_CRL_FILE] = {"tls_crl_file", CT_PATH, .connection = true, .argument = "[file]",
			     .description = N_("a certificate revocation list (PEM)")},
	[KW_TLS_FINGERPRINT] = {"tls_fingerprint", CT_FINGERPRINT, .connection = true, .argument = "[fingerprint]",
				.description = N_("accept only the server certificate with this "
						  "SHA-256 fingerprint")},
	[KW_TLS_CERT_FILE] = {"tls_cert_file", CT_PATH, .connection = true, .argument = "[file]",
			      .description = N_("a client certificate (PEM) to present")},
	[KW_TLS_KEY_FILE] = {"tls_key_file", CT_PATH, .connection = true, .argument = "[file]",
			     .description = N_("the client certificate's private key (PEM)")},
	[KW_TLS_CERTCHECK] = {"tls_certcheck", CT_BOOL, .connection = true, .default_value = "on", .if_empty = "on",
			      .argument = "[on|off]",
			      .description = N_("verify the server certificate")},
	[KW_TLS_PRIORITIES] = {"tls_priorities", CT_STRING, .connection = true, .argument = "[priorities]",
			       .description = N_("a GnuTLS priority string")},
	[KW_TLS_HOST_OVERRIDE] = {"tls_host_override", CT_STRING, .connection = true, .argument = "[hostname]",
				  .description = N_("the name to verify the certificate against "
						    "instead of host")},
	[KW_TLS_MIN_DH_PRIME_BITS] = {"tls_min_dh_prime_bits", CT_NUMBER, .min = 1, .max = 65536,
				      .ignored = true, .argument = "[bits]",
				      .description = N_("accepted for msmtp compatibility and "
							"ignored; use tls_priorities")},
	[KW_AUTH] = {"auth", CT_CHOICE, .connection = true, .default_value = "auto", .if_empty = "on",
		     .choices = "auto|on|off|plain|login|cram-md5|scram-sha-1|scram-sha-256|"
				"scram-sha-1-plus|scram-sha-256-plus|xoauth2|oauthbearer|external",
		     .argument = "[auto|on|off|mechanism]",
		     .description = N_("authenticate: on picks the strongest mechanism both sides "
				       "have")},
	[KW_USER] = {"user", CT_STRING, .connection = true, .argument = "[name]",
		     .description = N_("the user name for authentication")},
	[KW_PASSWORD] = {"password", CT_STRING, .connection = true, .secret = true, .argument = "[secret]",
			 .description = N_("the password; prefer passwordeval or the keyring")},
	[KW_PASSWORDEVAL] = {"passwordeval", CT_STRING, .connection = true, .argument = "[command]",
			     .description = N_("a command whose output is the password")},
	[KW_ALLOW_PLAINTEXT_AUTH] = {"allow_plaintext_auth", CT_BOOL, .connection = true, .default_value = "off",
				     .if_empty = "on", .argument = "[on|off]",
				     .description = N_("allow a mechanism named in auth over a "
						       "connection without TLS")},
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

/* ---- values ---- */

struct unit {
	char suffix;
	long factor;
};

static const struct unit duration_units[] = {
	{'s', 1}, {'m', 60}, {'h', 3600}, {'d', DAY}, {'w', 7 * DAY}, {0, 0},
};

static const struct unit size_units[] = {
	{'k', 1024}, {'K', 1024}, {'M', 1024L * 1024}, {'G', 1024L * 1024 * 1024}, {0, 0},
};

static const char *const syslog_facilities[] = {
	"LOG_USER",   "LOG_MAIL",   "LOG_LOCAL0", "LOG_LOCAL1", "LOG_LOCAL2",
	"LOG_LOCAL3", "LOG_LOCAL4", "LOG_LOCAL5", "LOG_LOCAL6", "LOG_LOCAL7",
};

static const char *const dsn_conditions[] = {"success", "failure", "delay"};

/* "12", "12h": a number with an optional unit from units, in [min, max]. */
static int
parse_scaled(const char *s, const struct unit *units, long min, long max, long *out)
{
	size_t n = strlen(s);
	long factor = 1, v;
	char *digits;
	int rc;

	if (n > 0 && !isdigit((unsigned char)s[n - 1])) {
		const struct unit *u;

		for (u = units; u->suffix != 0 && u->suffix != s[n - 1]; u++)
			;
		if (u->suffix == 0)
			return -1;
		factor = u->factor;
		n--;
	}
	digits = xstrndup(s, n);
	rc = parse_long(digits, 0, LONG_MAX, &v);
	free(digits);
	if (rc < 0 || v > LONG_MAX / factor)
		return -1;
	v *= factor;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The word of the '|'-separated list that equals s ignoring case. */
static const char *
choice_find(const char *choices, const char *s)
{
	size_t n = strlen(s);

	for (const char *p = choices; *p != '\0';) {
		const char *end = strchr(p, '|');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len == n && strncasecmp(p, s, n) == 0)
			return p;
		p += len + (end != NULL);
	}
	return NULL;
}

static bool
is_hex_pair(const char *s)
{
	return isxdigit((unsigned char)s[0]) && isxdigit((unsigned char)s[1]);
}

/* Number of "AA:" groups in a colon-separated hex fingerprint, or -1. */
static int
fingerprint_bytes(const char *s)
{
	int n = 0;

	for (;;) {
		if (!is_hex_pair(s))
			return -1;
		n++;
		s += 2;
		if (*s == '\0')
			return n;
		if (*s++ != ':')
			return -1;
	}
}

static int
check_dsn_notify(const char *s)
{
	bool seen[sizeof dsn_conditions / sizeof dsn_conditions[0]] = {false};
	const char *p = s;

	if (strcasecmp(s, "off") == 0 || strcasecmp(s, "never") == 0)
		return 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		size_t i;

		for (i = 0; i < sizeof dsn_conditions / sizeof dsn_conditions[0]; i++)
			if (strlen(dsn_conditions[i]) == len &&
			    strncasecmp(dsn_conditions[i], p, len) == 0)
				break;
		if (i == sizeof dsn_conditions / sizeof dsn_conditions[0] || seen[i])
			return -1;
		seen[i] = true;
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

static char *
lowercase_dup(const char *s)
{
	char *d = xstrdup(s);

	for (char *p = d; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* "~" and "~/..." become $HOME and $HOME/...; other names are kept. */
static int
expand_tilde(const char *s, const char *home, char **out, struct error *e)
{
	if (s[0] != '~' || (s[1] != '\0' && s[1] != '/')) {
		*out = xstrdup(s);
		return 0;
	}
	if (home == NULL)
		return error_set(e, ST_CONFIG,
				 _("cannot expand '~' in %s: no home directory; set HOME"), s);
	*out = xasprintf("%s%s", home, s + 1);
	return 0;
}

static int
invalid_value(const struct conf_keyword_info *ki, const char *s, struct error *e)
{
	return error_set(e, ST_CONFIG, _("invalid argument '%.80s' for %s: expected %s"), s,
			 ki->name, ki->argument);
}

/* The host's name: canonical (%C) or as set (%H). */
static void
host_name(bool canonical, char *out, size_t len)
{
	struct addrinfo hints = {.ai_flags = AI_CANONNAME}, *ai = NULL;

	if (gethostname(out, len) != 0)
		snprintf(out, len, "localhost");
	out[len - 1] = '\0';
	if (canonical && getaddrinfo(out, NULL, &hints, &ai) == 0) {
		if (ai->ai_canonname != NULL)
			snprintf(out, len, "%s", ai->ai_canonname);
		freeaddrinfo(ai);
	}
}

/* The mail domain (%M): the first line of /etc/mailname, else %C. */
static void
mail_name(char *out, size_t len)
{
	FILE *f = fopen("/etc/mailname", "r");

	if (f != NULL && fgets(out, (int)len, f) != NULL) {
		out[strcspn(out, " \t\r\n")] = '\0';
		fclose(f);
		if (*out != '\0')
			return;
	} else if (f != NULL) {
		fclose(f);
	}
	host_name(true, out, len);
}

/* msmtp's placeholders in from and domain: %U the login name, %H the host
 * name, %C the canonical host name, %M the mail domain, %% a percent. */
static char *
expand_placeholders(const char *raw)
{
	struct buf b;
	char *s;

	if (strchr(raw, '%') == NULL)
		return xstrdup(raw);
	buf_init(&b, 0);
	for (const char *p = raw; *p != '\0'; p++) {
		char name[256];

		if (*p != '%' || p[1] == '\0') {
			buf_append(&b, p, 1);
			continue;
		}
		switch (*++p) {
		case 'U': {
			struct passwd *pw = getpwuid(getuid());
			const char *user = getenv("USER");

			buf_puts(&b, pw != NULL ? pw->pw_name : user != NULL ? user : "root");
			break;
		}
		case 'H':
			host_name(false, name, sizeof name);
			buf_puts(&b, name);
			break;
		case 'C':
			host_name(true, name, sizeof name);
			buf_puts(&b, name);
			break;
		case 'M':
			mail_name(name, sizeof name);
			buf_puts(&b, name);
			break;
		default:
			buf_append(&b, p, 1); /* %% and unknown ones: the character */
			break;
		}
	}
	s = xstrdup(b.data != NULL ? b.data : "");
	buf_free(&b);
	return s;
}

/* What EHLO may carry (RFC 5321 4.1.1.1: a Domain or an address literal):
 * host name characters, or printable ASCII between brackets. */
static bool
hostname_valid(const char *s)
{
	size_t n = strlen(s);
	bool literal = n > 2 && s[0] == '[' && s[n - 1] == ']';

	if (n == 0 || n > HOSTNAME_MAX)
		return false;
	for (size_t i = literal ? 1 : 0; i < (literal ? n - 1 : n); i++) {
		unsigned char c = (unsigned char)s[i];

		if (literal ? c <= ' ' || c >= 0x7f || strchr("[]\\", c) != NULL
			    : strchr(HOSTNAME_CHARS, c) == NULL)
			return false;
	}
	return true;
}

/* Validates raw for keyword k and returns the string to store: raw itself,
 * the canonical spelling of a choice, or a path with ~ expanded. */
static int
value_check(enum conf_keyword k, const char *raw, const char *home, char **out, struct error *e)
{
	const struct conf_keyword_info *ki = &conf_keywords[k];
	const char *word = NULL;
	long v;

	if (*raw == '\0') {
		if (ki->if_empty != NULL)
			raw = ki->if_empty;
		else if (ki->needs_argument)
			return error_set(e, ST_CONFIG, _("%s needs an argument (%s %s)"), ki->name,
					 ki->name, ki->argument);
		else {
			*out = xstrdup("");
			return 0;
		}
	}
	switch (ki->type) {
	case CT_HOSTNAME:
		*out = expand_placeholders(raw);
		if (hostname_valid(*out))
			return 0;
		free(*out);
		*out = NULL;
		return error_set(e, ST_CONFIG,
				 _("invalid argument '%.80s' for %s: expected a host name (letters, "
				   "digits, '.', '-', '_') or an address literal such as [192.0.2.1], "
				   "at most %d octets"),
				 raw, ki->name, HOSTNAME_MAX);
	case CT_STRING:
	case CT_EVAL:
		*out = k == KW_FROM ? expand_placeholders(raw) : xstrdup(raw);
		return 0;
	case CT_PATH:
		return expand_tilde(raw, home, out, e);
	case CT_BOOL:
		word = choice_find("on|off", raw);
		break;
	case CT_CHOICE:
		word = choice_find(ki->choices, raw);
		break;
	case CT_NUMBER:
		if (parse_long(raw, ki->min, ki->max, &v) < 0)
			return error_set(e, ST_CONFIG,
					 _("invalid argument '%.80s' for %s: expected a number "
					   "from %ld to %ld"),
					 raw, ki->name, ki->min, ki->max);
		*out = xstrdup(raw);
		return 0;
	case CT_TIMEOUT:
		if (strcasecmp(raw, "off") == 0) {
			*out = xstrdup("off");
			return 0;
		}
		if (parse_long(raw, ki->min, ki->max, &v) < 0)
			return error_set(e, ST_CONFIG,
					 _("invalid argument '%.80s' for %s: expected off or "
					   "seconds from %ld to %ld"),
					 raw, ki->name, ki->min, ki->max);
		*out = xstrdup(raw);
		return 0;
	case CT_SYSLOG:
		word = choice_find("on|off", raw);
		for (size_t i = 0;
		     word == NULL && i < sizeof syslog_facilities / sizeof syslog_facilities[0];
		     i++)
			if (strcmp(raw, syslog_facilities[i]) == 0)
				word = syslog_facilities[i];
		break;
	case CT_DSN_NOTIFY:
		if (check_dsn_notify(raw) < 0)
			return invalid_value(ki, raw, e);
		*out = lowercase_dup(raw);
		return 0;
	case CT_FINGERPRINT:
		switch (fingerprint_bytes(raw)) {
		case 32:
			*out = xstrdup(raw);
			return 0;
		case 20:
		case 16:
			return error_set(e, ST_CONFIG,
					 _("%s: SHA-1 and MD5 fingerprints are not accepted; use "
					   "the certificate's SHA-256 fingerprint"),
					 ki->name);
		default:
			return error_set(e, ST_CONFIG,
					 _("invalid argument '%.80s' for %s: expected a SHA-256 "
					   "fingerprint, 32 hex bytes joined by ':'"),
					 raw, ki->name);
		}
	case CT_DURATION:
		if (parse_scaled(raw, duration_units, ki->min, ki->max, &v) < 0)
			return error_set(e, ST_CONFIG,
					 _("invalid argument '%.80s' for %s: expected a duration "
					   "such as 3600, 90m, 12h, 5d or 2w, from %lds to %ldd"),
					 raw, ki->name, ki->min, ki->max / DAY);
		*out = xstrdup(raw);
		return 0;
	case CT_SIZE:
		if (parse_scaled(raw, size_units, ki->min, ki->max, &v) < 0)
			return error_set(e, ST_CONFIG,
					 _("invalid argument '%.80s' for %s: expected a size such "
					   "as 500k, 50M or 1G, from 1k to 2047M"),
					 raw, ki->name);
		*out = xstrdup(raw);
		return 0;
	}
	if (word == NULL)
		return invalid_value(ki, raw, e);
	*out = xstrndup(word, strcspn(word, "|"));
	return 0;
}

/* ---- accounts ---- */

static struct account *
account_new(const char *name, const char *file, unsigned line)
{
	struct account *a = xcalloc(1, sizeof *a);

	a->name = xstrdup(name);
	a->file = file;
	a->first_line = line;
	return a;
}

static void
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

static void
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
	const struct conf_keyword_info *ki = &conf_keywords[k];
	const char *v = account_get(a, k);
	long n;

	if (v == NULL)
		return -1;
	switch (ki->type) {
	case CT_TIMEOUT:
		if (strcmp(v, "off") == 0)
			return 0;
		/* fall through */
	case CT_NUMBER:
		return parse_long(v, ki->min, ki->max, &n) == 0 ? n : -1;
	case CT_DURATION:
		return parse_scaled(v, duration_units, ki->min, ki->max, &n) == 0 ? n : -1;
	case CT_SIZE:
		return parse_scaled(v, size_units, ki->min, ki->max, &n) == 0 ? n : -1;
	default:
		return -1;
	}
}

static char *
home_directory(void)
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
	home = home_directory();
	rc = value_check(k, value, home, &v, e);
	free(home);
	if (rc < 0)
		return -1;
	account_store(a, k, v, source, 0);
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
	return 0;
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

struct conf {
	char *home;
	struct strlist names; /* file labels; accounts point into these */
	struct account **accounts;
	size_t n_accounts;
	struct conf_files loaded;
	conf_eval_fn eval; /* NULL: run_command() */
	void *eval_ctx;
};

struct conf *
conf_new(void)
{
	struct conf *c = xcalloc(1, sizeof *c);

	c->home = home_directory();
	strlist_init(&c->names);
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
	conf_files_free(&c->loaded);
	free(c->home);
	free(c);
}

static const char *
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

/* ---- parsing ---- */

/* An account of the file being read, and which values it has itself or
 * from its parents rather than from defaults: only those pass on to the
 * accounts that name it as a parent (msmtp). */
struct pending {
	struct account *a;
	bool own[KW__COUNT];
};

struct parser {
	struct conf *c;
	const char *file;
	unsigned line;
	struct account *defaults;
	struct pending *cur; /* NULL before the first section or in defaults */
	bool in_defaults;
	struct pending **accts; /* separately allocated: pointers stay valid */
	size_t n, cap;
	bool has_password;
};

static void
parser_init(struct parser *p, struct conf *c, const char *file)
{
	memset(p, 0, sizeof *p);
	p->c = c;
	p->file = file;
	p->defaults = account_new("defaults", file, 0);
}

static void
parser_free(struct parser *p)
{
	for (size_t i = 0; i < p->n; i++) {
		account_free(p->accts[i]->a);
		free(p->accts[i]);
	}
	free(p->accts);
	account_free(p->defaults);
}

/* Moves the file's accounts into the configuration, in front of those of
 * earlier files, replacing same-named ones. */
static void
parser_commit(struct parser *p)
{
	struct conf *c = p->c;
	struct account **all = xmalloc((p->n + c->n_accounts) * sizeof *all);
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		all[n++] = p->accts[i]->a;
	for (size_t i = 0; i < c->n_accounts; i++) {
		bool replaced = false;

		for (size_t j = 0; j < p->n && !replaced; j++)
			replaced = strcmp(p->accts[j]->a->name, c->accounts[i]->name) == 0;
		if (replaced)
			account_free(c->accounts[i]);
		else
			all[n++] = c->accounts[i];
	}
	free(c->accounts);
	c->accounts = all;
	c->n_accounts = n;
	for (size_t i = 0; i < p->n; i++)
		free(p->accts[i]);
	p->n = 0;
}

static struct pending *
parser_find(struct parser *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->accts[i]->a->name, name) == 0)
			return p->accts[i];
	return NULL;
}

static bool
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Strips blanks at both ends, then one pair of enclosing double quotes
 * (msmtp: the quotes are removed when the argument both starts and ends
 * with one; there are no escapes).  Works in place. */
static char *
trim_argument(char *s)
{
	size_t n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	s[n] = '\0';
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s[n - 1] = '\0';
		s++;
	}
	return s;
}

static struct pending *
parser_add_account(struct parser *p, const char *name)
{
	struct pending *pa;

	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->accts = xrealloc(p->accts, p->cap * sizeof *p->accts);
	}
	pa = xcalloc(1, sizeof *pa);
	p->accts[p->n++] = pa;
	pa->a = account_new(name, p->file, p->line);
	for (int k = 0; k < KW__COUNT; k++)
		account_copy_value(pa->a, p->defaults, k);
	return pa;
}

/* "account NAME" or "account NAME : PARENT[, PARENT...]". */
static int
parse_account(struct parser *p, char *arg, struct error *e)
{
	char *colon = strchr(arg, ':');
	struct pending **parents = NULL;
	size_t n_parents = 0;
	struct pending *prev, *pa;
	char *name;
	int rc = -1;

	if (colon != NULL)
		*colon = '\0';
	name = trim_argument(arg);
	if (*name == '\0')
		return error_set(e, ST_CONFIG, _("account needs a name (account NAME)"));
	if (strchr(name, ',') != NULL)
		return error_set(e, ST_CONFIG, _("account name '%s' must not contain ',' or ':'"),
				 name);
	prev = parser_find(p, name);
	if (prev != NULL)
		return error_set(e, ST_CONFIG,
				 _("account %s is already defined on line %u; rename one of them"),
				 name, prev->a->first_line);
	/* Parents are found before the new account exists, so an account
	 * cannot name itself. */
	for (char *s = colon != NULL ? colon + 1 : NULL; s != NULL;) {
		char *comma = strchr(s, ',');
		struct pending *parent;
		char *pname;

		if (comma != NULL)
			*comma = '\0';
		pname = trim_argument(s);
		if (*pname == '\0') {
			error_set(e, ST_CONFIG, _("missing account name in the list after ':'"));
			goto out;
		}
		parent = parser_find(p, pname);
		if (parent == NULL) {
			error_set(e, ST_CONFIG,
				  _("account %s is not defined above; define it before the "
				    "accounts that inherit from it"),
				  pname);
			goto out;
		}
		parents = xrealloc(parents, (n_parents + 1) * sizeof *parents);
		parents[n_parents++] = parent;
		s = comma != NULL ? comma + 1 : NULL;
	}
	pa = parser_add_account(p, name);
	for (size_t i = 0; i < n_parents; i++) {
		const struct pending *parent = parents[i];

		for (int k = 0; k < KW__COUNT; k++) {
			if (parent->own[k]) {
				account_copy_value(pa->a, parent->a, k);
				pa->own[k] = true;
			}
		}
	}
	p->cur = pa;
	p->in_defaults = false;
	rc = 0;
out:
	free(parents);
	return rc;
}

/* Runs cmd (command_run: bounded in size and time) for its output; a
 * non-zero exit status is an error. */
static int
run_command(const char *cmd, struct buf *out, struct error *e)
{
	struct command_result r;

	command_run(cmd, EVAL_TIMEOUT_MS, out, &r);
	switch (r.status) {
	case COMMAND_OK:
		return 0;
	case COMMAND_NOT_RUN:
		return error_set(e, ST_OSERR, _("cannot run eval command: %s"), strerror(r.code));
	case COMMAND_TIMED_OUT:
		return error_set(e, ST_CONFIG,
				 _("eval command '%.80s' did not finish within %d seconds"), cmd,
				 EVAL_TIMEOUT_MS / 1000);
	case COMMAND_TOO_LONG:
		return error_set(e, ST_CONFIG, _("eval command '%.80s' printed more than %d KiB"),
				 cmd, EVAL_OUTPUT_MAX / 1024);
	case COMMAND_KILLED:
		return error_set(e, ST_CONFIG, _("eval command '%.80s' was killed by signal %d"),
				 cmd, r.code);
	case COMMAND_EXITED:
		break;
	}
	return error_set(e, ST_CONFIG, _("eval command '%.80s' failed with exit status %d"), cmd,
			 r.code);
}

static int parse_raw_line(struct parser *p, const char *s, size_t n, bool from_eval,
			  struct error *e);

/* msmtp: the line is replaced by the first line of the command's output. */
static int
parse_eval(struct parser *p, const char *cmd, struct error *e)
{
	struct buf out;
	int rc;

	buf_init(&out, EVAL_OUTPUT_MAX);
	rc = p->c->eval != NULL ? p->c->eval(p->c->eval_ctx, cmd, &out, e)
				: run_command(cmd, &out, e);
	if (rc == 0 && out.len == 0)
		rc = error_set(e, ST_CONFIG, _("eval command '%.80s' printed nothing"), cmd);
	if (rc == 0) {
		const char *nl = memchr(out.data, '\n', out.len);

		rc = parse_raw_line(p, out.data, nl != NULL ? (size_t)(nl - out.data) : out.len,
				    true, e);
	}
	buf_free(&out);
	return rc;
}

static int
parse_line(struct parser *p, char *line, bool from_eval, struct error *e)
{
	char *cmd, *arg, *value;
	struct account *target;
	int k;

	while (is_blank(*line))
		line++;
	if (*line == '\0' || *line == '#')
		return 0;
	cmd = line;
	arg = cmd + strcspn(cmd, " \t");
	if (*arg != '\0')
		*arg++ = '\0';
	if (strcmp(cmd, "defaults") == 0) {
		if (*trim_argument(arg) != '\0')
			return error_set(e, ST_CONFIG, _("defaults takes no argument"));
		p->cur = NULL;
		p->in_defaults = true;
		return 0;
	}
	if (strcmp(cmd, "account") == 0)
		return parse_account(p, arg, e);
	k = conf_keyword_lookup(cmd);
	if (k < 0)
		return error_set(e, ST_CONFIG, _("unknown keyword '%.80s'"), cmd);
	/* msmtp: settings before any defaults or account line form an
	 * account named "default". */
	if (p->cur == NULL && !p->in_defaults)
		p->cur = parser_add_account(p, "default");
	arg = trim_argument(arg);
	if (k == KW_EVAL) {
		if (from_eval)
			return error_set(e, ST_CONFIG,
					 _("the output of eval must not be another eval"));
		if (*arg == '\0')
			return error_set(e, ST_CONFIG, _("eval needs an argument (eval command)"));
		return parse_eval(p, arg, e);
	}
	if (value_check(k, arg, p->c->home, &value, e) < 0)
		return -1;
	/* A password printed by eval is not stored in the file. */
	if (k == KW_PASSWORD && *value != '\0' && !from_eval)
		p->has_password = true;
	target = p->in_defaults ? p->defaults : p->cur->a;
	account_store(target, k, value, p->file, p->line);
	if (!p->in_defaults)
		p->cur->own[k] = true;
	return 0;
}

/* One line of n bytes without its newline; the copy is wiped, as lines
 * may hold passwords. */
static int
parse_raw_line(struct parser *p, const char *s, size_t n, bool from_eval, struct error *e)
{
	char *line;
	int rc;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (memchr(s, '\0', n) != NULL)
		return error_set(e, ST_CONFIG, _("the line contains a NUL byte"));
	if (memchr(s, '\r', n) != NULL)
		return error_set(e, ST_CONFIG, _("the line contains a carriage return"));
	line = xstrndup(s, n);
	rc = parse_line(p, line, from_eval, e);
	wipe(line, n);
	free(line);
	return rc;
}

static int
parse_text(struct parser *p, const char *text, size_t len, struct error *e)
{
	const char *s = text, *end = text + len;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);

		p->line++;
		if (parse_raw_line(p, s, n, false, e) < 0) {
			error_prefix(e, "%s:%u", p->file, p->line);
			return -1;
		}
		s = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

int
conf_load_string(struct conf *c, const char *label, const char *text, size_t len, struct error *e)
{
	struct parser p;
	int rc;

	if (len > CONF_FILE_MAX)
		return error_set(e, ST_CONFIG, _("%s is larger than %ld MiB"), label,
				 CONF_FILE_MAX / (1024 * 1024));
	parser_init(&p, c, conf_label(c, label));
	rc = parse_text(&p, text, len, e);
	if (rc == 0)
		parser_commit(&p);
	parser_free(&p);
	return rc;
}

/* Reads fd to its end into b; -1 with errno set, EFBIG past b's bound. */
static int
read_all(int fd, struct buf *b)
{
	char chunk[65536];
	int rc = 0;

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		if (buf_append(b, chunk, (size_t)n) < 0) {
			errno = EFBIG;
			rc = -1;
			break;
		}
	}
	wipe(chunk, sizeof chunk);
	return rc;
}

/* msmtp's rule for files holding passwords: the user file must be the
 * user's own and private; the system file must not be open to others. */
static int
check_private(const char *path, const struct stat *st, bool system, struct error *e)
{
	if (!S_ISREG(st->st_mode))
		return 0;
	if (!system && st->st_uid != geteuid())
		return error_set(e, ST_CONFIG,
				 _("%s holds a password but belongs to another user; use a file "
				   "of your own, passwordeval or the keyring"),
				 path);
	if ((st->st_mode & (system ? (mode_t)S_IRWXO : (mode_t)(S_IRWXG | S_IRWXO))) != 0)
		return error_set(e, ST_CONFIG,
				 _("%s holds a password and other users can access it; run: "
				   "chmod 600 %s"),
				 path, path);
	return 0;
}

int
conf_load_file(struct conf *c, const char *path, bool system, struct error *e)
{
	struct parser p;
	struct stat st;
	struct buf text;
	int fd, rc;

	fd = open_for_reading(path);
	if (fd < 0)
		return error_set(e, ST_CONFIG, _("cannot open %s: %s"), path, strerror(errno));
	buf_init(&text, CONF_FILE_MAX);
	if (fstat(fd, &st) < 0 || read_all(fd, &text) < 0) {
		rc = errno == EFBIG ? error_set(e, ST_CONFIG,
						_("%s is larger than %ld MiB; is it the right "
						  "file?"),
						path, CONF_FILE_MAX / (1024 * 1024))
				    : error_set(e, ST_CONFIG, _("cannot read %s: %s"), path,
						strerror(errno));
		close(fd);
		buf_free(&text);
		return rc;
	}
	close(fd);
	parser_init(&p, c, conf_label(c, path));
	rc = parse_text(&p, text.data != NULL ? text.data : "", text.len, e);
	buf_free(&text);
	if (rc == 0 && p.has_password)
		rc = check_private(path, &st, system, e);
	if (rc == 0)
		parser_commit(&p);
	parser_free(&p);
	return rc;
}

/* ---- finding the files ---- */

static bool
file_exists(const char *path)
{
	struct stat st;

	/* Anything but "not there" counts: reading it reports the problem. */
	return stat(path, &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

/* The first of two candidate names that exists (either may be NULL);
 * takes ownership of both. */
static char *
first_existing(char *a, char *b)
{
	if (a != NULL && file_exists(a)) {
		free(b);
		return a;
	}
	free(a);
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
	memset(f, 0, sizeof *f);
}

int
conf_find_files(const struct conf_paths *p, struct conf_files *f, struct error *e)
{
	char *home = p->home != NULL ? xstrdup(p->home) : home_directory();
	const char *env_xdg = getenv("XDG_CONFIG_HOME");
	char *xdg;
	int rc = 0;

	memset(f, 0, sizeof *f);
	if (p->xdg_config_home != NULL)
		xdg = xstrdup(p->xdg_config_home);
	else if (env_xdg != NULL && env_xdg[0] == '/') /* XDG: relative values are ignored */
		xdg = xstrdup(env_xdg);
	else
		xdg = path_join(home, ".config");
	f->system = first_existing(
		path_join(p->sysconfdir != NULL ? p->sysconfdir : SYSCONFDIR, "outbox.conf"), NULL);
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
		f->user = first_existing(path_join(xdg, "outbox/config"),
					 path_join(home, ".outboxrc"));
		if (f->user == NULL && f->system == NULL) {
			f->user = first_existing(path_join(home, ".msmtprc"),
						 path_join(xdg, "msmtp/config"));
			f->system = first_existing(path_join(p->msmtp_sysconfdir != NULL
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

struct account *
conf_select(struct conf *c, const char *account_name, const char *envelope_from, struct error *e)
{
	struct account *a;

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

/* ---- aliases ---- */

struct alias {
	char *name;
	struct strlist addrs;
};

struct alias_table {
	const char *path;
	struct alias *v;
	size_t n;
};

static bool
is_local(const char *s)
{
	return *s != '\0' && strchr(s, '@') == NULL;
}

static char *
trim_space(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	s[n] = '\0';
	return s;
}

static const struct alias *
alias_find(const struct alias_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	return NULL;
}

static void
aliases_free(struct alias_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		strlist_free(&t->v[i].addrs);
	}
	free(t->v);
}

/* One "name: address, address" line; # starts a comment anywhere. */
static int
alias_parse_line(struct alias_table *t, char *line, struct error *e)
{
	char *colon, *name;
	struct alias *a;

	line[strcspn(line, "#")] = '\0';
	line = trim_space(line);
	if (*line == '\0')
		return 0;
	colon = strchr(line, ':');
	if (colon == NULL || strchr(colon + 1, ':') != NULL)
		return error_set(e, ST_CONFIG, _("expected 'name: address, ...'"));
	*colon = '\0';
	name = trim_space(line);
	if (!is_local(name))
		return error_set(e, ST_CONFIG,
				 _("invalid alias name '%.80s': it must be a local name without @"),
				 name);
	if (alias_find(t, name) != NULL)
		return error_set(e, ST_CONFIG, _("alias %.80s is defined twice"), name);
	t->v = xrealloc(t->v, (t->n + 1) * sizeof *t->v);
	a = &t->v[t->n++];
	a->name = xstrdup(name);
	strlist_init(&a->addrs);
	for (char *s = colon + 1; s != NULL;) {
		char *comma = strchr(s, ',');

		if (comma != NULL)
			*comma = '\0';
		s = trim_space(s);
		if (*s != '\0')
			strlist_add(&a->addrs, s);
		s = comma != NULL ? comma + 1 : NULL;
	}
	return 0;
}

static int
aliases_read(struct alias_table *t, struct error *e)
{
	struct buf text;
	unsigned line = 0;
	int fd, rc = 0;

	fd = open_for_reading(t->path);
	if (fd < 0)
		return error_set(e, ST_CONFIG, _("cannot open aliases file %s: %s"), t->path,
				 strerror(errno));
	buf_init(&text, ALIASES_FILE_MAX);
	if (read_all(fd, &text) < 0)
		rc = errno == EFBIG
			     ? error_set(e, ST_CONFIG, _("aliases file %s is larger than %d KiB"),
					 t->path, ALIASES_FILE_MAX / 1024)
			     : error_set(e, ST_CONFIG, _("cannot read aliases file %s: %s"),
					 t->path, strerror(errno));
	close(fd);
	for (char *s = text.data; rc == 0 && s != NULL && s < text.data + text.len;) {
		size_t left = (size_t)(text.data + text.len - s);
		char *nl = memchr(s, '\n', left);
		size_t n = nl != NULL ? (size_t)(nl - s) : left;

		line++;
		if (memchr(s, '\0', n) != NULL) {
			rc = error_set(e, ST_CONFIG, _("the line contains a NUL byte"));
		} else {
			s[n] = '\0'; /* the newline, or the buffer's terminator */
			rc = alias_parse_line(t, s, e);
		}
		if (rc < 0)
			error_prefix(e, "%s:%u", t->path, line);
		s = nl != NULL ? nl + 1 : NULL;
	}
	buf_free(&text);
	return rc;
}

static int
alias_expand(const struct alias_table *t, const char *name, int depth, struct strlist *out,
	     struct error *e)
{
	const struct alias *a;

	if (depth > ALIASES_DEPTH_MAX)
		return error_set(e, ST_CONFIG,
				 _("aliases file %s: more than %d levels expanding %.80s; is there "
				   "a loop?"),
				 t->path, ALIASES_DEPTH_MAX, name);
	a = alias_find(t, name);
	if (a == NULL)
		a = alias_find(t, "default");
	if (a == NULL) {
		strlist_add(out, name);
		return 0;
	}
	for (size_t i = 0; i < a->addrs.n; i++) {
		if (!is_local(a->addrs.v[i]))
			strlist_add(out, a->addrs.v[i]);
		else if (alias_expand(t, a->addrs.v[i], depth + 1, out, e) < 0)
			return -1;
	}
	return 0;
}

int
conf_aliases_expand(const char *aliases_path, struct strlist *rcpts, struct error *e)
{
	struct alias_table t = {.path = aliases_path};
	struct strlist out;
	size_t i;
	int rc = 0;

	for (i = 0; i < rcpts->n && !is_local(rcpts->v[i]); i++)
		;
	if (i == rcpts->n)
		return 0;
	if (aliases_read(&t, e) < 0) {
		aliases_free(&t);
		return -1;
	}
	strlist_init(&out);
	for (i = 0; i < rcpts->n && rc == 0; i++) {
		if (is_local(rcpts->v[i]))
			rc = alias_expand(&t, rcpts->v[i], 0, &out, e);
		else
			strlist_add(&out, rcpts->v[i]);
	}
	aliases_free(&t);
	if (rc < 0) {
		strlist_free(&out);
		return -1;
	}
	strlist_free(rcpts);
	*rcpts = out;
	return 0;
}
