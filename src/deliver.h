/* deliver.h - delivering queued messages: one message over an SMTP
 * session with its per-recipient results recorded, what each failure
 * means (policy.c), failure notices, and the queue flush (-q) with one
 * connection per account.  Also the account-to-engine glue that the
 * submission code shares (SMTP parameters, password source, log line). */
#ifndef OUTBOX_DELIVER_H
#define OUTBOX_DELIVER_H

#include "conf.h"
#include "policy.h"
#include "queue.h"
#include "secret.h"
#include "smtp.h"

#include <stdbool.h>

/* The SMTP engine's parameters for an account (warns when certificate
 * checks are off). */
void deliver_smtp_params(struct account *a, int verbose, struct smtp_params *p);

/* Where the account's password may come from. */
void deliver_secret_source(const struct account *a, struct secret_source *src);

/* The account's own address: `from` unless it is a pattern, else
 * login@host.  Newly allocated. */
char *deliver_account_address(const struct account *a);
bool deliver_is_pattern(const char *from);

/* What the logs need from a header block: the addresses To and Cc show
 * (the others are Bcc and are never logged) and the Message-ID. */
struct header_info {
	struct strlist visible;
	char *msgid;
};
void header_info_read(const char *hdr, size_t hlen, struct header_info *h);
void header_info_free(struct header_info *h);

/* One attempt's log line (logfile, syslog) for the account. */
void deliver_log(const struct account *a, const struct smtp_params *p, const struct smtp_outcome *o,
		 const struct smtp_mail *m, const struct header_info *h,
		 const struct error *failure, const char *queue_id, const char *action);

/* Reports refused recipients on stderr. */
void deliver_report_recipients(const struct smtp_mail *m);

/* What a flush did, for the summary a person at a terminal gets. */
struct deliver_tally {
	unsigned tried, sent, failed;
	bool deferred; /* another flusher was running: it was asked for a pass */
};

/* How deliveries of this process go. */
struct deliver_ctx {
	struct queue *q;
	struct conf *conf;
	int verbose;     /* 1: the transcript; 2: each line with its time */
	bool foreground; /* a submitter waits for the result: stderr and exit status, no notices */
	int last_code;   /* the server's reply code in the last deliver_entry, 0: none */
	bool flush_bar;  /* a flush's progress bar is up: no bar per message */
	struct deliver_tally tally;
};

/* An account's connection, opened on first use and kept for its messages. */
struct deliver_slot {
	struct account *account;
	struct smtp_params params;
	struct smtp_session *session;
	bool open_failed; /* opening failed: its messages share the failure */
	struct smtp_outcome open_outcome;
	struct error open_error;
};

void deliver_slot_init(struct deliver_slot *slot, struct account *a, int verbose);
void deliver_slot_close(struct deliver_slot *slot);

/* One attempt at a message: the outgoing mail built once from an
 * envelope (its pending recipients only), and what the server said. */
struct attempt {
	struct smtp_mail mail;
	struct smtp_rcpt *rcpts;
	size_t *index; /* mail.rcpts[i] is the envelope's recipient index[i] */
	struct smtp_outcome outcome;
};

/* Builds the mail from env; the message is len bytes of fd from offset
 * (headers included, as in the queue; a caller with the headers apart sets
 * mail.headers and mail.size itself).  deliver_attempt_free() frees it. */
void deliver_attempt_init(struct attempt *a, const struct queue_envelope *env, int fd, off_t offset,
			  unsigned long long len);
void deliver_attempt_free(struct attempt *a);

/* Runs the transaction over the slot (opened on first use): reports the
 * recipients refused on stderr when foreground, warns when DSN was dropped.
 * Returns the engine's result; with no recipient left it is 0 at once. */
int deliver_attempt_run(struct deliver_slot *slot, struct attempt *a, bool foreground,
			struct error *e);

/* Delivers a loaded, locked entry through the slot, records the outcome in
 * the queue (state saved before anything is deleted; removed when done;
 * failed/ on permanent failure, with a notice when not in the
 * foreground) and returns what happened.  e holds the failure for every
 * action but ACT_DELIVERED. */
enum policy_action deliver_entry(struct deliver_ctx *c, struct deliver_slot *slot,
				 struct queue_entry *m, struct error *e);

/* What to do about a message held with e (one clause, newly allocated):
 * a password the server refused names the account, the user and where the
 * password comes from; anything else: fix it and run 'outbox -q'. */
char *deliver_held_advice(const struct deliver_ctx *c, const struct account *a,
			  const struct error *e);

/* Gives up on a locked entry: records code and reason (its detail, one
 * line, translated), moves it to failed/ (every recipient still pending
 * failed with the last reply, unless expired), and sends the sender a
 * failure notice when nobody waits for the answer. */
void deliver_give_up(struct deliver_ctx *c, struct deliver_slot *slot, struct queue_entry *m,
		     enum reason code, const char *reason, bool expired);

/* ---- the flush (flush.c) ---- */

/* Which messages a flush takes. */
struct flush_filter {
	const char *id_prefix;    /* -qI */
	const char *rcpt;         /* -qR: a substring of a recipient */
	const char *sender;       /* -qS: a substring of the sender */
	bool force;               /* -q: ignore backoff, retry held messages */
	const char *only_account; /* NULL: every account */
};

/* A flush: one flusher at a time (a second one pokes the trigger and
 * returns 0), passes until the trigger stops changing.  reuse may hold an
 * open slot whose account's messages go over its connection. */
int deliver_flush(struct deliver_ctx *c, const struct flush_filter *f, struct deliver_slot *reuse,
		  struct error *e);

/* The one line that sums up a flush (tally) and what the queue holds
 * now: "queue flushed: 3 sent, 1 waiting (next try 14:05), 1 held, 0
 * failed", or "nothing due: ..." when nothing was tried. */
void deliver_summary(struct deliver_ctx *c, struct buf *line);

/* Sends the account's other due messages over the slot's open session,
 * without the flusher lock (each message is locked on its own). */
void deliver_more_for_account(struct deliver_ctx *c, struct deliver_slot *slot);

#endif
