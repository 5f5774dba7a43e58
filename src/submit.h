/* submit.h - sending: a message read from standard input (or one -bs
 * message) prepared, committed to the queue and delivered, and the queue
 * flush (-q).  The configuration comes through session.c.
 *
 * Functions return 0 or -1 with e set; the exit status is main's to pick. */
#ifndef OUTBOX_SUBMIT_H
#define OUTBOX_SUBMIT_H

#include "cli.h"
#include "lib.h"
#include "status.h"

/* Reads the message from in_fd and delivers it. */
int submit_deliver(const struct request *r, int in_fd, struct error *e);

/* -q: flush the queue now (filters from -qI, -qR, -qS). */
int submit_flush(const struct request *r, struct error *e);

/* -bs: an SMTP session on in_fd/out_fd whose messages are submitted like
 * stdin's (envelope_from and recipients from MAIL and RCPT, no -t); SIZE
 * is session_size_limit(). */
int submit_smtp_stdio(const struct request *r, int in_fd, int out_fd, struct error *e);

#endif
