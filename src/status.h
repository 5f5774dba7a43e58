/* status.h - failure classes and the one mapping to sysexits(3) exit codes.
 *
 * Every module reports trouble as a struct error: a class (what the failure
 * means for the message) and a one-line, already translated message.  Only
 * main turns a class into an exit status, through status_exit_code().
 */
#ifndef OUTBOX_STATUS_H
#define OUTBOX_STATUS_H

#include <stdbool.h>

enum status {
	ST_OK = 0,
	ST_USAGE,        /* bad command line, no recipients: 64 */
	ST_DATAERR,      /* the input itself is unusable: 65 */
	ST_NOUSER,       /* every recipient rejected permanently: 67 */
	ST_MESSAGE_PERM, /* server refused the message permanently: 69 */
	ST_SOFTWARE,     /* internal error: 70 */
	ST_OSERR,        /* out of memory, fork failed: 71 */
	ST_CANTCREAT,    /* queue/spool directory unusable: 73 */
	ST_IOERR,        /* reading the input failed: 74 */
	ST_CONNECT,      /* connectivity: DNS, refused, timeout: 75 */
	ST_SERVER_TEMP,  /* 4xx, drop during the transaction: 75 */
	ST_LOCAL_TEMP,   /* disk full and the like: 75 */
	ST_ACCOUNT,      /* AUTH refused, no password: 77 */
	ST_CONFIG,       /* configuration, TLS verification: 78 */
	ST__COUNT
};

/* What a failure means for a queued message (DESIGN.md 2, step 5);
 * policy.c schedules the retries. */
enum policy_action {
	ACT_DELIVERED,  /* nothing left to do */
	ACT_RETRY_SOON, /* connectivity: short, capped backoff; flush when the network returns */
	ACT_RETRY,      /* server temporary: exponential backoff with jitter */
	ACT_HOLD,       /* account/config: wait for a fix and -q; never bounce */
	ACT_FAIL,       /* message permanent: failed/ and a failure notice */
};

/* Why a queued message waits, is held or failed, as the queue stores it
 * and mailq --json shows it: a fixed English code (never translated), and
 * a sentence translated only when it is shown.  Codes are a stable
 * interface (doc/mailq-json.md): rows may be added, never renamed. */
enum reason {
	REASON_NONE = 0,     /* no reason recorded */
	REASON_OTHER,        /* a code this version does not know */
	REASON_CONNECT,      /* connect-failed */
	REASON_SERVER_TEMP,  /* temporary-reject */
	REASON_LOCAL,        /* local-error */
	REASON_AUTH,         /* auth-failed */
	REASON_CONFIG,       /* config */
	REASON_REJECTED,     /* rejected */
	REASON_RCPTS,        /* recipients-rejected */
	REASON_BAD_MESSAGE,  /* bad-message */
	REASON_INTERNAL,     /* internal-error */
	REASON_EXPIRED,      /* expired */
	REASON_NO_ACCOUNT,   /* no-account */
	REASON_DAMAGED,      /* damaged */
	REASON_UNSAFE_STATE, /* unsafe-state */
	REASON__COUNT
};

/* One row per failure class: everything a class means, in one place. */
struct failure_class {
	int exit_code;             /* sysexits(3), DESIGN.md 1.4 */
	const char *exit_name;     /* its name, "EX_TEMPFAIL", for the log */
	const char *name;          /* stable lower-case word for logs and traces */
	enum policy_action action; /* what happens to a queued message */
	int reply_code;            /* -bs: the reply to the final dot */
	const char *enhanced;      /* -bs: its RFC 3463 enhanced status code */
	enum reason reason;        /* what the queue records for a message it stops */
};

/* The row of a class; an out-of-range class reads as ST_SOFTWARE. */
const struct failure_class *failure_class(enum status s);

/* The code of a reason ("connect-failed"); NULL for REASON_NONE. */
const char *reason_code(enum reason r);

/* The reason with that code; REASON_OTHER for a code not in the table. */
enum reason reason_parse(const char *code);

/* The reason's sentence, translated. */
const char *reason_text(enum reason r);

/* The language of the message catalog in use ("en" without one): stored
 * beside a translated detail so that it is shown only in that language. */
const char *reason_language(void);

/* What to show for a stored reason: the detail as it was stored when it
 * has no code (written by an older outbox) or is in the language in use,
 * else the code's sentence in that language.  NULL when there is none. */
const char *reason_shown(enum reason r, const char *detail, const char *lang);

#define ERROR_MSG_MAX 1024

struct error {
	enum status status;
	char msg[ERROR_MSG_MAX];
};

/* Records a failure; the message is formatted with printf rules.  Returns
 * -1 so callers can write `return error_set(e, ...)`. */
int error_set(struct error *e, enum status s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message, keeping the class. */
void error_prefix(struct error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void error_clear(struct error *e);

/* The sysexits(3) code for a class. */
int status_exit_code(enum status s);

/* A stable lower-case name for logs and traces ("connect", "account"...). */
const char *status_name(enum status s);

/* True for the classes that a later retry may cure (exit status 75). */
bool status_is_temporary(enum status s);

/* The sysexits(3) name of an exit status ("EX_TEMPFAIL"), for the log. */
const char *status_exit_name(int exit_code);

#endif
