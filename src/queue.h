/* queue.h - the crash-safe local queue (DESIGN.md 2).
 *
 * Layout under the queue directory (0700, owned by the user):
 *   tmp/     messages being written (O_EXCL, 0600, flock held by the writer)
 *   msg/     committed messages, one self-describing file each
 *   state/   per-message delivery state, rewritten atomically
 *   failed/  messages given up on, with their state
 *   lock     flock()ed by the one running flusher
 *   trigger  touched to ask for a flush (a systemd path unit watches it)
 *   again    touched by a second flusher to ask the running one for a pass
 *
 * Outside it, RUNSTATEDIR/outbox/UID (created by tmpfiles.d, 1733 root) is
 * this user's queue marker: present while the queue may hold mail, so the
 * network hook (src/hooks/outbox-hook.in) knows whose queues to flush
 * without looking into every home directory.
 *
 * A message file is: envelope lines ("key value"), an empty line, the
 * message bytes exactly as they will be sent (headers already rewritten),
 * and a trailer line "outbox-trailer <length> <sha256 hex>\n": length is
 * that of the message bytes, the hash covers everything before the trailer
 * (envelope, blank line, message), so a damaged recipient list is caught
 * as surely as a damaged body.  A file whose trailer is missing or wrong
 * is set aside in failed/ and reported, never sent.  Locks are flock()s
 * on open files, so a killed process never leaves a stale lock.  Nothing
 * here talks to the network. */
#ifndef OUTBOX_QUEUE_H
#define OUTBOX_QUEUE_H

#include "lib.h"
#include "status.h"

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

struct queue {
	char *dir;
	int dirfd;
	int lock_fd;            /* the flusher lock, or -1 */
	const char *marker_dir; /* RUNSTATEDIR "/outbox"; tests point it elsewhere */
};

/* $XDG_STATE_HOME/outbox/queue, else ~/.local/state/outbox/queue, with
 * HOME from the password database when unset (cron).  Newly allocated;
 * NULL when there is no home directory at all (never a /tmp fallback). */
char *queue_default_dir(void);

/* Creates the layout when missing and checks it: the directory and each
 * of tmp/ msg/ state/ failed/ (real directories, not symbolic links) must
 * be owned by the user and not group/world-writable (ST_CANTCREAT naming
 * the directory and the chmod/chown to run). */
int queue_open(struct queue *q, const char *dir, struct error *e);
void queue_close(struct queue *q);

enum rcpt_status { QRCPT_PENDING = 0, QRCPT_DELIVERED, QRCPT_FAILED };

struct queue_rcpt {
	char *addr; /* wire form */
	enum rcpt_status status;
	char *reply; /* the server's last words about it, or NULL */
};

struct queue_envelope {
	char *account; /* account name at submission */
	char *from;    /* wire form, "" for the null sender */
	struct queue_rcpt *rcpts;
	size_t nrcpts;
	char *dsn_notify, *dsn_return, *dsn_envid; /* NULL when unset */
	bool eightbit;
	bool smtputf8;
	char *msgid; /* Message-ID header value, or NULL */
	time_t created;
};

struct queue_state {
	unsigned attempts;
	time_t first_attempt; /* 0: never tried */
	time_t first_contact; /* first attempt that reached the server; expiry counts from here */
	time_t last_attempt;
	time_t next_attempt; /* not due before (0: due now) */
	bool held;           /* account/config trouble: wait for -q after a fix */
	bool frozen;         /* held with --hold: no flush sends it until --release */
	bool uncertain;      /* a connection was lost after the final dot */
	enum reason code;    /* why held / last error, as a fixed code (REASON_NONE
				in files of older versions) */
	char *reason;        /* its detail, one line, in reason_lang, or NULL */
	char *reason_lang;   /* reason_language() of the writer, or NULL */
	char *last_reply;    /* last server reply, or NULL */
};

/* Records why: the code, and a detail (NULL for none) in the language in
 * use, tagged with it. */
void queue_reason_set(struct queue_state *st, enum reason code, const char *detail);

/* One queued message, loaded (and possibly locked) by this process. */
struct queue_entry {
	char *id;
	int fd;            /* the msg/ file (read-only when loaded, read-write
			      after queue_commit); -1 in a listing */
	bool locked;       /* flock LOCK_EX held on fd */
	off_t data_offset; /* where the message bytes start in fd */
	unsigned long long data_len;
	struct queue_envelope env;
	struct queue_state st; /* per-recipient status lives in env.rcpts */
};

/* Commits a message: writes tmp/ID (envelope, headers, the body read from
 * body_fd at body_offset to EOF, trailer), fsyncs it, renames it into
 * msg/ and fsyncs the directory: one fsync of the file, one of the
 * directory.  On success *out is the committed entry, still locked by
 * this process, with a fresh state (all recipients pending).  The fresh
 * state is not written: a missing state file means exactly that.  Values
 * with CR/LF, over 4000 bytes, a NULL from or no recipient: ST_SOFTWARE.
 * Disk full: ST_LOCAL_TEMP, and nothing is left behind. */
int queue_commit(struct queue *q, const struct queue_envelope *env, const char *headers,
		 size_t headers_len, int body_fd, off_t body_offset, struct queue_entry *out,
		 struct error *e);

/* seconds (10 hex digits), microseconds (5), random (8): sortable by time */
#define QUEUE_ID_LEN 23

/* The ids of msg/ or failed/, handed out oldest first.  They are kept
 * packed, two hex digits a byte, and at most QUEUE_IDS_RUN of them in
 * memory: a bigger directory is read in sorted runs that go to an unnamed
 * temporary file in tmp/ and are merged as the ids are handed out, so a
 * listing or a flush of a big queue needs no more memory than of a small
 * one.  (Where tmp/ cannot hold such a file, the runs stay in memory.) */
#define QUEUE_KEY_LEN ((QUEUE_ID_LEN + 1) / 2)
#define QUEUE_IDS_RUN 8192
struct queue_id_run;
struct queue_ids {
	size_t n;                          /* how many in all */
	size_t next;                       /* how many handed out */
	unsigned char (*v)[QUEUE_KEY_LEN]; /* in memory: all, or the run being read */
	size_t held, cap;
	int fd; /* the runs, or -1 */
	struct queue_id_run *runs;
	size_t nruns;
	size_t *heap; /* runs not yet read out, the one with the smallest id first */
	size_t nheap;
	const char *dir, *sub; /* for errors: the queue's, and msg or failed */
};

/* Lists the ids in msg/. */
int queue_ids(struct queue *q, struct queue_ids *ids, struct error *e);
/* The next id into id: 1, 0 when all have been handed out, -1 with e
 * set when the temporary file cannot be read. */
int queue_ids_next(struct queue_ids *ids, char id[QUEUE_ID_LEN + 1], struct error *e);
void queue_ids_free(struct queue_ids *ids);

/* Whether msg/ holds a message: 1 or 0 (it stops at the first), -1 with
 * e set when it cannot be read. */
int queue_has_messages(struct queue *q, struct error *e);

/* Loads msg/ID and its state.  lock: take LOCK_EX|LOCK_NB first; returns
 * 1 (nothing loaded) when another process holds it or the message has
 * gone meanwhile.  A file that fails its trailer or cannot be parsed, whose
 * envelope would not pass the command line's checks (account, from, rcpt,
 * DSN values), or whose state file cannot be parsed, is moved to failed/
 * (ST_DATAERR error naming it; without lock, only when no process holds
 * it).  msg/ID that is not a regular file of the user's is never opened:
 * it is moved to failed/ID.unsafe-KIND (ST_DATAERR).  A missing state file
 * is a fresh state.  state/ID that is not a regular file of the user's:
 * the message is frozen (as --hold) with a fresh state, since what was
 * delivered is unknown; with lock the entry is moved to
 * failed/ID.unsafe-KIND, the frozen state written and -1 returned with
 * ST_DATAERR saying so (the next load finds it frozen).  An id that is not
 * one: ST_USAGE.  Returns 0 when loaded. */
int queue_load(struct queue *q, const char *id, bool lock, struct queue_entry *out,
	       struct error *e);

/* True when a flush can pass msg/ID over at now without loading it: its
 * state file says it is frozen, or (unless force) held or not due yet.
 * Only the state file is read, so a queue of messages that wait costs a
 * flush little; no state file, or one that cannot be read, is no reason
 * to pass it over (queue_load() deals with it). */
bool queue_not_due(struct queue *q, const char *id, time_t now, bool force);

/* Writes the entry's state and per-recipient status (state/ID), atomically
 * (tmp + fsync + rename + fsync of state/), before anything else is
 * deleted.  Replies and reasons are stored on one line (CR/LF become
 * spaces) and cut at 1000 bytes.  The entry must be locked. */
int queue_save_state(struct queue *q, const struct queue_entry *m, struct error *e);

/* The message is done: removes msg/ID (durably: msg/ is fsynced), then
 * state/ID.  The entry must be locked. */
int queue_remove(struct queue *q, struct queue_entry *m, struct error *e);

/* Gives up: records reason (the detail of the code already in m->st; held
 * is cleared) in failed/ID.state, moves
 * msg/ID to failed/ID and removes state/ID.  The entry must be locked. */
int queue_set_aside(struct queue *q, struct queue_entry *m, const char *reason, struct error *e);

/* Loads failed/ID and failed/ID.state, locked, as queue_load() does msg/
 * (1 when it is not there or another process holds it).  A damaged entry
 * is not loaded: ST_DATAERR naming the files, nothing moved. */
int queue_load_failed(struct queue *q, const char *id, struct queue_entry *out, struct error *e);

/* Deletes a locked entry of failed/: the message, its state and its kept
 * failure notice. */
int queue_remove_failed(struct queue *q, struct queue_entry *m, struct error *e);

/* Puts a locked entry of failed/ back into msg/ with m's state: state/ID
 * is written first (a crash leaves the message in failed/), then the
 * message moves, then failed/ID.state and failed/ID.notice go. */
int queue_requeue(struct queue *q, struct queue_entry *m, struct error *e);

/* Releases the lock, closes and frees. */
void queue_entry_free(struct queue_entry *m);

/* Copies the message bytes (data_offset, data_len) to out_fd or hands them
 * to a reader: the SMTP engine reads them with pread(fd, ..., data_offset+i). */

/* The flusher lock: 0 when this process got it, 1 when another flusher
 * holds it, -1 on error.  Held until queue_close(). */
int queue_lock_flusher(struct queue *q, struct error *e);

/* Touches `trigger` (asks the running flusher, or a systemd path unit,
 * for another pass): opens it for writing (IN_CLOSE_WRITE) and sets its
 * mtime to now, or 1 ns past the old mtime when the clock has not moved,
 * so every poke changes it.  queue_trigger_time() is that mtime ({0, 0}
 * when missing): a flusher compares the value before and after a pass. */
void queue_poke(struct queue *q);
struct timespec queue_trigger_time(struct queue *q);

/* Creates (waiting) or removes this user's queue marker, marker_dir/UID.
 * A missing marker_dir (nothing created it), or a name another user took,
 * is no error: the marker only speeds up the flush on network-up. */
void queue_mark(struct queue *q, bool waiting);

/* Touches `again`: a second flusher asks the running one for another pass
 * (not `trigger`, which would make the path unit start yet another). */
void queue_ask_again(struct queue *q);
struct timespec queue_again_time(struct queue *q);

/* Removes tmp/ files that no process holds a lock on (a writer killed
 * before commit), and state/ files without a message.  Entries of tmp/
 * that are not regular files of the user's, and directories in state/
 * without a message, are moved to failed/NAME.unsafe-KIND; one line
 * about each is added to notes. */
void queue_sweep(struct queue *q, struct strlist *notes);

/* One entry of a listing: loaded but not locked (fd -1).  A damaged
 * file, or an entry that is not a regular file of the user's, is listed
 * as damaged (env empty, st.reason saying why), not moved. */
struct queue_listed {
	struct queue_entry *m;
	bool failed;            /* in failed/ */
	bool damaged;           /* failed its checks */
	const struct buf *head; /* the first bytes of the message (at most
				   QUEUE_HEAD_MAX: its headers, for the
				   Subject), empty when damaged */
};
#define QUEUE_HEAD_MAX (16 * 1024)

/* Hands every entry of msg/ and failed/ to fn in turn (msg/ first, each
 * part oldest first), loading one at a time: only the ids of one part are
 * kept in memory.  fn may take over what the entry owns (leaving it
 * empty); it returns 0, or -1 with e set to stop the listing.  0, or -1. */
typedef int (*queue_list_fn)(void *ctx, struct queue_listed *l, struct error *e);
int queue_list(struct queue *q, queue_list_fn fn, void *ctx, struct error *e);

#endif
