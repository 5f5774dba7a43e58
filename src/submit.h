/* submit.h - the orchestration of one invocation: configuration and
 * account, the message read from stdin, the envelope, the SMTP session,
 * and what is reported and logged.
 *
 * Functions return 0 or -1 with e set; the exit status is main's to pick. */
#ifndef OUTBOX_SUBMIT_H
#define OUTBOX_SUBMIT_H

#include "cli.h"
#include "lib.h"
#include "status.h"

/* Reads the message from in_fd and delivers it. */
int submit_deliver(const struct request *r, int in_fd, struct error *e);

/* --pretend: the account that would be used, secrets masked. */
int submit_pretend(const struct request *r, struct buf *out, struct error *e);

/* --store-password, --delete-password: the account's keyring item. */
int submit_store_password(const struct request *r, struct buf *out, struct error *e);
int submit_delete_password(const struct request *r, struct buf *out, struct error *e);

/* --password-source: where the account's password would come from. */
int submit_password_source(const struct request *r, struct buf *out, struct error *e);

/* -q: flush the queue now (filters from -qI, -qR, -qS). */
int submit_flush(const struct request *r, struct error *e);

/* -bp, mailq: list the queue (--json: as a JSON array). */
int submit_list(const struct request *r, struct buf *out, struct error *e);

/* --remove, --hold, --release. */
int submit_queue_edit(const struct request *r, struct buf *out, struct error *e);

/* --watch: flush whenever the network comes up, until SIGTERM. */
int submit_watch(const struct request *r, struct error *e);

/* --serverinfo: what the account's server offers. */
int submit_serverinfo(const struct request *r, struct buf *out, struct error *e);

#endif
