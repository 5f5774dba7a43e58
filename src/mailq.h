/* mailq.h - listing the queue (mailq, -bp, --json) and editing it
 * (--remove, --hold, --release, --requeue).  Output goes to out; nothing is printed
 * here.  Functions return 0 or -1 with e set. */
#ifndef OUTBOX_MAILQ_H
#define OUTBOX_MAILQ_H

#include "cli.h"
#include "lib.h"
#include "status.h"

/* -bp, mailq: every message of msg/ and failed/ (--json: the versioned
 * object of doc/mailq-json.md). */
int mailq_list(const struct request *r, struct buf *out, struct error *e);

/* --remove, --hold, --release, --requeue, for each id given, in that
 * order; messages in failed/ too (all but --hold). */
int mailq_edit(const struct request *r, struct buf *out, struct error *e);

#endif
