/* conf_parse-t.c - tests for src/conf_parse.c: small configuration texts
 * and what they yield (accounts, values with the line that set them,
 * inheritance of own values, the implicit "default" account, quoting,
 * line ends, the last line without a newline), errors with their
 * "file:line: " prefix, eval's outputs and failures, and conf_load_file
 * on what a path may be (missing, a directory, a FIFO, too large, another
 * user's file with a password). */
#include "config.h"

#include "conf_private.h"

#include "tap/basic.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;

/* A text and what it yields: checks separated by '|', each
 * "ACCOUNT.KEYWORD=VALUE" with an optional "@LINE", "!ACCOUNT" (absent) or
 * "#N" (N accounts); or, with error set, a piece of the error message
 * that includes its "t:LINE: " prefix. */
static const struct {
	const char *text;
	const char *expect;
	bool error;
} texts[] = {
	{"", "#0", false},
	{"# only a comment\n\n   \t\n\t# indented\n", "#0", false},
	{"host h", "#1|default.host=h@1", false},
	{"host h\nport 26\naccount a\nhost ha\n", "#2|default.port=26@2|a.host=ha@4", false},
	{"account a\nhost h", "a.host=h@2", false},
	{"account a\nhost\th\n", "a.host=h", false},
	{"account a\nhost \t h \t \n", "a.host=h", false},
	{"account   a   \nhost h\n", "a.host=h@2", false},
	{"account \"two words\"\nhost h\n", "two words.host=h", false},
	{"account a\nhost h\naccount b:a\n", "b.host=h@2", false},
	{"account a\nhost h\naccount c\nport 26\naccount b : a , c\n", "b.host=h|b.port=26@4",
	 false},
	{"account a\nport 26\naccount c\nport 27\naccount b : a, c\n", "b.port=27@4", false},
	{"account a\nport 26\naccount b : a\nport 28\n", "a.port=26|b.port=28@4", false},
	{"defaults\nport 26\naccount a\nhost h\naccount b : a\n", "b.port=26@2|b.host=h@4", false},
	{"account a\nhost h\ndefaults\nport 26\naccount b\n", "a.port=587|b.port=26", false},
	{"defaults\nhost h\n", "#0", false},
	{"account a\r\nhost h\r\n\r\nport 26\r\n", "a.host=h@2|a.port=26@4", false},
	{"account a\nuser \"\"\n", "a.user=", false},
	{"account a\nuser \" x \"\n", "a.user= x ", false},
	{"account a\nhost h # not a comment\n", "a.host=h # not a comment", false},
	{"account a\nhost h\neval printf 'port 26'\n", "a.port=26@3", false},
	{"account a\neval printf 'port 26\\r\\nport 27\\n'\n", "a.port=26", false},
	{"account a\neval printf '   # a comment\\n'\n", "#1", false},
	{"account a\neval echo '  host   h  '\n", "a.host=h", false},
	{"account a\neval printf '\\n'\n", "#1", false},
	/* msmtp's obsolete keywords */
	{"account a\ntls_nocertcheck\n", "a.tls_certcheck=off@2", false},
	{"defaults\ntls_nostarttls\naccount a\n", "a.tls_starttls=off@2|a.port=465", false},
	{"account a\nmaildomain example.org\n", "a.from=", false},
	{"account a\nauto_from off\nmaildomain example.org\n", "a.from=", false},
	/* errors */
	{"account a\ntls_nocertcheck on\n",
	 "t:2: tls_nocertcheck takes no argument; write 'tls_certcheck off' instead", true},
	{"account a\nauto_from maybe\n",
	 "t:2: invalid argument 'maybe' for auto_from: expected [on|off]", true},
	{"account a\nhost h\r\r\n", "t:2: the line contains a carriage return", true},
	{"account a\nhost h\n\n\nhots h\n", "t:5: unknown keyword 'hots' (did you mean host?)",
	 true},
	{"account a\ntls_starttl on\n",
	 "t:2: unknown keyword 'tls_starttl' (did you mean tls_starttls?)", true},
	{"acount a\n", "t:1: unknown keyword 'acount' (did you mean account?)", true},
	{"account a\nfrobnicate on\n", "t:2: unknown keyword 'frobnicate'", true},
	{"account a\ntls_starttls of\n",
	 "t:2: invalid argument 'of' for tls_starttls: expected [on|off] (did you mean off?)",
	 true},
	{"account work\naccount b : wrok\n",
	 "t:2: account wrok is not defined above; define it before the accounts that inherit "
	 "from it (did you mean work?)",
	 true},
	{"account work\nhost h\naccount default : Work\n",
	 "t:3: account Work is not defined above; define it before the accounts that inherit "
	 "from it (did you mean work?)",
	 true},
	{"account a\nhost\n", "t:2: host needs an argument", true},
	{"account a\nhost   \t\n", "t:2: host needs an argument", true},
	{"account a\nHOST h\n", "t:2: unknown keyword 'HOST'", true},
	{"account a :\n", "t:1: missing account name in the list after ':'", true},
	{"account a : , b\n", "t:1: missing account name", true},
	{"account :\n", "t:1: account needs a name", true},
	{"account \"\"\n", "t:1: account needs a name", true},
	{"account a\naccount b : c\naccount c\n", "t:2: account c is not defined above", true},
	{"host h\naccount default\n", "t:2: account default is already defined on line 1", true},
	{"account a\n\naccount b\naccount a\n", "t:4: account a is already defined on line 1",
	 true},
	{"defaults x\n", "t:1: defaults takes no argument", true},
	{"account a\neval printf 'host x\\0y'\n", "t:2: the line contains a NUL byte", true},
	{"account a\neval kill -9 $$\n", "t:2: eval command 'kill -9 $$' was killed by signal 9",
	 true},
	{"account a\neval head -c 1100000 /dev/zero\n",
	 "t:2: eval command 'head -c 1100000 "
	 "/dev/zero' printed more than 1048576 bytes",
	 true},
	{"account a\neval echo eval true\n", "t:2: the output of eval must not be another eval",
	 true},
};

static bool
contains(const char *haystack, const char *needle)
{
	return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* s with its control bytes escaped, for a test's description. */
static const char *
shown(const char *s)
{
	static struct buf b = {.max = 4096};

	buf_reset(&b);
	buf_append_visible(&b, s, strlen(s));
	return b.data != NULL ? b.data : "";
}

/* One "ACCOUNT.KEYWORD=VALUE[@LINE]", "!ACCOUNT" or "#N" check. */
static void
check_one(struct conf *c, const char *check, const char *text)
{
	const char *dot = strchr(check, '.'), *eq = strchr(check, '=');
	const char *at = eq != NULL ? strrchr(eq, '@') : NULL;
	char *name, *kw, *value;
	struct account *a;
	int k;

	if (check[0] == '#') {
		is_int(atol(check + 1), (long)c->n_accounts, "%s: %s accounts", shown(text),
		       check + 1);
		return;
	}
	if (check[0] == '!') {
		ok(conf_find_account(c, check + 1) == NULL, "%s: no account %s", shown(text),
		   check + 1);
		return;
	}
	if (dot == NULL || eq == NULL)
		bail("bad check %s", check);
	name = xstrndup(check, (size_t)(dot - check));
	kw = xstrndup(dot + 1, (size_t)(eq - dot - 1));
	value = xstrndup(eq + 1, at != NULL ? (size_t)(at - eq - 1) : strlen(eq + 1));
	a = conf_find_account(c, name);
	k = conf_keyword_lookup(kw);
	if (k < 0)
		bail("bad keyword in check %s", check);
	if (ok(a != NULL, "%s: account '%s' exists", shown(text), name)) {
		is_string(*value != '\0' ? value : NULL, account_get(a, k), "... %s is '%s'", kw,
			  value);
		if (at != NULL)
			is_int(atol(at + 1), (long)a->line[k], "... set on line %s", at + 1);
	}
	free(value);
	free(kw);
	free(name);
}

static void
test_texts(void)
{
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		struct conf *c = conf_new();
		struct error e;
		int rc;

		error_clear(&e);
		rc = conf_load_string(c, "t", texts[i].text, strlen(texts[i].text), &e);
		if (texts[i].error) {
			ok(rc < 0 && e.status == ST_CONFIG &&
				   strncmp(e.msg, texts[i].expect, strlen(texts[i].expect)) == 0,
			   "%s: refused with '%s': %s", shown(texts[i].text), texts[i].expect,
			   e.msg);
			is_int(0, (long)c->n_accounts, "... and nothing of it is kept");
		} else if (is_int(0, rc, "%s: parses (%s)", shown(texts[i].text), e.msg)) {
			char *checks = xstrdup(texts[i].expect), *save = NULL;

			for (char *s = strtok_r(checks, "|", &save); s != NULL;
			     s = strtok_r(NULL, "|", &save))
				check_one(c, s, texts[i].text);
			free(checks);
		}
		conf_free(c);
	}
}

/* A failed text leaves what earlier texts gave; a later one replaces
 * same-named accounts and comes first. */
static void
test_commit(void)
{
	static const char first[] = "account a\nhost first\naccount b\nhost b\n";
	static const char broken[] = "account a\nhost broken\naccount c\nhost c\nbogus\n";
	static const char second[] = "account b\nhost second\n";
	struct conf *c = conf_new();
	struct error e;

	is_int(0, conf_load_string(c, "one", first, strlen(first), &e), "first text loads");
	ok(conf_load_string(c, "two", broken, strlen(broken), &e) < 0 && contains(e.msg, "two:5: "),
	   "a broken text fails: %s", e.msg);
	ok(conf_find_account(c, "c") == NULL, "... and adds none of its accounts");
	is_string("first", account_get(conf_find_account(c, "a"), KW_HOST), "... nor replaces any");
	is_int(0, conf_load_string(c, "three", second, strlen(second), &e), "a third text loads");
	is_string("second", account_get(conf_find_account(c, "b"), KW_HOST),
		  "... its account replaces the same-named one");
	is_string("three", conf_find_account(c, "b")->file, "... file and all");
	ok(c->n_accounts == 2 && strcmp(c->accounts[0]->name, "b") == 0 &&
		   strcmp(c->accounts[1]->name, "a") == 0,
	   "... and comes first");
	conf_free(c);
}

static char *
make_file(const char *name, const char *text, mode_t mode)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write_all(fd, text, strlen(text)) < 0 || close(fd) < 0 ||
	    chmod(path, mode) < 0)
		bail("cannot write %s: %s", path, strerror(errno));
	return path;
}

static void
test_files(void)
{
	char *missing = xasprintf("%s/missing", dir);
	char *fifo = xasprintf("%s/fifo", dir);
	char *big = make_file("big", "", 0600);
	char *good = make_file("good", "account a\nhost h\npassword secret\n", 0600);
	char *theirs = make_file("theirs", "account a\nhost h\npassword secret\n", 0600);
	struct conf *c;
	struct error e;

	c = conf_new();
	ok(conf_load_file(c, missing, false, &e) < 0 && e.status == ST_CONFIG &&
		   contains(e.msg, "cannot open") && contains(e.msg, missing),
	   "a missing file: %s", e.msg);
	ok(conf_load_file(c, dir, false, &e) < 0 && contains(e.msg, "cannot read") &&
		   contains(e.msg, dir),
	   "a directory: %s", e.msg);
	if (mkfifo(fifo, 0600) == 0) {
		is_int(0, conf_load_file(c, fifo, false, &e),
		       "a FIFO without a writer reads as empty (%s)", e.msg);
	} else {
		skip("no FIFO");
	}
	if (truncate(big, 4L * 1024 * 1024 + 1) < 0)
		bail("truncate: %s", strerror(errno));
	ok(conf_load_file(c, big, false, &e) < 0 && contains(e.msg, "larger than 4 MiB") &&
		   contains(e.msg, "right file"),
	   "a file over 4 MiB: %s", e.msg);
	if (truncate(big, 4L * 1024 * 1024) < 0)
		bail("truncate: %s", strerror(errno));
	ok(conf_load_file(c, big, false, &e) < 0 && contains(e.msg, ":1: the line contains a NUL"),
	   "4 MiB exactly is read (and its NUL bytes refused): %s", e.msg);
	is_int(0, conf_load_file(c, good, false, &e), "a private file with a password (%s)", e.msg);
	is_string("secret", account_get(conf_find_account(c, "a"), KW_PASSWORD),
		  "... holds the password");
	conf_free(c);
	if (geteuid() == 0 && chown(theirs, 65534, 65534) == 0) {
		c = conf_new();
		ok(conf_load_file(c, theirs, false, &e) < 0 &&
			   contains(e.msg, "belongs to another user"),
		   "another user's file with a password: %s", e.msg);
		is_int(0, conf_load_file(c, theirs, true, &e),
		       "... is fine as the system file (%s)", e.msg);
		conf_free(c);
	} else {
		skip("needs root to give a file away");
		skip("needs root to give a file away");
	}
	free(theirs);
	free(good);
	free(big);
	free(fifo);
	free(missing);
}

/* auto_from with maildomain, wherever each is set: the from msmtp
 * would build, set where auto_from is, and the warnings. */
static const struct {
	const char *text;
	const char *account;
	const char *domain; /* of the from expected; NULL: the login alone */
	unsigned line;      /* of auto_from */
	const char *warnings;
} auto_froms[] = {
	{"account a\nauto_from on\nmaildomain example.org\n", "a", "example.org", 2,
	 "t:2: auto_from is obsolete; write 'from %U@example.org' instead|"
	 "t:3: maildomain is obsolete; write 'from %U@example.org' instead"},
	{"account a\nmaildomain example.org\nfrom x@y.example\nauto_from\n", "a", "example.org", 4,
	 "t:4: auto_from is obsolete; write 'from %U@example.org' instead|"
	 "t:2: maildomain is obsolete; write 'from %U@example.org' instead"},
	{"defaults\nmaildomain d.example\naccount a\nauto_from on\naccount b : a\n", "b",
	 "d.example", 4,
	 "t:4: auto_from is obsolete; write 'from %U@d.example' instead|"
	 "t:2: maildomain is obsolete; write 'from %U@d.example' instead"},
	{"defaults\nauto_from on\naccount a\nmaildomain a.example\naccount b\n", "b", NULL, 2,
	 "t:2: auto_from is obsolete; write 'from %U@a.example' instead|"
	 "t:4: maildomain is obsolete; write 'from %U@a.example' instead|"
	 "t:2: auto_from is obsolete; write 'from %U' instead"},
	{"account a\nauto_from on\n", "a", NULL, 2,
	 "t:2: auto_from is obsolete; write 'from %U' instead"},
	{"account a\nauto_from off\nmaildomain x.example\n", "a", NULL, 0,
	 "t:2: auto_from is obsolete; remove it (off is the default)|"
	 "t:3: maildomain has no effect without auto_from; remove it"},
	{"account a\ntls_nocertcheck\ntls_nocertcheck\n", "a", NULL, 0,
	 "t:2: tls_nocertcheck is obsolete; write 'tls_certcheck off' instead|"
	 "t:3: tls_nocertcheck is obsolete; write 'tls_certcheck off' instead"},
};

static void
test_auto_from(void)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw == NULL)
		bail("no login name");
	for (size_t i = 0; i < sizeof auto_froms / sizeof auto_froms[0]; i++) {
		struct conf *c = conf_new();
		const char *text = auto_froms[i].text;
		struct account *a;
		struct buf seen;
		struct error e;
		char *want;

		if (conf_load_string(c, "t", text, strlen(text), &e) < 0)
			bail("%s: %s", shown(text), e.msg);
		a = conf_find_account(c, auto_froms[i].account);
		if (a == NULL)
			bail("%s: no account %s", shown(text), auto_froms[i].account);
		if (auto_froms[i].line > 0) {
			want = auto_froms[i].domain != NULL
				       ? xasprintf("%s@%s", pw->pw_name, auto_froms[i].domain)
				       : xstrdup(pw->pw_name);
			is_string(want, account_get(a, KW_FROM), "%s: from", shown(text));
			is_int(auto_froms[i].line, (long)a->line[KW_FROM],
			       "... set on the auto_from line");
			free(want);
		}
		buf_init(&seen, 0);
		for (size_t w = 0; w < conf_warnings(c)->n; w++)
			buf_printf(&seen, "%s%s", w > 0 ? "|" : "", conf_warnings(c)->v[w]);
		is_string(auto_froms[i].warnings, seen.data, "... warnings");
		buf_free(&seen);
		conf_free(c);
	}
}

int
main(void)
{
	plan_lazy();
	dir = test_tmpdir("conf_parse-t");
	setenv("HOME", dir, 1);
	test_texts();
	test_commit();
	test_files();
	test_auto_from();
	test_tmpdir_free(dir);
	return 0;
}
