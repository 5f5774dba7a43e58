/* status.c - the one table of failure classes: for each, the exit status,
 * the log word, what happens to a queued message and the -bs reply. */
#include "config.h"

#include "status.h"

#include "i18n.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

/* Enhanced codes from RFC 3463. */
static const struct failure_class classes[ST__COUNT] = {
	[ST_OK] = {EX_OK, "EX_OK", "ok", ACT_DELIVERED, 250, "2.0.0", REASON_NONE},
	[ST_USAGE] = {EX_USAGE, "EX_USAGE", "usage", ACT_FAIL, 554, "5.3.5",
		      REASON_INTERNAL}, /* incorrectly configured */
	[ST_DATAERR] = {EX_DATAERR, "EX_DATAERR", "data", ACT_FAIL, 554, "5.6.0",
			REASON_BAD_MESSAGE}, /* other media error */
	[ST_NOUSER] = {EX_NOUSER, "EX_NOUSER", "nouser", ACT_FAIL, 550, "5.1.1",
		       REASON_RCPTS}, /* bad mailbox */
	[ST_MESSAGE_PERM] = {EX_UNAVAILABLE, "EX_UNAVAILABLE", "message", ACT_FAIL, 554, "5.0.0",
			     REASON_REJECTED},
	[ST_SOFTWARE] = {EX_SOFTWARE, "EX_SOFTWARE", "software", ACT_RETRY, 554, "5.3.0",
			 REASON_INTERNAL},
	[ST_OSERR] = {EX_OSERR, "EX_OSERR", "os", ACT_RETRY, 554, "5.3.0", REASON_INTERNAL},
	[ST_CANTCREAT] = {EX_CANTCREAT, "EX_CANTCREAT", "cantcreat", ACT_RETRY, 554, "5.3.0",
			  REASON_LOCAL},
	[ST_IOERR] = {EX_IOERR, "EX_IOERR", "io", ACT_RETRY, 554, "5.3.0", REASON_LOCAL},
	[ST_CONNECT] = {EX_TEMPFAIL, "EX_TEMPFAIL", "connect", ACT_RETRY_SOON, 451, "4.4.1",
			REASON_CONNECT}, /* no answer */
	[ST_SERVER_TEMP] = {EX_TEMPFAIL, "EX_TEMPFAIL", "temporary", ACT_RETRY, 451, "4.0.0",
			    REASON_SERVER_TEMP},
	[ST_LOCAL_TEMP] = {EX_TEMPFAIL, "EX_TEMPFAIL", "local", ACT_RETRY, 452, "4.3.1",
			   REASON_LOCAL}, /* system full */
	[ST_ACCOUNT] = {EX_NOPERM, "EX_NOPERM", "account", ACT_HOLD, 554, "5.7.0",
			REASON_AUTH}, /* security */
	[ST_CONFIG] = {EX_CONFIG, "EX_CONFIG", "config", ACT_HOLD, 554, "5.3.5", REASON_CONFIG},
};

const struct failure_class *
failure_class(enum status s)
{
	return &classes[(unsigned)s < ST__COUNT ? s : ST_SOFTWARE];
}

/* The reasons the queue records; the codes are a stable interface. */
static const struct {
	const char *code;
	const char *text;
} reasons[REASON__COUNT] = {
	[REASON_NONE] = {NULL, NULL},
	[REASON_OTHER] = {"other", N_("a failure this version of outbox does not know")},
	[REASON_CONNECT] = {"connect-failed", N_("the server could not be reached")},
	[REASON_SERVER_TEMP] = {"temporary-reject", N_("the server refused it for now")},
	[REASON_LOCAL] = {"local-error", N_("a local error (disk full, queue unusable)")},
	[REASON_AUTH] = {"auth-failed", N_("logging in failed (password, keyring or account)")},
	[REASON_CONFIG] = {"config",
			   N_("the configuration or the server's certificate needs a fix")},
	[REASON_REJECTED] = {"rejected", N_("the server refused the message for good")},
	[REASON_RCPTS] = {"recipients-rejected", N_("the server refused every recipient for good")},
	[REASON_BAD_MESSAGE] = {"bad-message", N_("the message cannot be sent as it is")},
	[REASON_INTERNAL] = {"internal-error", N_("an internal error")},
	[REASON_EXPIRED] = {"expired", N_("not delivered within queue_max_age; given up")},
	[REASON_NO_ACCOUNT] = {"no-account", N_("its account is no longer in the configuration")},
	[REASON_DAMAGED] = {"damaged", N_("its queue file is damaged")},
	[REASON_UNSAFE_STATE] = {"unsafe-state",
				 N_("its state file was not a file of yours: check whether it "
				    "was delivered, then --release or --remove it")},
};

const char *
reason_code(enum reason r)
{
	return (unsigned)r < REASON__COUNT ? reasons[r].code : reasons[REASON_OTHER].code;
}

enum reason
reason_parse(const char *code)
{
	for (size_t i = REASON_OTHER; i < REASON__COUNT; i++)
		if (strcmp(code, reasons[i].code) == 0)
			return (enum reason)i;
	return REASON_OTHER;
}

const char *
reason_text(enum reason r)
{
	if (r == REASON_NONE)
		return NULL;
	return _(reasons[(unsigned)r < REASON__COUNT ? r : REASON_OTHER].text);
}

const char *
reason_language(void)
{
	/* TRANSLATORS: the ISO 639 code of this translation ("de", "fr"): the
	 * queue stores it beside a reason in your language, so that mailq
	 * shows that text only to readers of the same language. */
	return _("en");
}

const char *
reason_shown(enum reason r, const char *detail, const char *lang)
{
	if (detail != NULL &&
	    (r == REASON_NONE || (lang != NULL && strcmp(lang, reason_language()) == 0)))
		return detail;
	return reason_text(r);
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
