/* admin.h - commands about an account rather than a message: --pretend,
 * --serverinfo, --store-password, --delete-password, --password-source and
 * --watch.  What they report goes to out; functions return 0 or -1 with e
 * set. */
#ifndef OUTBOX_ADMIN_H
#define OUTBOX_ADMIN_H

#include "cli.h"
#include "lib.h"
#include "status.h"

/* --pretend: the account that would be used, secrets masked. */
int admin_pretend(const struct request *r, struct buf *out, struct error *e);

/* --serverinfo: what the account's server offers. */
int admin_serverinfo(const struct request *r, struct buf *out, struct error *e);

/* --test [--send]: connects, does TLS and AUTH as a delivery would (and
 * sends a short message to the account's own address), then disconnects;
 * out has each step that worked, also when a later one fails. */
int admin_test(const struct request *r, struct buf *out, struct error *e);

/* --store-password, --delete-password: the account's keyring item. */
int admin_store_password(const struct request *r, struct buf *out, struct error *e);
int admin_delete_password(const struct request *r, struct buf *out, struct error *e);

/* --password-source: where the account's password would come from. */
int admin_password_source(const struct request *r, struct buf *out, struct error *e);

/* --authorize: signs in to the account's OAuth2 provider (the person at
 * the terminal opens a URL) and keeps the tokens in the keyring. */
int admin_authorize(const struct request *r, struct buf *out, struct error *e);

/* --watch: flush whenever the network comes up, until SIGTERM. */
int admin_watch(const struct request *r, struct error *e);

#endif
