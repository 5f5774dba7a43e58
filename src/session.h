/* session.h - one invocation's configuration: the one place that loads the
 * configuration files, picks the account, applies the command line's
 * keyword settings, and says which of those settings a message may use.
 * Every command (a submission, -bs, -q, mailq, the keyring commands...)
 * goes through it.
 *
 * Functions return 0 or -1 with e set; nothing here exits, and the only
 * thing said is the configuration's warnings (session_open()). */
#ifndef OUTBOX_SESSION_H
#define OUTBOX_SESSION_H

#include "cli.h"
#include "conf.h"
#include "lib.h"
#include "queue.h"
#include "status.h"

/* The default of max_message_size, and the limit while no account is
 * picked yet (the From: header picks it). */
#define SESSION_MESSAGE_MAX (50ULL * 1024 * 1024)

struct session {
	const struct request *r;
	struct conf *conf;
	struct account *account; /* NULL until session_pick_account() */
};

/* Loads the configuration files (none with --host: the command line is
 * the account) and says their warnings (obsolete msmtp keywords) on
 * stderr, once per process and only to a person: stderr is a terminal,
 * or -v or --pretend was given.  session_close() frees what it made,
 * also after a failure. */
int session_open(struct session *s, const struct request *r, struct error *e);
void session_close(struct session *s);

/* Picks the account (-a; else the one whose from matches envelope_from;
 * else the default), applies the command line's keyword settings to it
 * and checks it.  With --host the account is the command line's. */
int session_pick_account(struct session *s, const char *envelope_from, struct error *e);

/* The first command-line setting that changes where or how mail travels
 * (--host, --port, --tls-certcheck...), named as its option without the
 * leading dashes ("tls-certcheck"), or NULL.  Such settings belong to
 * one submission: its message is sent at once and never queued, so that no
 * retry and no other message ever travels over a connection that only this
 * command line vouched for (DESIGN.md 2, step 6). */
const char *session_one_off(const struct request *r);

/* ST_USAGE when the command line has such a setting: for the commands
 * that send or touch queued messages (-q, mailq, --watch...). */
int session_refuse_one_off(const struct request *r, struct error *e);

/* What an account may hold but outbox cannot honour (protocol lmtp):
 * ST_CONFIG, refusing rather than connecting some other way than the user
 * asked. */
int session_check_supported(const struct account *a, struct error *e);

/* Opens the queue of the account (its queue_dir; a NULL account or none
 * set: the default directory). */
int session_open_queue(const struct account *a, struct queue *q, struct error *e);

/* For the queue commands: refuses one-off settings, loads the
 * configuration, takes the account -a names (an error if it does not
 * exist) or the default account if there is one, and opens its queue. */
int session_open_for_queue(struct session *s, const struct request *r, struct queue *q,
			   struct error *e);

/* Which configuration files were read (for -v and --pretend). */
void session_describe_files(const struct session *s, struct buf *out);

/* For --version: the configuration files outbox would read ("none
 * found" when there are none) and the queue directory of the account -a
 * names or the default one.  Never fails: what cannot be read is said. */
void session_describe_setup(const struct request *r, struct buf *out);

/* -bs: the max_message_size of the account -a (or the default) selects,
 * with the command line's --max-message-size; SESSION_MESSAGE_MAX when
 * there is no such account. */
unsigned long long session_size_limit(const struct request *r);

#endif
