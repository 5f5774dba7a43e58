/* main.c - argv[0] dispatch and the only exit().
 *
 * outbox, sendmail, mailq and newaliases are the same program; what it does
 * is decided by cli_parse(), and every failure class becomes an exit status
 * here, through status_exit_code(). */
#include "config.h"

#include "admin.h"
#include "cli.h"
#include "crypto.h"
#include "i18n.h"
#include "lib.h"
#include "log.h"
#include "status.h"
#include "mailq.h"
#include "session.h"
#include "setup.h"
#include "submit.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <idn2.h>

static int
version(const struct request *r, struct buf *out, struct error *e)
{
	(void)e;
	buf_printf(out, "outbox %s\n", PACKAGE_VERSION);
	buf_printf(out, _("TLS: GnuTLS %s; IDN: libidn2 %s\n"), crypto_library_version(),
		   idn2_check_version(NULL));
	session_describe_setup(r, out);
	buf_puts(out, _("Copyright (C) 2026 The outbox authors.\n"
			"License GPLv3+: GNU GPL version 3 or later "
			"<https://gnu.org/licenses/gpl.html>.\n"
			"This is free software: you are free to change and redistribute it.\n"
			"There is NO WARRANTY, to the extent permitted by law.\n"));
	return 0;
}

static int
help(const struct request *r, struct buf *out, struct error *e)
{
	(void)r;
	(void)e;
	buf_puts(out, cli_help());
	return 0;
}

static int
newaliases(const struct request *r, struct buf *out, struct error *e)
{
	(void)r;
	(void)out;
	(void)e;
	return 0;
}

static int
deliver(const struct request *r, struct buf *out, struct error *e)
{
	(void)out;
	return submit_deliver(r, STDIN_FILENO, e);
}

static int
flush(const struct request *r, struct buf *out, struct error *e)
{
	(void)out;
	return submit_flush(r, e);
}

static int
smtp_stdio(const struct request *r, struct buf *out, struct error *e)
{
	(void)out;
	return submit_smtp_stdio(r, STDIN_FILENO, STDOUT_FILENO, e);
}

static int
watch(const struct request *r, struct buf *out, struct error *e)
{
	(void)out;
	return admin_watch(r, e);
}

static int
write_out(const struct buf *b)
{
	if (b->len > 0 && fwrite(b->data, 1, b->len, stdout) != b->len)
		return -1;
	return fflush(stdout) == 0 ? 0 : -1;
}

static int
drain_out(struct buf *out, struct error *e)
{
	if (write_out(out) < 0)
		return error_set(e, ST_IOERR, _("cannot write to standard output"));
	buf_reset(out);
	return 0;
}

static int
list_queue(const struct request *r, struct buf *out, struct error *e)
{
	return mailq_list(r, out, drain_out, e);
}

/* What each mode runs; what it reports in out goes to standard output
 * (after a failure too when partial is set: the steps that worked). */
static const struct {
	enum cli_mode mode;
	int (*run)(const struct request *r, struct buf *out, struct error *e);
	bool partial;
} modes[] = {
	{CLI_DELIVER, deliver, false},
	{CLI_LIST_QUEUE, list_queue, false},
	{CLI_FLUSH, flush, false},
	{CLI_SMTP_STDIO, smtp_stdio, false},
	{CLI_NEWALIASES, newaliases, false},
	{CLI_SERVERINFO, admin_serverinfo, false},
	{CLI_PRETEND, admin_pretend, false},
	{CLI_VERSION, version, false},
	{CLI_HELP, help, false},
	{CLI_STORE_PASSWORD, admin_store_password, false},
	{CLI_DELETE_PASSWORD, admin_delete_password, false},
	{CLI_PASSWORD_SOURCE, admin_password_source, false},
	{CLI_QUEUE_EDIT, mailq_edit, false},
	{CLI_WATCH, watch, false},
	{CLI_TEST, admin_test, true},
	{CLI_AUTHORIZE, admin_authorize, false},
	{CLI_CONFIGURE, setup_configure, true},
};

static int
run(const struct request *r, struct error *e)
{
	struct buf out;
	int rc = error_set(e, ST_SOFTWARE, "no handler for mode %d", (int)r->mode);
	bool partial = false;

	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (modes[i].mode == r->mode) {
			rc = modes[i].run(r, &out, e);
			partial = modes[i].partial;
			break;
		}
	if ((rc == 0 || partial) && write_out(&out) < 0 && rc == 0)
		rc = error_set(e, ST_IOERR, _("cannot write to standard output"));
	buf_free(&out);
	return rc;
}

int
main(int argc, char **argv)
{
	struct request req;
	struct error err;
	int status;

	setlocale(LC_ALL, "");
	/* Log lines have a fixed grammar in every language: C-locale times. */
	setlocale(LC_TIME, "C");
#ifdef ENABLE_NLS
	{
		/* TEXTDOMAINDIR, as GNU gettext's shell tools honour it: a catalog
		 * tree other than the installed one (tests, relocated installs). */
		const char *dir = secure_getenv("TEXTDOMAINDIR");

		bindtextdomain(PACKAGE, dir != NULL && *dir != '\0' ? dir : LOCALEDIR);
	}
	textdomain(PACKAGE);
#endif
	/* A server that closes the connection must not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);
	if (argc > 0 && argv[0] != NULL) {
		const char *slash = strrchr(argv[0], '/');

		log_set_progname(slash ? slash + 1 : argv[0]);
	}
	error_clear(&err);
	if (cli_parse(argc, argv, &req, &err) < 0 || run(&req, &err) < 0) {
		log_error("%s", err.msg);
		status = status_exit_code(err.status);
	} else {
		status = EX_OK;
	}
	cli_request_free(&req);
	return status;
}
