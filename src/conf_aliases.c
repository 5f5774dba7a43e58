/* conf_aliases.c - msmtp's aliases files: "name: address, address"
 * lines that replace local recipients (no '@'), "default" for the names
 * that have no alias of their own, aliases of aliases.
 *
 * Untrusted input: the aliases file (up to ALIASES_FILE_MAX; NUL bytes
 * refused) and the recipients; expansion stops at ALIASES_DEPTH_MAX
 * levels, so a loop ends in an error.
 */
#include "config.h"

#include "conf.h"

#include "i18n.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALIASES_FILE_MAX (1024 * 1024)
#define ALIASES_DEPTH_MAX 16

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
	if (read_to_eof(fd, &text, true) < 0)
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
