/* netrc.c - ~/.netrc as a password source: the file's syntax (GNU
 * inetutils and curl: tokens, quoted tokens, macdef bodies, comments) and
 * the lookup of a host and a user in it.
 *
 * Untrusted input: the netrc file, which may be anyone's and anything
 * until checked: it is opened without blocking on a FIFO, read only when
 * it is a regular file, bounded to 1 MiB, and its password used only when
 * the file is the user's own and private.  The buffers that held it are
 * wiped. */
#include "config.h"

#include "netrc.h"

#include "i18n.h"
#include "secret_lookup.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define NETRC_MAX (1024 * 1024)

/* The netrc syntax of GNU inetutils and curl: whitespace-separated tokens;
 * a double-quoted token may hold blanks, with a backslash escaping the next
 * byte; "macdef NAME" is followed by a macro body that ends at an empty
 * line; a '#' where a keyword is expected starts a comment up to the end
 * of the line.  Tokens are cut out of the file's buffer in place. */
struct netrc_scan {
	char *p;
	char *end;
	bool line_ended; /* the last token's separator was a newline */
};

static char *
netrc_token(struct netrc_scan *s)
{
	char *tok, *w;

	while (s->p < s->end && isspace((unsigned char)*s->p))
		s->p++;
	if (s->p == s->end)
		return NULL;
	tok = w = s->p;
	s->line_ended = false;
	if (*s->p == '"') {
		for (s->p++; s->p < s->end && *s->p != '"'; s->p++) {
			if (*s->p == '\\' && s->p + 1 < s->end)
				s->p++;
			*w++ = *s->p;
		}
		if (s->p < s->end)
			s->p++;
	} else {
		while (s->p < s->end && !isspace((unsigned char)*s->p))
			*w++ = *s->p++;
		if (s->p < s->end)
			s->line_ended = *s->p++ == '\n';
	}
	*w = '\0';
	return tok;
}

static void
netrc_skip_line(struct netrc_scan *s)
{
	char *nl = memchr(s->p, '\n', (size_t)(s->end - s->p));

	s->p = nl != NULL ? nl + 1 : s->end;
}

/* A macro body ends at the first empty line. */
static void
netrc_skip_macro(struct netrc_scan *s)
{
	if (!s->line_ended)
		netrc_skip_line(s);
	while (s->p < s->end && *s->p != '\n')
		netrc_skip_line(s);
	if (s->p < s->end)
		s->p++;
}

enum netrc_keyword { NK_MACHINE, NK_DEFAULT, NK_LOGIN, NK_PASSWORD, NK_ACCOUNT, NK_MACDEF };

static const struct {
	const char *name;
	enum netrc_keyword kw;
} netrc_keywords[] = {
	{"machine", NK_MACHINE},   {"default", NK_DEFAULT}, {"login", NK_LOGIN},
	{"password", NK_PASSWORD}, {"account", NK_ACCOUNT}, {"macdef", NK_MACDEF},
};

/* machine == host (case-insensitively, as host names are), and login ==
 * user when the entry names a login. */
static bool
netrc_matches(const struct netrc_entry *en, const char *host, const char *user)
{
	if (!en->started || en->password == NULL)
		return false;
	if (en->login != NULL && strcmp(en->login, user) != 0)
		return false;
	return en->machine == NULL || strcasecmp(en->machine, host) == 0;
}

bool
netrc_find(char *text, size_t len, const char *host, const char *user, struct netrc_entry *found)
{
	struct netrc_scan s = {text, text + len, false};
	struct netrc_entry cur = {0}, fallback = {0};
	char *tok;

	while ((tok = netrc_token(&s)) != NULL) {
		size_t i;
		char *value;

		if (*tok == '#') {
			if (!s.line_ended)
				netrc_skip_line(&s);
			continue;
		}
		for (i = 0; i < sizeof netrc_keywords / sizeof netrc_keywords[0]; i++)
			if (strcmp(tok, netrc_keywords[i].name) == 0)
				break;
		if (i == sizeof netrc_keywords / sizeof netrc_keywords[0])
			continue;
		if (netrc_keywords[i].kw == NK_MACHINE || netrc_keywords[i].kw == NK_DEFAULT) {
			if (netrc_matches(&cur, host, user)) {
				if (cur.machine != NULL)
					break;
				if (fallback.password == NULL)
					fallback = cur;
			}
			cur = (struct netrc_entry){.started = true};
			if (netrc_keywords[i].kw == NK_DEFAULT)
				continue;
		}
		if ((value = netrc_token(&s)) == NULL)
			break;
		switch (netrc_keywords[i].kw) {
		case NK_MACHINE:
			cur.machine = value;
			break;
		case NK_LOGIN:
			cur.login = value;
			break;
		case NK_PASSWORD:
			cur.password = value;
			break;
		case NK_MACDEF:
			netrc_skip_macro(&s);
			break;
		case NK_ACCOUNT:
		case NK_DEFAULT:
			break;
		}
	}
	if (netrc_matches(&cur, host, user) && (cur.machine != NULL || fallback.password == NULL))
		*found = cur;
	else if (fallback.password != NULL)
		*found = fallback;
	else
		return false;
	return true;
}

static char *
netrc_default_path(void)
{
	const char *home = getenv("HOME");

	if (home == NULL || *home == '\0') {
		struct passwd *pw = getpwuid(getuid());

		if (pw == NULL)
			return NULL;
		home = pw->pw_dir;
	}
	return xasprintf("%s/.netrc", home);
}

/* Reads the whole file into b; the reason in *why when it cannot. */
static int
netrc_read(int fd, struct buf *b, char **why)
{
	if (read_to_eof(fd, b, true) == 0)
		return 0;
	if (errno == EFBIG)
		*why = xasprintf(_("larger than %d bytes, ignored"), NETRC_MAX);
	else
		*why = xasprintf(_("cannot read it: %s"), strerror(errno));
	return -1;
}

/* Like ftp(1), a netrc that holds the password is used only when it is
 * the user's own and nobody else may read or change it: a password others
 * can read is already compromised, and one they can write could be theirs.
 * Refusing (and saying why in the final error) is the safe choice. */
void
netrc_lookup(const struct secret_source *src, bool fetch, struct secret_lookup *lk)
{
	struct netrc_entry en;
	struct stat st;
	struct buf b;
	int fd;

	lk->netrc_path = src->netrc != NULL ? xstrdup(src->netrc) : netrc_default_path();
	if (lk->netrc_path == NULL)
		return;
	fd = open_for_reading(lk->netrc_path);
	if (fd < 0) {
		if (errno != ENOENT)
			lk->netrc_why = xasprintf(_("cannot open it: %s"), strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		lk->netrc_why = xstrdup(_("not a regular file, ignored"));
		close(fd);
		return;
	}
	buf_init(&b, NETRC_MAX);
	if (netrc_read(fd, &b, &lk->netrc_why) == 0 && b.data != NULL &&
	    netrc_find(b.data, b.len, src->host, src->user, &en)) {
		if (st.st_uid != geteuid() || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
			lk->netrc_why = xasprintf(_("not used: other users can read or change it "
						    "(mode %03o, owner %ld); run: chmod 600 %s"),
						  (unsigned)(st.st_mode & 0777), (long)st.st_uid,
						  lk->netrc_path);
		} else {
			lk->origin = FROM_NETRC;
			lk->netrc_kind = en.machine == NULL ? NETRC_DEFAULT
					 : en.login == NULL ? NETRC_MACHINE
							    : NETRC_LOGIN;
			if (fetch)
				lk->password = xstrdup(en.password);
		}
	}
	buf_free(&b);
	close(fd);
}
