/* conf_values.c - the checks of configuration values, one per conf_type:
 * they turn a value as written into the validated string an account
 * stores (choices canonical, ~ expanded, msmtp's %U %H %C %M placeholders
 * filled in), and read stored values back as numbers.
 *
 * Untrusted input: values from configuration files, eval output and the
 * command line, each a NUL-terminated line; error messages show at most
 * 80 bytes of one.  Placeholders read /etc/mailname (first line, bounded)
 * and the host's name.
 */
#include "config.h"

#include "conf_private.h"

#include "i18n.h"
#include "suggest.h"

#include <ctype.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HOSTNAME_MAX 255
#define SHA256_BYTES 32
#define HOSTNAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"

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
/* The same words, for "did you mean". */
#define SYSLOG_WORDS                                                                               \
	"on|off|LOG_USER|LOG_MAIL|LOG_LOCAL0|LOG_LOCAL1|LOG_LOCAL2|LOG_LOCAL3|LOG_LOCAL4|"         \
	"LOG_LOCAL5|LOG_LOCAL6|LOG_LOCAL7"

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

/* ---- one check per conf_type: raw is not empty; *out is what to store ---- */

typedef int (*value_fn)(enum conf_keyword k, const char *raw, const char *home, char **out,
			struct error *e);

/* The canonical spelling of word, a match in a '|'-separated list; when
 * there is none, the error suggests the closest word of choices. */
static int
store_word(enum conf_keyword k, const char *raw, const char *word, const char *choices, char **out,
	   struct error *e)
{
	struct suggestion sg;

	if (word != NULL) {
		*out = xstrndup(word, strcspn(word, "|"));
		return 0;
	}
	invalid_value(&conf_keywords[k], raw, e);
	suggestion_init(&sg, raw);
	for (const char *p = choices; *p != '\0';) {
		size_t n = strcspn(p, "|");

		suggestion_offer(&sg, p, n);
		p += n + (p[n] == '|');
	}
	suggestion_append(&sg, e);
	return -1;
}

static int
value_hostname(enum conf_keyword k, const char *raw, const char *home, char **out, struct error *e)
{
	*out = expand_placeholders(raw);
	if (hostname_valid(*out))
		return 0;
	free(*out);
	*out = NULL;
	return error_set(e, ST_CONFIG,
			 _("invalid argument '%.80s' for %s: expected a host name (letters, "
			   "digits, '.', '-', '_') or an address literal such as [192.0.2.1], "
			   "at most %d octets"),
			 raw, conf_keywords[k].name, HOSTNAME_MAX);
}

static int
value_string(enum conf_keyword k, const char *raw, const char *home, char **out, struct error *e)
{
	*out = k == KW_FROM ? expand_placeholders(raw) : xstrdup(raw);
	return 0;
}

static int
value_path(enum conf_keyword k, const char *raw, const char *home, char **out, struct error *e)
{
	return expand_tilde(raw, home, out, e);
}

static int
value_bool(enum conf_keyword k, const char *raw, const char *home, char **out, struct error *e)
{
	return store_word(k, raw, choice_find("on|off", raw), "on|off", out, e);
}

static int
value_choice(enum conf_keyword k, const char *raw, const char *home, char **out, struct error *e)
{
	const char *choices = conf_keywords[k].choices;

	return store_word(k, raw, choice_find(choices, raw), choices, out, e);
}

static int
value_number(enum conf_keyword k, const char *raw, const char *home, char **out, struct error *e)
{
	const struct conf_keyword_info *ki = &conf_keywords[k];
	long v;

	if (parse_long(raw, ki->min, ki->max, &v) < 0)
		return error_set(e, ST_CONFIG,
				 _("invalid argument '%.80s' for %s: expected a number "
				   "from %ld to %ld"),
				 raw, ki->name, ki->min, ki->max);
	*out = xstrdup(raw);
	return 0;
}

static int
value_timeout(enum conf_keyword k, const char *raw, const char *home, char **out, struct error *e)
{
	const struct conf_keyword_info *ki = &conf_keywords[k];
	long v;

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
}

static int
value_syslog(enum conf_keyword k, const char *raw, const char *home, char **out, struct error *e)
{
	const char *word = choice_find("on|off", raw);

	for (size_t i = 0;
	     word == NULL && i < sizeof syslog_facilities / sizeof syslog_facilities[0]; i++)
		if (strcmp(raw, syslog_facilities[i]) == 0)
			word = syslog_facilities[i];
	return store_word(k, raw, word, SYSLOG_WORDS, out, e);
}

static int
value_dsn_notify(enum conf_keyword k, const char *raw, const char *home, char **out,
		 struct error *e)
{
	if (check_dsn_notify(raw) < 0)
		return invalid_value(&conf_keywords[k], raw, e);
	*out = lowercase_dup(raw);
	return 0;
}

static int
value_fingerprint(enum conf_keyword k, const char *raw, const char *home, char **out,
		  struct error *e)
{
	unsigned char md[SHA256_BYTES];

	/* The lengths of SHA-1 and MD5 get their own message. */
	switch (fingerprint_parse(raw, md, sizeof md)) {
	case SHA256_BYTES:
		*out = xstrdup(raw);
		return 0;
	case 20:
	case 16:
		return error_set(e, ST_CONFIG,
				 _("%s: SHA-1 and MD5 fingerprints are not accepted; use "
				   "the certificate's SHA-256 fingerprint"),
				 conf_keywords[k].name);
	default:
		return error_set(e, ST_CONFIG,
				 _("invalid argument '%.80s' for %s: expected a SHA-256 "
				   "fingerprint, 32 hex bytes joined by ':'"),
				 raw, conf_keywords[k].name);
	}
}

static int
value_duration(enum conf_keyword k, const char *raw, const char *home, char **out, struct error *e)
{
	const struct conf_keyword_info *ki = &conf_keywords[k];
	long v;

	if (parse_scaled(raw, duration_units, ki->min, ki->max, &v) < 0)
		return error_set(e, ST_CONFIG,
				 _("invalid argument '%.80s' for %s: expected a duration "
				   "such as 3600, 90m, 12h, 5d or 2w, from %lds to %ldd"),
				 raw, ki->name, ki->min, ki->max / DAY);
	*out = xstrdup(raw);
	return 0;
}

static int
value_size(enum conf_keyword k, const char *raw, const char *home, char **out, struct error *e)
{
	const struct conf_keyword_info *ki = &conf_keywords[k];
	long v;

	if (parse_scaled(raw, size_units, ki->min, ki->max, &v) < 0)
		return error_set(e, ST_CONFIG,
				 _("invalid argument '%.80s' for %s: expected a size such "
				   "as 500k, 50M or 1G, from 1k to 2047M"),
				 raw, ki->name);
	*out = xstrdup(raw);
	return 0;
}

static const value_fn value_checks[] = {
	[CT_STRING] = value_string,         [CT_PATH] = value_path,
	[CT_HOSTNAME] = value_hostname,     [CT_BOOL] = value_bool,
	[CT_CHOICE] = value_choice,         [CT_NUMBER] = value_number,
	[CT_TIMEOUT] = value_timeout,       [CT_SYSLOG] = value_syslog,
	[CT_DSN_NOTIFY] = value_dsn_notify, [CT_FINGERPRINT] = value_fingerprint,
	[CT_DURATION] = value_duration,     [CT_SIZE] = value_size,
	[CT_EVAL] = value_string,
};

int
conf_value_check(enum conf_keyword k, const char *raw, const char *home, char **out,
		 struct error *e)
{
	const struct conf_keyword_info *ki = &conf_keywords[k];

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
	return value_checks[ki->type](k, raw, home, out, e);
}

long
conf_value_long(enum conf_keyword k, const char *v)
{
	const struct conf_keyword_info *ki = &conf_keywords[k];
	long n;

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
