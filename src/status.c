/* status.c - the one table of failure classes: for each, the exit status,
 * the log word, what happens to a queued message and the -bs reply. */
#include "config.h"

#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

/* Enhanced codes from RFC 3463. */
static const struct failure_class classes[ST__COUNT] = {
	[ST_OK] = {EX_OK, "EX_OK", "ok", ACT_DELIVERED, 250, "2.0.0"},
	[ST_USAGE] = {EX_USAGE, "EX_USAGE", "usage", ACT_FAIL, 554,
		      "5.3.5"}, /* incorrectly configured */
	[ST_DATAERR] = {EX_DATAERR, "EX_DATAERR", "data", ACT_FAIL, 554,
			"5.6.0"}, /* other media error */
	[ST_NOUSER] = {EX_NOUSER, "EX_NOUSER", "nouser", ACT_FAIL, 550, "5.1.1"}, /* bad mailbox */
	[ST_MESSAGE_PERM] = {EX_UNAVAILABLE, "EX_UNAVAILABLE", "message", ACT_FAIL, 554, "5.0.0"},
	[ST_SOFTWARE] = {EX_SOFTWARE, "EX_SOFTWARE", "software", ACT_RETRY, 554, "5.3.0"},
	[ST_OSERR] = {EX_OSERR, "EX_OSERR", "os", ACT_RETRY, 554, "5.3.0"},
	[ST_CANTCREAT] = {EX_CANTCREAT, "EX_CANTCREAT", "cantcreat", ACT_RETRY, 554, "5.3.0"},
	[ST_IOERR] = {EX_IOERR, "EX_IOERR", "io", ACT_RETRY, 554, "5.3.0"},
	[ST_CONNECT] = {EX_TEMPFAIL, "EX_TEMPFAIL", "connect", ACT_RETRY_SOON, 451,
			"4.4.1"}, /* no answer */
	[ST_SERVER_TEMP] = {EX_TEMPFAIL, "EX_TEMPFAIL", "temporary", ACT_RETRY, 451, "4.0.0"},
	[ST_LOCAL_TEMP] = {EX_TEMPFAIL, "EX_TEMPFAIL", "local", ACT_RETRY, 452,
			   "4.3.1"}, /* system full */
	[ST_ACCOUNT] = {EX_NOPERM, "EX_NOPERM", "account", ACT_HOLD, 554, "5.7.0"}, /* security */
	[ST_CONFIG] = {EX_CONFIG, "EX_CONFIG", "config", ACT_HOLD, 554, "5.3.5"},
};

const struct failure_class *
failure_class(enum status s)
{
	return &classes[(unsigned)s < ST__COUNT ? s : ST_SOFTWARE];
}

int
error_set(struct error *e, enum status s, const char *fmt, ...)
{
	va_list ap;

	e->status = s;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

void
error_prefix(struct error *e, const char *fmt, ...)
{
	char prefix[ERROR_MSG_MAX];
	char old[ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	if (snprintf(e->msg, sizeof e->msg, "%s: %s", prefix, old) >= (int)sizeof e->msg)
		e->msg[sizeof e->msg - 1] = '\0';
}

void
error_clear(struct error *e)
{
	e->status = ST_OK;
	e->msg[0] = '\0';
}

int
status_exit_code(enum status s)
{
	return failure_class(s)->exit_code;
}

const char *
status_name(enum status s)
{
	if ((unsigned)s >= ST__COUNT)
		return "unknown";
	return classes[s].name;
}

bool
status_is_temporary(enum status s)
{
	return (unsigned)s < ST__COUNT && classes[s].exit_code == EX_TEMPFAIL;
}

const char *
status_exit_name(int exit_code)
{
	for (size_t i = 0; i < ST__COUNT; i++)
		if (classes[i].exit_code == exit_code)
			return classes[i].exit_name;
	return "EX_UNKNOWN";
}
