/* log.h - what outbox says: diagnostics on stderr, the -v transcript, and
 * the one-line delivery record for `logfile` and `syslog`.
 *
 * Diagnostics go through a swappable sink so tests can capture them. */
#ifndef OUTBOX_LOG_H
#define OUTBOX_LOG_H

#include "status.h"

#include <stdbool.h>

void log_set_progname(const char *name);

/* "outbox: message" on stderr (or the sink). */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "outbox: warning: message". */
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True when a person is looking: standard error is a terminal and no sink
 * replaces it.  What only a person needs (a one-line outcome, a summary, a
 * progress bar) is said only then; cron and scripts get exit codes. */
bool log_interactive(void);

/* Draws line (outbox's own text, one line that fits the terminal) as the
 * status line at the bottom of standard error, replacing the last one;
 * NULL erases it.  Only when log_interactive(); diagnostics erase it
 * before they print. */
void log_status(const char *line);

/* Replaces the stderr sink (NULL restores it). */
void log_set_sink(void (*sink)(void *ctx, const char *line), void *ctx);

/* One delivery attempt, in msmtp's logfile format plus msgid (see
 * outbox(1), LOGGING).  Strings may be NULL. */
struct log_record {
	const char *host;
	bool tls;
	const char *auth; /* mechanism or NULL */
	const char *user;
	const char *from;
	const char *recipients; /* comma separated, Bcc recipients left out */
	unsigned long bcc;      /* how many were left out */
	unsigned long long mailsize;
	int smtpstatus;
	const char *smtpmsg;
	const char *errormsg;
	int exitcode;
	const char *msgid;
	const char *queue_id; /* the queue's id for the message, or NULL */
	const char *action;   /* what happens next: delivered, retry, hold, fail */
};

/* Appends the record to logfile ("-" is stdout) with the time format
 * (strftime, msmtp's default "%b %d %H:%M:%S") and/or sends it to syslog
 * with the facility name (LOG_USER, LOG_MAIL, LOG_LOCAL0..7).  A logfile
 * that cannot be written produces a warning, never a failure. */
void log_delivery(const char *logfile, const char *time_format, const char *facility,
		  const struct log_record *r);

#endif
