/* main.c - argv[0] dispatch and the only exit().
 *
 * outbox, sendmail, mailq and newaliases are the same program; what it does
 * is decided by cli_parse(), and every failure class becomes an exit status
 * here, through status_exit_code(). */
#include "config.h"

#include "bs.h"
#include "cli.h"
#include "i18n.h"
#include "lib.h"
#include "log.h"
#include "status.h"
#include "submit.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <idn2.h>

static void
print_version(void)
{
	printf("outbox %s\n", PACKAGE_VERSION);
	printf(_("TLS: GnuTLS %s; IDN: libidn2 %s\n"), gnutls_check_version(NULL),
	       idn2_check_version(NULL));
	printf(_("Copyright (C) 2026 The outbox authors.\n"
		 "License GPLv3+: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>.\n"
		 "This is free software: you are free to change and redistribute it.\n"
		 "There is NO WARRANTY, to the extent permitted by law.\n"));
}

static int
write_out(const struct buf *b)
{
	if (b->len > 0 && fwrite(b->data, 1, b->len, stdout) != b->len)
		return -1;
	return fflush(stdout) == 0 ? 0 : -1;
}

static int
run(const struct request *r, struct error *e)
{
	struct buf out;
	int rc = 0;

	buf_init(&out, 0);
	switch (r->mode) {
	case CLI_VERSION:
		print_version();
		break;
	case CLI_HELP:
		fputs(cli_help(), stdout);
		break;
	case CLI_NEWALIASES:
		break;
	case CLI_LIST_QUEUE:
		rc = submit_list(r, &out, e);
		break;
	case CLI_FLUSH:
		rc = submit_flush(r, e);
		break;
	case CLI_QUEUE_EDIT:
		rc = submit_queue_edit(r, &out, e);
		break;
	case CLI_WATCH:
		rc = submit_watch(r, e);
		break;
	case CLI_SMTP_STDIO:
		rc = bs_run(r, STDIN_FILENO, STDOUT_FILENO, e);
		break;
	case CLI_STORE_PASSWORD:
		rc = submit_store_password(r, &out, e);
		break;
	case CLI_DELETE_PASSWORD:
		rc = submit_delete_password(r, &out, e);
		break;
	case CLI_PASSWORD_SOURCE:
		rc = submit_password_source(r, &out, e);
		break;
	case CLI_PRETEND:
		rc = submit_pretend(r, &out, e);
		break;
	case CLI_SERVERINFO:
		rc = submit_serverinfo(r, &out, e);
		break;
	case CLI_DELIVER:
		rc = submit_deliver(r, STDIN_FILENO, e);
		break;
	}
	if (rc == 0 && write_out(&out) < 0)
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
