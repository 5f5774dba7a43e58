/* cli.c - argv to a request.
 *
 * Untrusted input: argv, which scripts build from user data.  Values are
 * kept as given here; addresses are checked for CR, LF and NUL by the
 * submit code before use.  Short flags are one table; every configuration
 * keyword is also a long option. */
#include "config.h"

#include "cli.h"

#include "i18n.h"
#include "suggest.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef int (*flag_fn)(struct request *r, int letter, const char *arg, struct error *e);

static int
flag_ignore(struct request *r, int letter, const char *arg, struct error *e)
{
	strlist_add_owned(&r->ignored, xasprintf("-%c%s", letter, arg ? arg : ""));
	return 0;
}

static int
flag_account(struct request *r, int letter, const char *arg, struct error *e)
{
	r->account = arg;
	return 0;
}

static int
flag_body(struct request *r, int letter, const char *arg, struct error *e)
{
	if (strcasecmp(arg, "8BITMIME") != 0 && strcasecmp(arg, "7BIT") != 0)
		return error_set(e, ST_USAGE, _("-B takes 8BITMIME or 7BIT, not '%s'"), arg);
	r->body_type = arg;
	return 0;
}

static const struct {
	const char *arg;
	enum cli_mode mode;
} b_modes[] = {
	{"m", CLI_DELIVER},
	{"p", CLI_LIST_QUEUE},
	{"s", CLI_SMTP_STDIO},
	{"i", CLI_NEWALIASES},
};

static int
flag_mode(struct request *r, int letter, const char *arg, struct error *e)
{
	for (size_t i = 0; i < sizeof b_modes / sizeof b_modes[0]; i++) {
		if (strcmp(arg, b_modes[i].arg) == 0) {
			r->mode = b_modes[i].mode;
			return 0;
		}
	}
	return error_set(e, ST_USAGE, _("unsupported mode -b%s; outbox knows -bm, -bp, -bs, -bi"),
			 arg);
}

static int
flag_config(struct request *r, int letter, const char *arg, struct error *e)
{
	r->config_file = arg;
	return 0;
}

static int
flag_verbose(struct request *r, int letter, const char *arg, struct error *e)
{
	r->verbose = r->verbose > 0 ? 2 : 1;
	return 0;
}

static int
flag_full_name(struct request *r, int letter, const char *arg, struct error *e)
{
	r->full_name = arg;
	return 0;
}

static int
flag_from(struct request *r, int letter, const char *arg, struct error *e)
{
	r->envelope_from = arg;
	return 0;
}

/* RFC 3461 4.1: NEVER, or a list of SUCCESS, FAILURE, DELAY. */
static int
flag_notify(struct request *r, int letter, const char *arg, struct error *e)
{
	static const char *const words[] = {"never", "success", "failure", "delay"};
	char value[64];
	size_t n = strlen(arg);

	if (n == 0 || n >= sizeof value)
		return error_set(e, ST_USAGE,
				 _("-N takes never or a list of success,failure,delay"));
	for (size_t i = 0; i <= n; i++)
		value[i] = (char)toupper((unsigned char)arg[i]);
	for (const char *p = arg; *p != '\0';) {
		size_t len = strcspn(p, ",");
		bool known = false;

		for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
			known |= strlen(words[i]) == len && strncasecmp(p, words[i], len) == 0;
		if (!known || (strncasecmp(p, "never", len) == 0 && n != len))
			return error_set(e, ST_USAGE,
					 _("-N takes never or a list of success,failure,delay, not "
					   "'%s'"),
					 arg);
		p += len;
		if (*p == ',')
			p++;
	}
	strlist_add(&r->owned, value);
	r->dsn_notify = r->owned.v[r->owned.n - 1];
	return 0;
}

static int
flag_return(struct request *r, int letter, const char *arg, struct error *e)
{
	if (strcasecmp(arg, "full") == 0)
		r->dsn_return = "FULL";
	else if (strcasecmp(arg, "hdrs") == 0)
		r->dsn_return = "HDRS";
	else
		return error_set(e, ST_USAGE, _("-R takes full or hdrs, not '%s'"), arg);
	return 0;
}

static int
flag_envid(struct request *r, int letter, const char *arg, struct error *e)
{
	for (const char *p = arg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return error_set(e, ST_USAGE, _("-V takes printable ASCII only"));
	if (strlen(arg) > 100)
		return error_set(e, ST_USAGE, _("-V envelope id longer than 100 characters"));
	r->dsn_envid = arg;
	return 0;
}

static int
flag_option(struct request *r, int letter, const char *arg, struct error *e)
{
	/* sendmail -oX: -oi is -i, -od[ibq] the delivery mode; the rest
	 * (-oem, -oeq, -oQ...) is accepted and ignored. */
	if (strncmp(arg, "d", 1) == 0 && arg[1] != '\0') {
		r->delivery_given = true;
		switch (arg[1]) {
		case 'i':
			r->delivery = DELIVER_FOREGROUND;
			return 0;
		case 'b':
			r->delivery = DELIVER_BACKGROUND;
			return 0;
		case 'q':
			r->delivery = DELIVER_QUEUE;
			return 0;
		default:
			return error_set(e, ST_USAGE,
					 _("unknown delivery mode -o%s; use -odi, -odb or -odq"),
					 arg);
		}
	}
	return flag_ignore(r, letter, arg, e);
}

static int
flag_pretend(struct request *r, int letter, const char *arg, struct error *e)
{
	r->mode = CLI_PRETEND;
	return 0;
}

static int
flag_serverinfo(struct request *r, int letter, const char *arg, struct error *e)
{
	r->mode = CLI_SERVERINFO;
	return 0;
}

static int
flag_flush(struct request *r, int letter, const char *arg, struct error *e)
{
	r->mode = CLI_FLUSH;
	r->queue_filter = arg;
	return 0;
}

static int
flag_recipients(struct request *r, int letter, const char *arg, struct error *e)
{
	r->read_recipients = true;
	return 0;
}

static int override(struct request *r, enum conf_keyword k, const char *value, struct error *e);

static int
flag_logfile(struct request *r, int letter, const char *arg, struct error *e)
{
	return override(r, KW_LOGFILE, arg, e);
}

/* The short flags (DESIGN.md 1.1).  arg: 0 none, 1 required, 2 optional
 * and attached (-q, -d). */
static const struct short_flag {
	char letter;
	int arg;
	flag_fn fn;
} short_flags[] = {
	{'A', 1, flag_ignore},     {'a', 1, flag_account},    {'B', 1, flag_body},
	{'b', 1, flag_mode},       {'C', 1, flag_config},     {'d', 2, flag_verbose},
	{'F', 1, flag_full_name},  {'f', 1, flag_from},       {'G', 0, flag_ignore},
	{'h', 1, flag_ignore},     {'i', 0, flag_ignore},     {'L', 1, flag_ignore},
	{'m', 0, flag_ignore},     {'N', 1, flag_notify},     {'n', 0, flag_ignore},
	{'O', 1, flag_ignore},     {'o', 1, flag_option},     {'P', 0, flag_pretend},
	{'q', 2, flag_flush},      {'R', 1, flag_return},     {'r', 1, flag_from},
	{'S', 0, flag_serverinfo}, {'t', 0, flag_recipients}, {'U', 0, flag_ignore},
	{'V', 1, flag_envid},      {'v', 0, flag_verbose},    {'X', 1, flag_logfile},
};
#define N_SHORT (sizeof short_flags / sizeof short_flags[0])

enum {
	LONG_VERSION = 256,
	LONG_HELP,
	LONG_READ_ENVELOPE_FROM,
	LONG_STORE_PASSWORD,
	LONG_DELETE_PASSWORD,
	LONG_PASSWORD_SOURCE,
	LONG_JSON,
	LONG_REMOVE,
	LONG_HOLD,
	LONG_RELEASE,
	LONG_REQUEUE,
	LONG_WATCH,
	LONG_TEST,
	LONG_SEND,
	LONG_AUTHORIZE,
	LONG_CONFIGURE,
	LONG_YES,
	LONG_DRY_RUN,
	LONG_KEYWORD_BASE = 512,
};

static const struct option fixed_long[] = {
	{"account", required_argument, NULL, 'a'},
	{"file", required_argument, NULL, 'C'},
	{"debug", no_argument, NULL, 'd'},
	{"serverinfo", no_argument, NULL, 'S'},
	{"pretend", no_argument, NULL, 'P'},
	{"read-recipients", no_argument, NULL, 't'},
	{"read-envelope-from", no_argument, NULL, LONG_READ_ENVELOPE_FROM},
	{"version", no_argument, NULL, LONG_VERSION},
	{"help", no_argument, NULL, LONG_HELP},
	{"store-password", no_argument, NULL, LONG_STORE_PASSWORD},
	{"delete-password", no_argument, NULL, LONG_DELETE_PASSWORD},
	{"password-source", no_argument, NULL, LONG_PASSWORD_SOURCE},
	{"json", no_argument, NULL, LONG_JSON},
	{"remove", required_argument, NULL, LONG_REMOVE},
	{"hold", required_argument, NULL, LONG_HOLD},
	{"release", required_argument, NULL, LONG_RELEASE},
	{"requeue", required_argument, NULL, LONG_REQUEUE},
	{"watch", no_argument, NULL, LONG_WATCH},
	{"test", no_argument, NULL, LONG_TEST},
	{"send", no_argument, NULL, LONG_SEND},
	{"authorize", no_argument, NULL, LONG_AUTHORIZE},
	{"configure", no_argument, NULL, LONG_CONFIGURE},
	{"yes", no_argument, NULL, LONG_YES},
	{"dry-run", no_argument, NULL, LONG_DRY_RUN},
};

/* Long options that only pick a mode. */
static const struct {
	int val;
	enum cli_mode mode;
} mode_options[] = {
	{LONG_VERSION, CLI_VERSION},
	{LONG_HELP, CLI_HELP},
	{LONG_STORE_PASSWORD, CLI_STORE_PASSWORD},
	{LONG_DELETE_PASSWORD, CLI_DELETE_PASSWORD},
	{LONG_PASSWORD_SOURCE, CLI_PASSWORD_SOURCE},
	{LONG_WATCH, CLI_WATCH},
	{LONG_TEST, CLI_TEST},
	{LONG_AUTHORIZE, CLI_AUTHORIZE},
	{LONG_CONFIGURE, CLI_CONFIGURE},
};
#define N_FIXED_LONG (sizeof fixed_long / sizeof fixed_long[0])

static bool
keyword_is_option(enum conf_keyword k)
{
	return !conf_keywords[k].secret && k != KW_EVAL;
}

static int
override(struct request *r, enum conf_keyword k, const char *value, struct error *e)
{
	for (size_t i = 0; i < r->n_overrides; i++) {
		if (r->overrides[i].keyword == k) {
			r->overrides[i].value = value;
			return 0;
		}
	}
	r->overrides[r->n_overrides].keyword = k;
	r->overrides[r->n_overrides].value = value;
	r->n_overrides++;
	if (k == KW_HOST)
		r->host_given = true;
	return 0;
}

/* Long option names for the keywords: tls_trust_file -> tls-trust-file. */
static char long_names[KW__COUNT][48];

static void
build_options(char *optstring, size_t optlen, struct option *longopts)
{
	size_t o = 0, n = 0;

	optstring[o++] = ':';
	for (size_t i = 0; i < N_SHORT && o + 3 < optlen; i++) {
		optstring[o++] = short_flags[i].letter;
		if (short_flags[i].arg >= 1)
			optstring[o++] = ':';
		if (short_flags[i].arg == 2)
			optstring[o++] = ':';
	}
	optstring[o] = '\0';
	for (size_t i = 0; i < N_FIXED_LONG; i++)
		longopts[n++] = fixed_long[i];
	for (int k = 0; k < KW__COUNT; k++) {
		if (!keyword_is_option((enum conf_keyword)k))
			continue;
		snprintf(long_names[k], sizeof long_names[k], "%s", conf_keywords[k].name);
		for (char *p = long_names[k]; *p != '\0'; p++)
			if (*p == '_')
				*p = '-';
		longopts[n].name = long_names[k];
		longopts[n].has_arg =
			conf_keywords[k].if_empty != NULL ? optional_argument : required_argument;
		longopts[n].flag = NULL;
		longopts[n].val = LONG_KEYWORD_BASE + k;
		n++;
	}
	memset(&longopts[n], 0, sizeof longopts[n]);
}

static bool
set_mode_option(struct request *r, int c)
{
	for (size_t i = 0; i < sizeof mode_options / sizeof mode_options[0]; i++) {
		if (mode_options[i].val == c) {
			r->mode = mode_options[i].mode;
			return true;
		}
	}
	return false;
}

/* getopt_long takes unique abbreviations; outbox does not: --password
 * must not quietly become --passwordeval. */
static bool
long_name_exact(const char *arg, const char *name)
{
	size_t n = strlen(name);

	return strncmp(arg + 2, name, n) == 0 && (arg[2 + n] == '\0' || arg[2 + n] == '=');
}

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

static void
request_init(struct request *r, const char *name)
{
	memset(r, 0, sizeof *r);
	strlist_init(&r->recipients);
	strlist_init(&r->ignored);
	strlist_init(&r->owned);
	strlist_init(&r->remove);
	strlist_init(&r->hold);
	strlist_init(&r->release);
	strlist_init(&r->requeue);
	if (strcmp(name, "mailq") == 0)
		r->mode = CLI_LIST_QUEUE;
	else if (strcmp(name, "newaliases") == 0)
		r->mode = CLI_NEWALIASES;
}

/* An unknown --option, with the closest known one when there is one. */
static int
unknown_long_option(const char *flag, const struct option *longopts, const char *name,
		    struct error *e)
{
	char *word = xstrndup(flag + 2, strcspn(flag + 2, "="));
	struct suggestion sg;
	char *best;

	suggestion_init(&sg, word);
	for (const struct option *o = longopts; o->name != NULL; o++)
		suggestion_offer(&sg, o->name, strlen(o->name));
	free(word);
	if (strncmp(flag, "--", 2) != 0 || sg.best == NULL)
		return error_set(e, ST_USAGE, _("unknown option %s; see '%s --help'"), flag, name);
	best = xstrndup(sg.best, sg.best_len);
	error_set(e, ST_USAGE, _("unknown option %s (did you mean --%s?); see '%s --help'"), flag,
		  best, name);
	free(best);
	return -1;
}

/* getopt_long's '?' (unknown option) or ':' (missing value) as an error. */
static int
getopt_error(int c, const char *flag, const struct option *longopts, const char *name,
	     struct error *e)
{
	bool letter = optopt != 0 && optopt < 256;

	if (c == '?' && letter)
		return error_set(e, ST_USAGE, _("unknown option -%c; see '%s --help'"), optopt,
				 name);
	if (c == '?')
		return unknown_long_option(flag, longopts, name, e);
	if (letter)
		return error_set(e, ST_USAGE, _("option -%c needs a value"), optopt);
	return error_set(e, ST_USAGE, _("option %s needs a value"), flag);
}

/* Applies a long option that has no short flag; false if c is not one. */
static bool
long_option(struct request *r, int c, struct error *e)
{
	if (set_mode_option(r, c))
		return true;
	switch (c) {
	case LONG_JSON:
		r->json = true;
		return true;
	case LONG_SEND:
		r->send_test = true;
		return true;
	case LONG_YES:
		r->yes = true;
		return true;
	case LONG_DRY_RUN:
		r->dry_run = true;
		return true;
	case LONG_REMOVE:
	case LONG_HOLD:
	case LONG_RELEASE:
	case LONG_REQUEUE:
		strlist_add(c == LONG_REMOVE    ? &r->remove
			    : c == LONG_HOLD    ? &r->hold
			    : c == LONG_RELEASE ? &r->release
						: &r->requeue,
			    optarg);
		r->mode = CLI_QUEUE_EDIT;
		return true;
	case LONG_READ_ENVELOPE_FROM:
		r->read_envelope_from = true;
		return true;
	default:
		break;
	}
	if (c < LONG_KEYWORD_BASE)
		return false;
	override(r, (enum conf_keyword)(c - LONG_KEYWORD_BASE), optarg != NULL ? optarg : "", e);
	return true;
}

static int
short_flag(struct request *r, int c, struct error *e)
{
	for (size_t i = 0; i < N_SHORT; i++)
		if (short_flags[i].letter == c)
			return short_flags[i].fn(r, c, optarg, e);
	return 0;
}

/* The arguments after the flags: recipients, several to an argument when
 * it is a list ("a, b"). */
static void
add_recipients(struct request *r, int argc, char **argv, int first)
{
	for (int i = first; i < argc; i++) {
		const char *p = argv[i];

		while (*p != '\0') {
			size_t len = strcspn(p, ",");
			size_t start = 0;

			while (start < len && (p[start] == ' ' || p[start] == '\t'))
				start++;
			while (len > start && (p[len - 1] == ' ' || p[len - 1] == '\t'))
				len--;
			if (len > start)
				strlist_add_owned(&r->recipients, xstrndup(p + start, len - start));
			p += strcspn(p, ",");
			if (*p == ',')
				p++;
		}
	}
}

int
cli_parse(int argc, char **argv, struct request *r, struct error *e)
{
	struct option longopts[N_FIXED_LONG + KW__COUNT + 1];
	char optstring[3 * N_SHORT + 2];
	const char *name = argc > 0 ? base_name(argv[0]) : "outbox";
	int c, longindex = -1;

	request_init(r, name);
	build_options(optstring, sizeof optstring, longopts);
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, optstring, longopts, &longindex)) != -1) {
		const char *flag = argv[optind - 1];

		if (c == '?' || c == ':')
			return getopt_error(c, flag, longopts, name, e);
		if (longindex >= 0 && strncmp(flag, "--", 2) != 0 && optind >= 2)
			flag = argv[optind - 2]; /* "--name value": flag is the value */
		if (longindex >= 0 && !long_name_exact(flag, longopts[longindex].name))
			return error_set(
				e, ST_USAGE,
				_("unknown option %s (did you mean --%s?); see '%s --help'"), flag,
				longopts[longindex].name, name);
		longindex = -1;
		if (!long_option(r, c, e) && short_flag(r, c, e) < 0)
			return -1;
	}
	/* msmtp refuses this too: --host makes the command line the account,
	 * so the account -a names would be silently ignored. */
	if (r->host_given && r->account != NULL && r->mode != CLI_CONFIGURE)
		return error_set(e, ST_USAGE,
				 _("-a %s cannot be used with --host, which makes the command line "
				   "the account; drop one of them"),
				 r->account);
	add_recipients(r, argc, argv, optind);
	if (r->send_test && r->mode != CLI_TEST)
		return error_set(e, ST_USAGE, _("--send goes with --test: 'outbox --test --send'"));
	if ((r->yes || r->dry_run) && r->mode != CLI_CONFIGURE)
		return error_set(e, ST_USAGE,
				 _("--yes and --dry-run go with --configure: 'outbox --configure "
				   "--dry-run ADDRESS'"));
	return 0;
}

void
cli_request_free(struct request *r)
{
	strlist_free(&r->recipients);
	strlist_free(&r->ignored);
	strlist_free(&r->owned);
	strlist_free(&r->remove);
	strlist_free(&r->hold);
	strlist_free(&r->release);
	strlist_free(&r->requeue);
}

const char *
cli_help(void)
{
	return _(
		"Usage: outbox [options] [--] [recipient...] < message\n"
		"Send a message through an SMTP submission server (sendmail compatible).\n"
		"\n"
		"  -t, --read-recipients  also read recipients from To, Cc and Bcc\n"
		"  -f, -r ADDRESS     envelope sender ('<>' for none); -F NAME  From's full name\n"
		"  --read-envelope-from  take the envelope sender from the From header\n"
		"  -a, --account=NAME use this account; -C, --file=FILE this configuration\n"
		"  -N, -R, -V, -B     DSN notify, return, envelope id; body 8BITMIME or 7BIT\n"
		"  -odi, -odb, -odq   deliver now, in the background, or only queue\n"
		"  -v, -d, --debug    print the SMTP transcript (secrets hidden)\n"
		"  -X FILE            append a log line per message (as --logfile)\n"
		"  -S, --serverinfo   describe the server; -P, --pretend  show the account\n"
		"  --test, --send     log in to the server; with --send, also send a test message\n"
		"  --KEYWORD=VALUE    override a configuration keyword (--host, --port...)\n"
		"  --store-password, --delete-password, --password-source  the keyring\n"
		"  --authorize        sign in to the account's OAuth2 provider once\n"
		"  --configure ADDRESS, --yes, --dry-run  find the server, add an account\n"
		"  -q[I|R|S...], -bp, mailq  flush the queue, list it (--json for programs)\n"
		"  --remove, --hold, --release, --requeue=ID  edit the queue\n"
		"  --watch            flush the queue whenever the network comes up\n"
		"  -bm send (default), -bs SMTP on stdin and stdout, -bi, newaliases: nothing\n"
		"  -i, -oi, -oX, -A, -G, -h, -L, -m, -n, -O, -U  accepted and ignored\n"
		"  --version, --help\n"
		"Every flag, keyword and exit status: man outbox, man outbox.conf\n");
}
