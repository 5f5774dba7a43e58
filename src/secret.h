/* secret.h - where the password comes from (DESIGN.md 1.3).
 *
 * Sources, in order: `password` in the file; `passwordeval`; the Secret
 * Service keyring through libsecret (attributes host, service=smtp, user,
 * looked up without matching the schema name so msmtp's items work, then
 * the GNOME network-password attributes server, protocol=smtp, user);
 * ~/.netrc (machine, login, password); a no-echo prompt on /dev/tty.
 * The password is fetched only when AUTH needs it; the caller wipes it
 * (free_secret).  libsecret is used in keyring.c only. */
#ifndef OUTBOX_SECRET_H
#define OUTBOX_SECRET_H

#include "lib.h"
#include "status.h"

#include <stdbool.h>

struct secret_source {
	const char *account; /* for messages */
	const char *host;    /* keyring and netrc lookups */
	const char *user;
	const char *password;     /* `password`, or NULL */
	const char *passwordeval; /* `passwordeval`, or NULL */
	const char *netrc;        /* the netrc file; NULL: ~/.netrc */
	bool prompt;              /* may ask on /dev/tty when nothing else has it */
};

/* Fills *out with a newly allocated password from the first source that
 * has one.  ST_ACCOUNT when none has, in one line naming the account, the
 * keyring attributes looked up and the command that stores the password
 * (also for: no D-Bus session, a locked keyring).  Never hangs: the
 * keyring lookup is bounded in time. */
int secret_get_password(const struct secret_source *src, char **out, struct error *e);

/* Says, in one line appended to out, where the password would come from,
 * without printing it ("keyring (host=..., service=smtp, user=...)",
 * "passwordeval command", "not found: ..."). */
int secret_describe(const struct secret_source *src, struct buf *out, struct error *e);

/* Stores password in the keyring under outbox's schema with the
 * attributes host, service=smtp, user; replaces an existing item. */
int secret_store(const char *host, const char *user, const char *password, struct error *e);

/* The secret of the keyring item with the attributes host, service and
 * user (any schema), newly allocated in *out; *out is NULL (and 0 is
 * returned) when there is no such item.  ST_ACCOUNT when the keyring
 * cannot be read (no D-Bus session, locked, no answer within 5 s), the
 * message naming the attributes. */
int secret_item_get(const char *host, const char *service, const char *user, char **out,
		    struct error *e);

/* Stores value as the item host, service, user under outbox's schema,
 * replacing the one there; label names it in the keyring's user interface
 * and in messages. */
int secret_item_put(const char *host, const char *service, const char *user, const char *label,
		    const char *value, struct error *e);

/* Deletes the keyring items for host and user (outbox's, msmtp's and the
 * GNOME network-password ones).  Nothing to delete is an ST_ACCOUNT error. */
int secret_delete(const char *host, const char *user, struct error *e);

/* Reads a new password: with no echo from /dev/tty when stdin is a
 * terminal (asked twice, must match), else one line from stdin. */
int secret_read_new(const char *prompt, char **out, struct error *e);

/* Runs cmd with /bin/sh, stdin from /dev/null, stderr passed through, and
 * returns its standard output (any length up to 1 MiB) without the
 * trailing newline.  A non-zero exit status is an error. */
int secret_eval(const char *cmd, char **out, struct error *e);

#endif
