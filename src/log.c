/* log.c - diagnostics, and the delivery record for logfile and syslog.
 *
 * Values in the record come from the server (smtpmsg) and from the message
 * envelope: they are quoted and stripped of control characters so one
 * record stays one line.  Diagnostics quote configuration values,
 * addresses and server text: their control bytes are escaped (vsay). */
#include "config.h"

#include "log.h"

#include "i18n.h"
#include "lib.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

static const char *progname = "outbox";
static void (*sink)(void *ctx, const char *line);
static void *sink_ctx;

void
log_set_progname(const char *name)
{
	progname = name;
}

void
log_set_sink(void (*fn)(void *ctx, const char *line), void *ctx)
{
	sink = fn;
	sink_ctx = ctx;
}

bool
log_interactive(void)
{
	return sink == NULL && isatty(STDERR_FILENO);
}

static size_t status_len; /* columns of the status line on screen, 0: none */

void
log_status(const char *line)
{
	size_t n = line != NULL ? strlen(line) : 0;

	struct buf b;

	if (!log_interactive())
		return;
	/* Back to the start of the line; spaces over what is longer than
	 * the new text; one write, so the terminal never shows half of it. */
	buf_init(&b, 0);
	buf_printf(&b, "\r%s", line != NULL ? line : "");
	for (size_t i = n; i < status_len; i++)
		buf_puts(&b, " ");
	if (n < status_len)
		buf_printf(&b, "\r%s", line != NULL ? line : "");
	if (b.data != NULL)
		fwrite(b.data, 1, b.len, stderr);
	fflush(stderr);
	buf_free(&b);
	status_len = n;
}

/* The one way out to standard error: whatever a message quotes (a
 * configuration value, an address, a file name, server text) reaches the
 * terminal with its control bytes made visible, as one line. */
static void
vsay(const char *prefix, const char *fmt, va_list ap)
{
	char msg[ERROR_MSG_MAX + 128];
	struct buf shown;

	vsnprintf(msg, sizeof msg, fmt, ap);
	buf_init(&shown, 0);
	buf_puts(&shown, prefix);
	buf_append_visible(&shown, msg, strlen(msg));
	if (sink != NULL) {
		sink(sink_ctx, shown.data);
	} else {
		if (status_len > 0)
			log_status(NULL);
		fprintf(stderr, "%s: %s\n", progname, shown.data);
	}
	buf_free(&shown);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
}

void
log_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(_("warning: "), fmt, ap);
	va_end(ap);
}

/* msmtp quotes smtpmsg and errormsg in single quotes; control characters
 * (a multi-line reply) become spaces, quotes are dropped. */
static void
put_quoted(struct buf *b, const char *key, const char *value)
{
	buf_printf(b, " %s='", key);
	for (const char *p = value; *p != '\0'; p++) {
		char c = (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p;

		if (c != '\'')
			buf_append(b, &c, 1);
	}
	buf_puts(b, "'");
}

static void
put_plain(struct buf *b, const char *key, const char *value)
{
	buf_printf(b, " %s=", key);
	for (const char *p = value; *p != '\0'; p++) {
		char c = (unsigned char)*p <= 0x20 || *p == 0x7f || *p == '\'' ? '_' : *p;

		buf_append(b, &c, 1);
	}
}

static char *
log_format(const struct log_record *r)
{
	struct buf b;
	char *line;

	buf_init(&b, 0);
	put_plain(&b, "host", r->host ? r->host : "");
	buf_printf(&b, " tls=%s", r->tls ? "on" : "off");
	buf_printf(&b, " auth=%s", r->auth ? "on" : "off");
	if (r->user != NULL && r->auth != NULL)
		put_plain(&b, "user", r->user);
	put_plain(&b, "from", r->from ? r->from : "");
	put_plain(&b, "recipients", r->recipients ? r->recipients : "");
	if (r->bcc > 0)
		buf_printf(&b, " bcc=%lu", r->bcc);
	if (r->msgid != NULL)
		put_plain(&b, "msgid", r->msgid);
	buf_printf(&b, " mailsize=%llu", r->mailsize);
	if (r->smtpstatus > 0)
		buf_printf(&b, " smtpstatus=%d", r->smtpstatus);
	if (r->smtpmsg != NULL && *r->smtpmsg != '\0')
		put_quoted(&b, "smtpmsg", r->smtpmsg);
	if (r->errormsg != NULL && *r->errormsg != '\0')
		put_quoted(&b, "errormsg", r->errormsg);
	buf_printf(&b, " exitcode=%s", status_exit_name(r->exitcode));
	if (r->queue_id != NULL)
		put_plain(&b, "id", r->queue_id);
	if (r->action != NULL)
		put_plain(&b, "action", r->action);
	line = xstrdup(b.data + 1);
	buf_free(&b);
	return line;
}

static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{"LOG_USER", LOG_USER},     {"LOG_MAIL", LOG_MAIL},     {"LOG_LOCAL0", LOG_LOCAL0},
	{"LOG_LOCAL1", LOG_LOCAL1}, {"LOG_LOCAL2", LOG_LOCAL2}, {"LOG_LOCAL3", LOG_LOCAL3},
	{"LOG_LOCAL4", LOG_LOCAL4}, {"LOG_LOCAL5", LOG_LOCAL5}, {"LOG_LOCAL6", LOG_LOCAL6},
	{"LOG_LOCAL7", LOG_LOCAL7},
};

static void
to_syslog(const char *facility, int exitcode, const char *line)
{
	int fac = LOG_USER;

	for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++)
		if (strcasecmp(facility, facilities[i].name) == 0)
			fac = facilities[i].facility;
	openlog("outbox", LOG_PID, fac);
	syslog(exitcode == EX_OK ? LOG_INFO : LOG_ERR, "%s", line);
	closelog();
}

static void
to_logfile(const char *path, const char *time_format, const char *line)
{
	char stamp[128] = "";
	time_t now = time(NULL);
	struct tm tm;
	char *record;
	int fd;
	ssize_t w;

	/* The format is the user's logfile_time_format, as in msmtp. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (localtime_r(&now, &tm) != NULL &&
	    strftime(stamp, sizeof stamp, time_format ? time_format : "%b %d %H:%M:%S", &tm) == 0)
		stamp[0] = '\0';
#pragma GCC diagnostic pop
	record = xasprintf("%s%s%s\n", stamp, stamp[0] ? " " : "", line);
	/* Opened for each record, O_APPEND, one write: safe against rotation
	 * and against concurrent outbox processes. */
	if (strcmp(path, "-") == 0)
		fd = STDOUT_FILENO;
	else
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warning(_("cannot open logfile %s: %s"), path, strerror(errno));
	} else {
		w = write(fd, record, strlen(record));
		if (w < 0)
			log_warning(_("cannot write logfile %s: %s"), path, strerror(errno));
		if (fd != STDOUT_FILENO)
			close(fd);
	}
	free(record);
}

void
log_delivery(const char *logfile, const char *time_format, const char *facility,
	     const struct log_record *r)
{
	char *line;

	if (logfile == NULL && facility == NULL)
		return;
	line = log_format(r);
	if (logfile != NULL)
		to_logfile(logfile, time_format, line);
	if (facility != NULL)
		to_syslog(facility, r->exitcode, line);
	free(line);
}
