/* status.c - the one place where failure classes become exit codes. */
#include "config.h"

#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

static const struct {
	int exit_code;
	const char *name;
	bool temporary;
} status_table[ST__COUNT] = {
	[ST_OK] = {EX_OK, "ok", false},
	[ST_USAGE] = {EX_USAGE, "usage", false},
	[ST_DATAERR] = {EX_DATAERR, "data", false},
	[ST_NOUSER] = {EX_NOUSER, "nouser", false},
	[ST_MESSAGE_PERM] = {EX_UNAVAILABLE, "message", false},
	[ST_SOFTWARE] = {EX_SOFTWARE, "software", false},
	[ST_OSERR] = {EX_OSERR, "os", false},
	[ST_CANTCREAT] = {EX_CANTCREAT, "cantcreat", false},
	[ST_IOERR] = {EX_IOERR, "io", false},
	[ST_CONNECT] = {EX_TEMPFAIL, "connect", true},
	[ST_SERVER_TEMP] = {EX_TEMPFAIL, "temporary", true},
	[ST_LOCAL_TEMP] = {EX_TEMPFAIL, "local", true},
	[ST_ACCOUNT] = {EX_NOPERM, "account", false},
	[ST_CONFIG] = {EX_CONFIG, "config", false},
};

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
	if ((unsigned)s >= ST__COUNT)
		return EX_SOFTWARE;
	return status_table[s].exit_code;
}

const char *
status_name(enum status s)
{
	if ((unsigned)s >= ST__COUNT)
		return "unknown";
	return status_table[s].name;
}

bool
status_is_temporary(enum status s)
{
	return (unsigned)s < ST__COUNT && status_table[s].temporary;
}
