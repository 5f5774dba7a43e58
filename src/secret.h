/* secret.h - where the password comes from (DESIGN.md 1.3).
 *
 * Sources in order: `password` in the file, `passwordeval`.  The password
 * is fetched only when AUTH needs it; the caller wipes it (free_secret). */
#ifndef OUTBOX_SECRET_H
#define OUTBOX_SECRET_H

#include "status.h"

struct secret_source {
	const char *account; /* for messages */
	const char *host;
	const char *user;
	const char *password;     /* `password`, or NULL */
	const char *passwordeval; /* `passwordeval`, or NULL */
};

/* Fills *out with a newly allocated password.  ST_ACCOUNT when no source
 * has one, naming the account and what to configure. */
int secret_get_password(const struct secret_source *src, char **out, struct error *e);

/* Runs cmd with /bin/sh, stdin from /dev/null, stderr passed through, and
 * returns its standard output (any length up to 1 MiB) without the
 * trailing newline.  A non-zero exit status is an error. */
int secret_eval(const char *cmd, char **out, struct error *e);

#endif
