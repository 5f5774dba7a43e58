/* conf_aliases-t.c - tests for src/conf_aliases.c: aliases files and
 * recipient lists, table-driven: plain aliases, lists, aliases of aliases
 * up to the depth limit and one past it, loops, "default", blanks,
 * comments and line ends, the order of the result; malformed lines
 * reported as file:line, NUL bytes, an oversized, missing or unreadable
 * file, and that a failure leaves the recipients as they were. */
#include "config.h"

#include "conf.h"

#include "tap/basic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_RCPTS 8

static char *dir;

/* An aliases file, the recipients, and the result: the expanded list
 * joined with spaces, or (error set) a piece of the message; "FILE"
 * stands for the file's path. */
static const struct {
	const char *name;
	const char *file;
	const char *rcpts[MAX_RCPTS];
	const char *want;
	bool error;
} cases[] = {
	{"no local recipient: the file is not read", NULL, {"a@x", "b@y"}, "a@x b@y", false},
	{"a plain alias", "root: admin@example.org\n", {"root"}, "admin@example.org", false},
	{"a list, blanks trimmed, empty items skipped",
	 "  team  :  a@x ,, b@y ,\t c@z  \n",
	 {"team"},
	 "a@x b@y c@z",
	 false},
	{"order kept around an expansion",
	 "root: r1@x, r2@x\n",
	 {"a@x", "root", "b@x"},
	 "a@x r1@x r2@x b@x",
	 false},
	{"duplicates are kept", "root: a@x\n", {"root", "root", "a@x"}, "a@x a@x a@x", false},
	{"an alias of an alias", "root: admin\nadmin: a@x\n", {"root"}, "a@x", false},
	{"a local name without alias and no default stays",
	 "root: jane\n",
	 {"root", "bob"},
	 "jane bob",
	 false},
	{"default for unknown local names",
	 "root: a@x\ndefault: catch@x\n",
	 {"root", "bob", "c@y"},
	 "a@x catch@x c@y",
	 false},
	{"default expands through an alias",
	 "default: postmaster\npostmaster: pm@x\n",
	 {"bob"},
	 "pm@x",
	 false},
	{"names are case-sensitive", "Root: a@x\ndefault: d@x\n", {"root"}, "d@x", false},
	{"an alias with no address drops the recipient",
	 "empty:\n",
	 {"empty", "a@x"},
	 "a@x",
	 false},
	{"# starts a comment anywhere",
	 "# header\nroot: a@x # trailing\n\t# indented\n",
	 {"root"},
	 "a@x",
	 false},
	{"CRLF lines and no final newline",
	 "root: a@x\r\nadmin: b@x",
	 {"admin", "root"},
	 "b@x a@x",
	 false},
	{"a chain of 16 aliases of aliases",
	 "a0: a1\na1: a2\na2: a3\na3: a4\na4: a5\na5: a6\na6: a7\na7: a8\na8: a9\na9: a10\n"
	 "a10: a11\na11: a12\na12: a13\na13: a14\na14: a15\na15: a16\na16: end@x\n",
	 {"a0"},
	 "end@x",
	 false},
	{"a chain of 17 is refused",
	 "a0: a1\na1: a2\na2: a3\na3: a4\na4: a5\na5: a6\na6: a7\na7: a8\na8: a9\na9: a10\n"
	 "a10: a11\na11: a12\na12: a13\na13: a14\na14: a15\na15: a16\na16: a17\na17: end@x\n",
	 {"a0"},
	 "aliases file FILE: more than 16 levels expanding a17; is there a loop?",
	 true},
	{"a loop", "a: b\nb: a\n", {"a"}, "is there a loop?", true},
	{"an alias of itself", "me: me, me@x\n", {"me"}, "expanding me;", true},
	{"default naming an unknown local name loops",
	 "default: nobody\n",
	 {"bob"},
	 "expanding nobody",
	 true},
	{"a line without a colon",
	 "root: a@x\nbroken line\n",
	 {"root"},
	 "FILE:2: expected 'name: address, ...'",
	 true},
	{"two colons", "a: b: c\n", {"a"}, "FILE:1: expected 'name: address, ...'", true},
	{"a name with @",
	 "\n\na@x: b@y\n",
	 {"a"},
	 "FILE:3: invalid alias name 'a@x': it must be a local name without @",
	 true},
	{"an empty name", ": b@y\n", {"a"}, "FILE:1: invalid alias name ''", true},
	{"an alias defined twice",
	 "a: b@y\n# x\na: c@y\n",
	 {"a"},
	 "FILE:3: alias a is defined twice",
	 true},
	{"a bad line after the needed alias still fails", "a: b@y\nz\n", {"a"}, "FILE:2: ", true},
};

static char *
write_aliases(const char *text, size_t len)
{
	char *path = xasprintf("%s/aliases", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write_all(fd, text, len) < 0 || close(fd) < 0)
		bail("cannot write %s: %s", path, strerror(errno));
	return path;
}

/* want with "FILE" replaced by path. */
static char *
expected(const char *want, const char *path)
{
	const char *f = strstr(want, "FILE");

	if (f == NULL)
		return xstrdup(want);
	return xasprintf("%.*s%s%s", (int)(f - want), want, path, f + 4);
}

/* Whether l holds exactly the space-separated words. */
static bool
same_words(const struct strlist *l, const char *words)
{
	char *copy = xstrdup(words), *save = NULL;
	bool same = true;
	size_t n = 0;

	for (char *w = strtok_r(copy, " ", &save); w != NULL && same;
	     w = strtok_r(NULL, " ", &save))
		same = n < l->n && strcmp(l->v[n++], w) == 0;
	free(copy);
	return same && n == l->n;
}

/* Whether l still holds exactly the NULL-ended rcpts. */
static bool
unchanged(const struct strlist *l, const char *const *rcpts)
{
	size_t n = 0;

	while (n < MAX_RCPTS && rcpts[n] != NULL && n < l->n && strcmp(l->v[n], rcpts[n]) == 0)
		n++;
	return n == l->n && (n == MAX_RCPTS || rcpts[n] == NULL);
}

static void
test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *path = cases[i].file != NULL
				     ? write_aliases(cases[i].file, strlen(cases[i].file))
				     : xasprintf("%s/nonexistent", dir);
		char *want = expected(cases[i].want, path);
		struct strlist l;
		struct error e;
		int rc;

		strlist_init(&l);
		for (size_t k = 0; k < MAX_RCPTS && cases[i].rcpts[k] != NULL; k++)
			strlist_add(&l, cases[i].rcpts[k]);
		error_clear(&e);
		rc = conf_aliases_expand(path, &l, &e);
		if (cases[i].error) {
			ok(rc < 0 && e.status == ST_CONFIG && strstr(e.msg, want) != NULL,
			   "%s: refused: %s", cases[i].name, e.msg);
			ok(unchanged(&l, cases[i].rcpts),
			   "... the recipients are left as they were");
		} else {
			is_int(0, rc, "%s (%s)", cases[i].name, e.msg);
			ok(same_words(&l, want), "... gives %s", want);
		}
		free(want);
		free(path);
		strlist_free(&l);
	}
}

static void
test_files(void)
{
	static const char with_nul[] = "a: b@x\nc: d\0@x\n";
	char *path = write_aliases(with_nul, sizeof with_nul - 1);
	char *big_text = xmalloc(1024 * 1024 + 2);
	struct strlist l;
	struct error e;
	char *want;

	strlist_init(&l);
	strlist_add(&l, "a");
	want = xasprintf("%s:2: the line contains a NUL byte", path);
	ok(conf_aliases_expand(path, &l, &e) < 0 && strstr(e.msg, want) != NULL,
	   "a NUL byte is refused with its line: %s", e.msg);
	free(want);
	free(path);

	memset(big_text, '#', 1024 * 1024 + 1);
	big_text[0] = '\n';
	path = write_aliases(big_text, 1024 * 1024 + 1);
	ok(conf_aliases_expand(path, &l, &e) < 0 && strstr(e.msg, "larger than 1024 KiB") != NULL,
	   "a file over 1 MiB is refused: %s", e.msg);
	free(path);
	memcpy(big_text, "a: b@x\n", 7);
	path = write_aliases(big_text, 1024 * 1024 - 1);
	is_int(0, conf_aliases_expand(path, &l, &e), "a file just under 1 MiB is read (%s)", e.msg);
	is_string("b@x", l.n == 1 ? l.v[0] : NULL, "... and used");
	free(path);
	free(big_text);

	strlist_free(&l);
	strlist_init(&l);
	strlist_add(&l, "a");
	ok(conf_aliases_expand(dir, &l, &e) < 0 && strstr(e.msg, "cannot read aliases file") &&
		   strstr(e.msg, dir) != NULL,
	   "a directory cannot be read: %s", e.msg);
	path = xasprintf("%s/missing", dir);
	ok(conf_aliases_expand(path, &l, &e) < 0 && strstr(e.msg, "cannot open aliases file") &&
		   strstr(e.msg, path) != NULL,
	   "a missing file is an error naming it: %s", e.msg);
	free(path);
	strlist_free(&l);

	strlist_init(&l);
	path = xasprintf("%s/missing", dir);
	is_int(0, conf_aliases_expand(path, &l, &e), "no recipients at all: nothing to read");
	strlist_add(&l, "");
	is_int(0, conf_aliases_expand(path, &l, &e), "an empty recipient is not a local name");
	free(path);
	strlist_free(&l);
}

int
main(void)
{
	plan_lazy();
	dir = test_tmpdir("conf_aliases-t");
	test_cases();
	test_files();
	test_tmpdir_free(dir);
	return 0;
}
