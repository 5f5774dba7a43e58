/* secret.c - where the password comes from, in DESIGN.md 1.3's order:
 * the configured password, passwordeval, the Secret Service keyring
 * (keyring.c), ~/.netrc (netrc.c), a no-echo prompt on /dev/tty; and
 * describing that choice, and reading a new password to store.
 *
 * Untrusted input: the output of the user's passwordeval command (bounded
 * to 1 MiB) and lines typed on the terminal or stdin (bounded to 64 KiB).
 * Every buffer that held a password is wiped; passwords never go into argv,
 * a child's environment or a message. */
#include "config.h"

#include "secret.h"

#include "i18n.h"
#include "lib.h"
#include "secret_lookup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define TYPED_MAX (64 * 1024)

/* ------------------------------------------------------ passwordeval --- */

int
secret_eval(const char *cmd, char **out, struct error *e)
{
	struct buf b;
	int rc;

	buf_init(&b, COMMAND_OUTPUT_MAX);
	rc = command_output(cmd, "passwordeval", ST_ACCOUNT, &b, e);
	if (rc == 0 && b.len > 0 && memchr(b.data, '\0', b.len) != NULL)
		rc = error_set(e, ST_ACCOUNT, _("passwordeval printed a NUL byte"));
	if (rc == 0) {
		if (b.len > 0 && b.data[b.len - 1] == '\n')
			b.data[--b.len] = '\0';
		if (b.len > 0 && b.data[b.len - 1] == '\r')
			b.data[--b.len] = '\0';
		*out = xstrndup(b.data ? b.data : "", b.len);
	}
	buf_free(&b);
	return rc;
}

/* ------------------------------------------------------------- lookup --- */

static void
lookup_free(struct secret_lookup *lk)
{
	free_secret(lk->password);
	free(lk->keyring_why);
	free(lk->netrc_path);
	free(lk->netrc_why);
}

/* --------------------------------------------------------- terminal --- */

static volatile sig_atomic_t tty_caught;

static void
tty_catch(int sig)
{
	tty_caught = sig;
}

/* The signals that end a prompt: the echo is restored before they act. */
static const int tty_signals[] = {SIGINT, SIGHUP, SIGQUIT, SIGTERM};

#define TTY_SIGNALS (sizeof tty_signals / sizeof tty_signals[0])

/* Reads one line (up to LF or end of file) byte by byte, so nothing after
 * it is consumed; at most TYPED_MAX bytes; a trailing CR is dropped. */
static int
read_secret_line(int fd, char **out, struct error *e)
{
	struct buf b;
	bool too_long = false;
	char c = 0;

	buf_init(&b, TYPED_MAX);
	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR && tty_caught == 0)
			continue;
		if (n < 0) {
			buf_free(&b);
			if (tty_caught != 0)
				return error_set(e, ST_ACCOUNT, _("password entry interrupted"));
			return error_set(e, ST_IOERR, _("cannot read the password: %s"),
					 strerror(errno));
		}
		if (n == 0 || c == '\n')
			break;
		too_long |= buf_append(&b, &c, 1) < 0;
	}
	c = 0;
	if (too_long) {
		buf_free(&b);
		return error_set(e, ST_DATAERR, _("the password is longer than %d bytes"),
				 TYPED_MAX);
	}
	if (b.len > 0 && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	if (b.len == 0) {
		buf_free(&b);
		return error_set(e, ST_DATAERR, _("no password given (the line is empty)"));
	}
	*out = xstrndup(b.data, b.len);
	buf_free(&b);
	return 0;
}

/* Shows prompt on the terminal fd and reads a line with the echo off.  The
 * terminal settings and signal handlers are restored whatever happens; a
 * signal that arrived meanwhile is then raised again. */
static int
tty_read_secret(int fd, const char *prompt, char **out, struct error *e)
{
	struct termios saved, quiet;
	struct sigaction act, old[TTY_SIGNALS];
	int rc;

	*out = NULL;
	if (tcgetattr(fd, &saved) < 0)
		return error_set(e, ST_ACCOUNT, _("cannot use the terminal: %s"), strerror(errno));
	memset(&act, 0, sizeof act);
	act.sa_handler = tty_catch; /* no SA_RESTART: read() returns EINTR */
	sigemptyset(&act.sa_mask);
	tty_caught = 0;
	for (size_t i = 0; i < TTY_SIGNALS; i++)
		sigaction(tty_signals[i], &act, &old[i]);
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0 || write_all(fd, prompt, strlen(prompt)) < 0)
		rc = error_set(e, ST_ACCOUNT, _("cannot use the terminal: %s"), strerror(errno));
	else
		rc = read_secret_line(fd, out, e);
	if (write_all(fd, "\n", 1) < 0 && rc == 0)
		rc = error_set(e, ST_ACCOUNT, _("cannot use the terminal: %s"), strerror(errno));
	tcsetattr(fd, TCSAFLUSH, &saved);
	for (size_t i = 0; i < TTY_SIGNALS; i++)
		sigaction(tty_signals[i], &old[i], NULL);
	if (tty_caught != 0)
		raise(tty_caught);
	if (rc < 0 && *out != NULL) {
		free_secret(*out);
		*out = NULL;
	}
	return rc;
}

static int
open_tty(void)
{
	return open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
}

/* Asks on /dev/tty; 1 when there is no terminal to ask on. */
static int
prompt_password(const struct secret_source *src, char **out, struct error *e)
{
	int fd = open_tty();
	char *prompt;
	int rc;

	if (fd < 0)
		return 1;
	prompt = xasprintf(_("Password for %s at %s (account %s): "), src->user, src->host,
			   src->account != NULL ? src->account : "default");
	rc = tty_read_secret(fd, prompt, out, e);
	free(prompt);
	close(fd);
	return rc;
}

int
secret_read_new(const char *prompt, char **out, struct error *e)
{
	char *again = NULL;
	int fd, rc;

	*out = NULL;
	if (!isatty(STDIN_FILENO))
		return read_secret_line(STDIN_FILENO, out, e);
	fd = open_tty();
	if (fd < 0)
		return error_set(e, ST_IOERR, _("cannot open /dev/tty: %s"), strerror(errno));
	rc = tty_read_secret(fd, prompt, out, e);
	if (rc == 0)
		rc = tty_read_secret(fd, _("Retype the password: "), &again, e);
	close(fd);
	if (rc == 0 && strcmp(*out, again) != 0)
		rc = error_set(e, ST_DATAERR, _("the two passwords differ; nothing was stored"));
	free_secret(again);
	if (rc < 0) {
		free_secret(*out);
		*out = NULL;
	}
	return rc;
}

/* ------------------------------------------------------------- order --- */

static bool
has_text(const char *s)
{
	return s != NULL && *s != '\0';
}

/* Finds the first source that has the password, in DESIGN.md 1.3's order.
 * With fetch, the password is fetched (passwordeval runs, the prompt
 * asks); without, only where it would come from is worked out.  A source
 * that cannot answer (no D-Bus, a locked keyring, an unsafe netrc) lets
 * the later ones try: its reason is kept for the final error. */
static int
lookup_password(const struct secret_source *src, bool fetch, struct secret_lookup *lk,
		struct error *e)
{
	int rc;

	memset(lk, 0, sizeof *lk);
	if (src->password != NULL) {
		lk->origin = FROM_CONFIG;
		if (fetch)
			lk->password = xstrdup(src->password);
		return 0;
	}
	if (src->passwordeval != NULL) {
		lk->origin = FROM_EVAL;
		return fetch ? secret_eval(src->passwordeval, &lk->password, e) : 0;
	}
	if (has_text(src->host) && has_text(src->user)) {
		keyring_lookup(src, fetch, lk);
		if (lk->origin == FROM_NONE)
			netrc_lookup(src, fetch, lk);
		if (lk->origin != FROM_NONE)
			return 0;
	}
	if (!src->prompt)
		return 0;
	if (!fetch) {
		int fd = open_tty();

		if (fd >= 0) {
			lk->origin = FROM_PROMPT;
			close(fd);
		}
		return 0;
	}
	rc = prompt_password(src, &lk->password, e);
	if (rc == 0)
		lk->origin = FROM_PROMPT;
	return rc < 0 ? -1 : 0;
}

/* Why no source had the password: the keyring's reason, the netrc's. */
static void
explain_missing(const struct secret_source *src, const struct secret_lookup *lk, struct buf *b)
{
	keyring_explain(b, lk->keyring, lk->keyring_why, KEYRING_LOOKUP_MS / 1000,
			src->host ? src->host : "", src->user ? src->user : "");
	if (lk->netrc_why != NULL)
		buf_printf(b, "; %s: %s", lk->netrc_path, lk->netrc_why);
}

static const char *
account_name(const struct secret_source *src)
{
	return src->account != NULL ? src->account : "default";
}

int
secret_get_password(const struct secret_source *src, char **out, struct error *e)
{
	struct secret_lookup lk;
	struct buf why;

	*out = NULL;
	if (lookup_password(src, true, &lk, e) < 0) {
		lookup_free(&lk);
		return -1;
	}
	if (lk.origin != FROM_NONE) {
		*out = lk.password;
		lk.password = NULL;
		lookup_free(&lk);
		return 0;
	}
	buf_init(&why, ERROR_MSG_MAX);
	explain_missing(src, &lk, &why);
	error_set(e, ST_ACCOUNT,
		  _("account %s: no password for user %s at %s: %s; store it with: outbox -a %s "
		    "--store-password (or: secret-tool store --label=outbox host %s service smtp "
		    "user %s), or set password or passwordeval in the account"),
		  account_name(src), src->user ? src->user : "", src->host ? src->host : "",
		  why.data != NULL ? why.data : "", account_name(src), src->host ? src->host : "",
		  src->user ? src->user : "");
	buf_free(&why);
	lookup_free(&lk);
	return -1;
}

int
secret_describe(const struct secret_source *src, struct buf *out, struct error *e)
{
	struct secret_lookup lk;
	int rc = 0;

	if (lookup_password(src, false, &lk, e) < 0) {
		lookup_free(&lk);
		return -1;
	}
	switch (lk.origin) {
	case FROM_CONFIG:
		rc = buf_puts(out, _("password: from the configuration file"));
		break;
	case FROM_EVAL:
		rc = buf_puts(out, _("password: from passwordeval (the command runs when needed)"));
		break;
	case FROM_KEYRING:
		rc = buf_printf(out, _("password: keyring item host=%s service=smtp user=%s"),
				src->host, src->user);
		break;
	case FROM_KEYRING_NETWORK:
		rc = buf_printf(out,
				_("password: keyring (GNOME network-password) server=%s "
				  "protocol=smtp user=%s"),
				src->host, src->user);
		break;
	case FROM_NETRC:
		if (lk.netrc_kind == NETRC_LOGIN)
			rc = buf_printf(out, _("password: %s machine %s login %s"), lk.netrc_path,
					src->host, src->user);
		else if (lk.netrc_kind == NETRC_MACHINE)
			rc = buf_printf(out, _("password: %s machine %s"), lk.netrc_path,
					src->host);
		else
			rc = buf_printf(out, _("password: %s default entry"), lk.netrc_path);
		break;
	case FROM_PROMPT:
		rc = buf_printf(out,
				_("password: asked on the terminal when needed (nothing stored; "
				  "store it with: outbox -a %s --store-password)"),
				account_name(src));
		break;
	case FROM_NONE:
		rc = buf_puts(out, _("password: not found: "));
		explain_missing(src, &lk, out);
		if (rc == 0)
			rc = buf_printf(out, _("; store it with: outbox -a %s --store-password"),
					account_name(src));
		break;
	}
	if (rc == 0)
		rc = buf_puts(out, "\n");
	lookup_free(&lk);
	if (rc < 0)
		return error_set(e, ST_SOFTWARE, _("the password description is too long"));
	return 0;
}
