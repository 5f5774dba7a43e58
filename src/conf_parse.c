/* conf_parse.c - msmtp's configuration syntax: one keyword and its
 * argument a line, "defaults", "account NAME [: PARENT, ...]" with
 * inheritance of the values a parent set itself, "eval COMMAND", and the
 * permission rule for files that hold a password.  msmtp's obsolete
 * keywords (tls_nocertcheck, tls_nostarttls, auto_from with maildomain)
 * are read as what they mean today, each with a warning saying so.
 *
 * Untrusted input: the configuration files (up to CONF_FILE_MAX, any line
 * length; NUL and stray CR refused) and the output of eval commands
 * (bounded in size and time, first line only).  Lines may hold passwords:
 * every copy of file text is wiped.
 */
#include "config.h"

#include "conf_private.h"

#include "i18n.h"
#include "suggest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Configuration files are small; anything larger is the wrong file. */
#define CONF_FILE_MAX (4L * 1024 * 1024)

/* An account of the file being read, and which values it has itself or
 * from its parents rather than from defaults: only those pass on to the
 * accounts that name it as a parent (msmtp). */
struct pending;

/* msmtp before 1.8.8 built the envelope sender with "auto_from on" from
 * the login name and "maildomain"; today's msmtp and outbox write
 * "from %U@DOMAIN".  A section's settings of both, applied to its
 * accounts when the file is read (auto_from beats from, as in msmtp). */
struct auto_from {
	int on;                  /* -1: not set, 0 off, 1 on */
	unsigned on_line;        /* where it was set */
	char *domain;            /* maildomain, NULL when not set */
	unsigned dom_line;       /* where it was set */
	bool own_on, own_domain; /* set by the account or a parent, not defaults */
};

struct pending {
	struct account *a;
	bool own[KW__COUNT];
	struct auto_from af;
};

struct parser {
	struct conf *c;
	const char *file;
	unsigned line;
	struct account *defaults;
	struct pending *cur; /* NULL before the first section or in defaults */
	bool in_defaults;
	struct auto_from defaults_af;
	struct pending **accts; /* separately allocated: pointers stay valid */
	size_t n, cap;
	bool has_password;
	struct strlist warnings; /* moved to the configuration with the accounts */
};

static void
parser_init(struct parser *p, struct conf *c, const char *file)
{
	memset(p, 0, sizeof *p);
	p->c = c;
	p->file = file;
	p->defaults = account_new("defaults", file, 0);
	p->defaults_af.on = -1;
	strlist_init(&p->warnings);
}

static void
parser_free(struct parser *p)
{
	for (size_t i = 0; i < p->n; i++) {
		account_free(p->accts[i]->a);
		free(p->accts[i]->af.domain);
		free(p->accts[i]);
	}
	free(p->accts);
	account_free(p->defaults);
	free(p->defaults_af.domain);
	strlist_free(&p->warnings);
}

/* A warning about line of the file, once however many accounts it
 * concerns. */
static void __attribute__((format(printf, 3, 4)))
parser_warn(struct parser *p, unsigned line, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b, 0);
	buf_printf(&b, "%s:%u: ", p->file, line);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (!strlist_contains(&p->warnings, b.data))
		strlist_add(&p->warnings, b.data);
	buf_free(&b);
}

/* What auto_from and maildomain meant, as "from %U@DOMAIN". */
static void
auto_from_apply(struct parser *p, struct pending *pa)
{
	const struct auto_from *af = &pa->af;
	char *from, *value = NULL;
	struct error ignored;

	if (af->on != 1) {
		if (af->on == 0)
			parser_warn(p, af->on_line,
				    _("auto_from is obsolete; remove it (off is the default)"));
		if (af->domain != NULL)
			parser_warn(p, af->dom_line,
				    _("maildomain has no effect without auto_from; remove it"));
		return;
	}
	from = af->domain != NULL && *af->domain != '\0' ? xasprintf("%%U@%s", af->domain)
							 : xstrdup("%U");
	if (conf_value_check(KW_FROM, from, p->c->home, &value, &ignored) == 0)
		account_store(pa->a, KW_FROM, value, p->file, af->on_line);
	parser_warn(p, af->on_line, _("auto_from is obsolete; write 'from %s' instead"), from);
	if (af->domain != NULL)
		parser_warn(p, af->dom_line, _("maildomain is obsolete; write 'from %s' instead"),
			    from);
	free(from);
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
		auto_from_apply(p, p->accts[i]);
	for (size_t i = 0; i < p->warnings.n; i++)
		strlist_add(&c->warnings, p->warnings.v[i]);

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
	for (size_t i = 0; i < p->n; i++) {
		free(p->accts[i]->af.domain);
		free(p->accts[i]);
	}
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

/* Copies from's settings (only_own: those the account or its parents
 * made, as msmtp passes on to children), marked as not to's own. */
static void
auto_from_inherit(struct auto_from *to, const struct auto_from *from, bool only_own)
{
	if (from->on >= 0 && (!only_own || from->own_on)) {
		to->on = from->on;
		to->on_line = from->on_line;
	}
	if (from->domain != NULL && (!only_own || from->own_domain)) {
		free(to->domain);
		to->domain = xstrdup(from->domain);
		to->dom_line = from->dom_line;
	}
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
	pa->af.on = -1;
	p->accts[p->n++] = pa;
	pa->a = account_new(name, p->file, p->line);
	account_inherit(pa->a, p->defaults, NULL);
	auto_from_inherit(&pa->af, &p->defaults_af, false);
	return pa;
}

static int
unknown_parent(const struct parser *p, const char *name, struct error *e)
{
	struct suggestion sg;

	error_set(e, ST_CONFIG,
		  _("account %s is not defined above; define it before the accounts that "
		    "inherit from it"),
		  name);
	suggestion_init(&sg, name);
	for (size_t i = 0; i < p->n; i++)
		suggestion_offer(&sg, p->accts[i]->a->name, strlen(p->accts[i]->a->name));
	suggestion_append(&sg, e);
	return -1;
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
			unknown_parent(p, pname, e);
			goto out;
		}
		parents = xrealloc(parents, (n_parents + 1) * sizeof *parents);
		parents[n_parents++] = parent;
		s = comma != NULL ? comma + 1 : NULL;
	}
	pa = parser_add_account(p, name);
	for (size_t i = 0; i < n_parents; i++) {
		account_inherit(pa->a, parents[i]->a, parents[i]->own);
		for (int k = 0; k < KW__COUNT; k++)
			pa->own[k] |= parents[i]->own[k];
		auto_from_inherit(&pa->af, &parents[i]->af, true);
		pa->af.own_on |= parents[i]->af.own_on;
		pa->af.own_domain |= parents[i]->af.own_domain;
	}
	p->cur = pa;
	p->in_defaults = false;
	rc = 0;
out:
	free(parents);
	return rc;
}

static int
unknown_keyword(const char *name, struct error *e)
{
	static const char *const sections[] = {"account", "defaults"};
	struct suggestion sg;

	error_set(e, ST_CONFIG, _("unknown keyword '%.80s'"), name);
	suggestion_init(&sg, name);
	for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
		suggestion_offer(&sg, sections[i], strlen(sections[i]));
	for (int k = 0; k < KW__COUNT; k++)
		suggestion_offer(&sg, conf_keywords[k].name, strlen(conf_keywords[k].name));
	suggestion_append(&sg, e);
	return -1;
}

static int parse_raw_line(struct parser *p, const char *s, size_t n, bool from_eval,
			  struct error *e);

/* msmtp's obsolete keywords; auto_from and maildomain have no
 * replacement keyword of their own (see struct auto_from). */
static const struct {
	const char *name;
	enum conf_keyword k;
	const char *value;
} obsolete_keywords[] = {
	{"tls_nocertcheck", KW_TLS_CERTCHECK, "off"}, /* msmtp 1.2 */
	{"tls_nostarttls", KW_TLS_STARTTLS, "off"},   /* msmtp 1.2 */
	{"auto_from", KW_FROM, NULL},                 /* msmtp 1.8.7 */
	{"maildomain", KW_FROM, NULL},                /* msmtp 1.8.7 */
};
#define N_OBSOLETE (sizeof obsolete_keywords / sizeof obsolete_keywords[0])

static int
obsolete_lookup(const char *name)
{
	for (size_t i = 0; i < N_OBSOLETE; i++)
		if (strcmp(obsolete_keywords[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Stores a checked value in the current section. */
static void
parser_store(struct parser *p, enum conf_keyword k, char *value)
{
	account_store(p->in_defaults ? p->defaults : p->cur->a, k, value, p->file, p->line);
	if (!p->in_defaults)
		p->cur->own[k] = true;
}

static int
parse_auto_from(struct parser *p, bool domain, const char *arg, struct error *e)
{
	struct auto_from *af = p->in_defaults ? &p->defaults_af : &p->cur->af;

	if (domain) {
		free(af->domain);
		af->domain = xstrdup(arg);
		af->dom_line = p->line;
		af->own_domain |= !p->in_defaults;
		return 0;
	}
	if (*arg == '\0' || strcasecmp(arg, "on") == 0)
		af->on = 1;
	else if (strcasecmp(arg, "off") == 0)
		af->on = 0;
	else
		return error_set(e, ST_CONFIG, _("invalid argument '%.80s' for %s: expected %s"),
				 arg, "auto_from", "[on|off]");
	af->on_line = p->line;
	af->own_on |= !p->in_defaults;
	return 0;
}

static int
parse_obsolete(struct parser *p, int i, const char *arg, struct error *e)
{
	const char *name = obsolete_keywords[i].name;
	enum conf_keyword k = obsolete_keywords[i].k;

	if (obsolete_keywords[i].value == NULL)
		return parse_auto_from(p, strcmp(name, "maildomain") == 0, arg, e);
	if (*arg != '\0')
		return error_set(e, ST_CONFIG, _("%s takes no argument; write '%s %s' instead"),
				 name, conf_keywords[k].name, obsolete_keywords[i].value);
	parser_store(p, k, xstrdup(obsolete_keywords[i].value));
	parser_warn(p, p->line, _("%s is obsolete; write '%s %s' instead"), name,
		    conf_keywords[k].name, obsolete_keywords[i].value);
	return 0;
}

/* msmtp: the line is replaced by the first line of the command's output. */
static int
parse_eval(struct parser *p, const char *cmd, struct error *e)
{
	struct buf out;
	int rc;
	char *what = xasprintf(_("eval command '%.80s'"), cmd);

	buf_init(&out, COMMAND_OUTPUT_MAX);
	rc = p->c->eval != NULL ? p->c->eval(p->c->eval_ctx, cmd, &out, e)
				: command_output(cmd, what, ST_CONFIG, &out, e);
	free(what);
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
	if (k < 0 && obsolete_lookup(cmd) < 0)
		return unknown_keyword(cmd, e);
	/* msmtp: settings before any defaults or account line form an
	 * account named "default". */
	if (p->cur == NULL && !p->in_defaults)
		p->cur = parser_add_account(p, "default");
	arg = trim_argument(arg);
	if (k < 0)
		return parse_obsolete(p, obsolete_lookup(cmd), arg, e);
	if (k == KW_EVAL) {
		if (from_eval)
			return error_set(e, ST_CONFIG,
					 _("the output of eval must not be another eval"));
		if (*arg == '\0')
			return error_set(e, ST_CONFIG, _("eval needs an argument (eval command)"));
		return parse_eval(p, arg, e);
	}
	if (conf_value_check(k, arg, p->c->home, &value, e) < 0)
		return -1;
	/* A password (or client secret) printed by eval is not stored in the
	 * file. */
	if (conf_keywords[k].secret && *value != '\0' && !from_eval)
		p->has_password = true;
	parser_store(p, k, value);
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
	if (fstat(fd, &st) < 0 || read_to_eof(fd, &text, true) < 0) {
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
