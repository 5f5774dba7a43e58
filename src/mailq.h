/* mailq.h - listing the queue (mailq, -bp, --json) and editing it
 * (--remove, --hold, --release, --requeue).  Output goes to out; nothing is printed
 * here.  Functions return 0 or -1 with e set. */
#ifndef OUTBOX_MAILQ_H
#define OUTBOX_MAILQ_H

#include "cli.h"
#include "lib.h"
#include "status.h"

/* -bp, mailq: every message of msg/ and failed/ (--json: the versioned
 * object of doc/mailq-json.md), formatted one at a time into out, which
 * is handed to drain (to be written and emptied; -1 with e set stops the
 * listing) whenever it holds 64 KiB: memory stays flat however long the
 * queue.  The rest is left in out. */
int mailq_list(const struct request *r, struct buf *out,
	       int (*drain)(struct buf *out, struct error *e), struct error *e);

/* --remove, --hold, --release, --requeue, for each id given, in that
 * order; messages in failed/ too (all but --hold). */
int mailq_edit(const struct request *r, struct buf *out, struct error *e);

#endif
