/* cli-t.c - tests for src/cli.c: every argv real clients pass
 * (shared/PEERS.md), sendmail's ignored flags, msmtp's long options,
 * and the errors for unknown or malformed flags. */
#include "config.h"

#include "cli.h"

#include "tap/basic.h"

#include <stdarg.h>
#include <string.h>

#define MAXARGS 16

static int
parse(struct request *r, struct error *e, ...)
{
	char *argv[MAXARGS];
	int argc = 0;
	va_list ap;

	va_start(ap, e);
	while (argc < MAXARGS - 1 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	error_clear(e);
	return cli_parse(argc, argv, r, e);
}

static const char *
override_of(const struct request *r, enum conf_keyword k)
{
	for (size_t i = 0; i < r->n_overrides; i++)
		if (r->overrides[i].keyword == k)
			return r->overrides[i].value;
	return NULL;
}

static const char *
rcpt(const struct request *r, size_t i)
{
	return i < r->recipients.n ? r->recipients.v[i] : "(none)";
}

int
main(void)
{
	struct request r;
	struct error e;

	plan_lazy();

	/* git send-email */
	is_int(0, parse(&r, &e, "sendmail", "-i", "a@x", "b@y", NULL), "git send-email argv");
	is_int(2, (long)r.recipients.n, "git: two recipients");
	is_string("b@y", rcpt(&r, 1), "git: second recipient");
	is_int(CLI_DELIVER, r.mode, "git: deliver mode");
	cli_request_free(&r);
	is_int(0, parse(&r, &e, "sendmail", "-f", "me@x", "-i", "a@x", NULL),
	       "git send-email --envelope-sender argv");
	is_string("me@x", r.envelope_from, "git: -f value");
	cli_request_free(&r);

	/* mutt */
	is_int(0,
	       parse(&r, &e, "/usr/sbin/sendmail", "-oem", "-oi", "-f", "me@x", "--", "a@x", "-b@y",
		     NULL),
	       "mutt argv with --");
	is_int(2, (long)r.recipients.n, "mutt: recipients after --, even with a dash");
	is_string("-b@y", rcpt(&r, 1), "mutt: '-b@y' is a recipient after --");
	cli_request_free(&r);
	is_int(0,
	       parse(&r, &e, "sendmail", "-B8BITMIME", "-oem", "-oi", "-N", "failure,delay", "-R",
		     "hdrs", "-f", "me@x", "--", "a@x", NULL),
	       "mutt argv with 8BITMIME and DSN");
	is_string("8BITMIME", r.body_type, "mutt: -B");
	is_string("FAILURE,DELAY", r.dsn_notify, "mutt: -N upper-cased");
	is_string("HDRS", r.dsn_return, "mutt: -R");
	cli_request_free(&r);

	/* bsd-mailx, PHP, busybox crond */
	is_int(0, parse(&r, &e, "sendmail", "-i", "-t", "-f", "x@y", NULL), "mailx -r argv");
	ok(r.read_recipients, "mailx: -t");
	is_int(0, (long)r.recipients.n, "mailx: no argv recipients");
	cli_request_free(&r);
	is_int(0, parse(&r, &e, "sendmail", "-ti", NULL), "busybox crond -ti");
	ok(r.read_recipients, "busybox: -t from -ti");
	cli_request_free(&r);

	/* Debian cron */
	is_int(0,
	       parse(&r, &e, "/usr/sbin/sendmail", "-FCronDaemon", "-i", "-B8BITMIME", "-oem",
		     "root", NULL),
	       "Debian cron argv");
	is_string("CronDaemon", r.full_name, "cron: -F attached");
	is_string("root", rcpt(&r, 0), "cron: recipient");
	cli_request_free(&r);

	/* Ignored flags */
	is_int(0,
	       parse(&r, &e, "sendmail", "-oQ/x", "-O", "a=b", "-Am", "-G", "-h", "5", "-L", "tag",
		     "-m", "-n", "-U", "-oem", "a@x", NULL),
	       "ignored flags accepted");
	is_int(1, (long)r.recipients.n, "ignored flags: recipient kept");
	cli_request_free(&r);

	/* Modes */
	is_int(0, parse(&r, &e, "mailq", NULL), "mailq");
	is_int(CLI_LIST_QUEUE, r.mode, "mailq lists the queue");
	cli_request_free(&r);
	is_int(0, parse(&r, &e, "/usr/bin/newaliases", NULL), "newaliases");
	is_int(CLI_NEWALIASES, r.mode, "newaliases mode");
	cli_request_free(&r);
	is_int(0, parse(&r, &e, "sendmail", "-bp", NULL), "-bp");
	is_int(CLI_LIST_QUEUE, r.mode, "-bp lists the queue");
	cli_request_free(&r);
	is_int(0, parse(&r, &e, "sendmail", "-qIabc", NULL), "-qI");
	is_int(CLI_FLUSH, r.mode, "-q flushes");
	is_string("Iabc", r.queue_filter, "-q filter");
	cli_request_free(&r);
	is_int(0, parse(&r, &e, "sendmail", "-odq", "a@x", NULL), "-odq");
	is_int(DELIVER_QUEUE, r.delivery, "-odq delivery mode");
	cli_request_free(&r);
	is_int(0, parse(&r, &e, "outbox", "--serverinfo", NULL), "--serverinfo");
	is_int(CLI_SERVERINFO, r.mode, "serverinfo mode");
	cli_request_free(&r);
	is_int(0, parse(&r, &e, "outbox", "-P", "a@x", NULL), "-P");
	is_int(CLI_PRETEND, r.mode, "pretend mode");
	cli_request_free(&r);

	/* Keyring verbs */
	is_int(0, parse(&r, &e, "outbox", "-a", "work", "--store-password", NULL),
	       "--store-password");
	is_int(CLI_STORE_PASSWORD, r.mode, "store mode");
	is_string("work", r.account, "store: account from -a");
	cli_request_free(&r);
	is_int(0, parse(&r, &e, "outbox", "--delete-password", NULL), "--delete-password");
	is_int(CLI_DELETE_PASSWORD, r.mode, "delete mode");
	cli_request_free(&r);
	is_int(0, parse(&r, &e, "outbox", "--password-source", NULL), "--password-source");
	is_int(CLI_PASSWORD_SOURCE, r.mode, "source mode");
	cli_request_free(&r);

	/* msmtp's long options */
	is_int(0,
	       parse(&r, &e, "outbox", "--host=mx.example", "--port=2525", "--tls=off", "--auth",
		     "--user=bob", "--from=bob@example", "--tls-trust-file=/x", "a@x", NULL),
	       "msmtp long options");
	ok(r.host_given, "--host makes a command-line account");
	is_string("2525", override_of(&r, KW_PORT), "--port");
	is_string("off", override_of(&r, KW_TLS), "--tls=off");
	is_string("", override_of(&r, KW_AUTH), "--auth without value");
	is_string("bob", override_of(&r, KW_USER), "--user");
	is_string("/x", override_of(&r, KW_TLS_TRUST_FILE), "--tls-trust-file");
	cli_request_free(&r);
	is_int(0, parse(&r, &e, "outbox", "--account", "work", "--read-envelope-from", "a@x", NULL),
	       "--account and --read-envelope-from");
	is_string("work", r.account, "--account value");
	ok(r.read_envelope_from, "--read-envelope-from");
	cli_request_free(&r);
	is_int(0, parse(&r, &e, "outbox", "a@x, b@y", NULL), "one argument, two addresses");
	is_int(2, (long)r.recipients.n, "comma-separated recipients split");
	cli_request_free(&r);

	/* Errors */
	is_int(-1, parse(&r, &e, "sendmail", "-Y", "a@x", NULL), "unknown short flag");
	is_int(ST_USAGE, e.status, "unknown flag is a usage error");
	ok(strstr(e.msg, "-Y") != NULL, "the message names the flag: %s", e.msg);
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "--frobnicate", NULL), "unknown long option");
	ok(strstr(e.msg, "--frobnicate") != NULL, "the message names it: %s", e.msg);
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "--hots=mx.example", NULL), "misspelt long option");
	is_string("unknown option --hots=mx.example (did you mean --host?); see 'sendmail --help'",
		  e.msg, "... suggests the nearest one");
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "--tls-starttl", NULL), "misspelt keyword option");
	ok(strstr(e.msg, "(did you mean --tls-starttls?)") != NULL, "... suggests it: %s", e.msg);
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "--frobnicate", NULL), "nothing near");
	ok(strstr(e.msg, "did you mean") == NULL, "... suggests nothing: %s", e.msg);
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "-a", "work", "--host=mx.example", "x@y", NULL),
	       "-a with --host");
	is_int(ST_USAGE, e.status, "... is a usage error");
	is_string("-a work cannot be used with --host, which makes the command line the account; "
		  "drop one of them",
		  e.msg, "... saying why");
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "--host=mx.example", "--account=work", NULL),
	       "--account with --host, in either order");
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "--password=x", NULL),
	       "no --password (secrets stay out of argv)");
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "--acc", "work", NULL), "abbreviated long option");
	ok(strstr(e.msg, "--account") != NULL, "abbreviation: suggests the full name: %s", e.msg);
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "--password=x", NULL),
	       "--password is no abbreviation");
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "-f", NULL), "-f without value");
	ok(strstr(e.msg, "-f") != NULL, "missing value names the flag: %s", e.msg);
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "-B", "9BIT", NULL), "bad -B");
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "-N", "success,never", NULL), "never mixed in -N");
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "-N", "sometimes", NULL), "bad -N word");
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "-R", "all", NULL), "bad -R");
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "-bd", NULL), "daemon mode refused");
	cli_request_free(&r);
	is_int(-1, parse(&r, &e, "sendmail", "-odx", NULL), "bad -od mode");
	cli_request_free(&r);
	ok(strstr(cli_help(), "man outbox") != NULL, "--help points to the man page");
	return 0;
}
