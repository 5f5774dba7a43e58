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

/* True for the classes that a later retry may cure. */
bool status_is_temporary(enum status s);

#endif
