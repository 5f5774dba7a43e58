/* setup.h - outbox --configure ADDRESS: from an email address to a
 * working account.  Finds the submission server (autoconfig.h), probes
 * it (TLS verified, EHLO, AUTH mechanisms), appends the account to the
 * user's configuration file (conf_append: a backup first, the user's
 * lines untouched), stores the password in the keyring or runs the
 * OAuth2 sign-in, and ends with the --test login. */
#ifndef OUTBOX_SETUP_H
#define OUTBOX_SETUP_H

#include "cli.h"
#include "lib.h"
#include "status.h"

/* How long each lookup and each probe may take. */
#define SETUP_TIMEOUT_MS 15000
/* The most standard input may hold when the password is piped in. */
#define SETUP_PASSWORD_MAX (64 * 1024)

/* --configure: what it found and did goes to out as it goes (the steps
 * that worked stay there after a failure). */
int setup_configure(const struct request *r, struct buf *out, struct error *e);

/* The OAuth2 provider whose servers host is one of: google under
 * gmail.com, googlemail.com, google.com; microsoft under office365.com,
 * outlook.com; NULL for others. */
const char *setup_oauth2_provider(const char *host);

#endif
