/* log-t.c - tests for src/log.c: diagnostics through the swappable sink
 * and on stderr (prefix, program name, control bytes escaped, one line);
 * the delivery record (each field, msmtp's quoting, control characters
 * made spaces or underscores, exit names); the log file (appended, time
 * format, "-" for standard output, an unwritable file only warns); the
 * syslog facility and severity, read from a /dev/log socket of the test's
 * own in a private mount namespace (skipped where one cannot be made). */
#include "config.h"

#include "log.h"

#include "lib.h"

#include "tap/basic.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

static char *dir;
static struct strlist said;

static void
capture(void *ctx, const char *line)
{
	strlist_add(ctx, line);
}

static const char *
last_said(void)
{
	return said.n > 0 ? said.v[said.n - 1] : "(nothing)";
}

static const struct {
	bool warning;
	const char *arg;
	const char *want;
} diagnostics[] = {
	{false, "plain", "x plain"},
	{true, "plain", "warning: x plain"},
	{false, "line\r\nbreak", "x line\\x0d\\x0abreak"},
	{false, "tab\there", "x tab\\x09here"},
	{true, "esc \x1b[31mred", "warning: x esc \\x1b[31mred"},
	{false, "del\x7f", "x del\\x7f"},
	{false, "M\xc3\xbcller", "x M\xc3\xbcller"},
	{false, "bad \xff utf-8", "x bad \\xff utf-8"},
	{false, "C1 \xc2\x9b", "x C1 \\xc2\\x9b"},
	{false, "", "x "},
};

static void
test_sink(void)
{
	strlist_init(&said);
	log_set_sink(capture, &said);
	for (size_t i = 0; i < sizeof diagnostics / sizeof diagnostics[0]; i++) {
		if (diagnostics[i].warning)
			log_warning("x %s", diagnostics[i].arg);
		else
			log_error("x %s", diagnostics[i].arg);
		is_string(diagnostics[i].want, last_said(), "diagnostic %zu", i);
	}
	is_int(sizeof diagnostics / sizeof diagnostics[0], (long)said.n,
	       "one sink call per diagnostic");
	{
		char *big = xmalloc(4000);

		memset(big, 'a', 3999);
		big[3999] = '\0';
		log_error("%s", big);
		ok(strlen(last_said()) >= ERROR_MSG_MAX && strlen(last_said()) < 3999,
		   "a long diagnostic is cut (%zu bytes)", strlen(last_said()));
		free(big);
	}
	log_set_sink(NULL, NULL);
	strlist_free(&said);
}

/* log_interactive: standard error on a terminal (a pseudo-terminal here),
 * and no sink. */
static void
test_interactive(void)
{
	int saved = dup(STDERR_FILENO), pty = posix_openpt(O_RDWR | O_NOCTTY);

	if (pty < 0 || grantpt(pty) < 0 || unlockpt(pty) < 0) {
		skip("no pseudo-terminal here");
		return;
	}
	dup2(pty, STDERR_FILENO);
	ok(log_interactive(), "standard error on a terminal: interactive");
	log_set_sink(capture, &said);
	ok(!log_interactive(), "a sink is not a person");
	log_set_sink(NULL, NULL);
	close(pty);
	pty = open("/dev/null", O_WRONLY | O_CLOEXEC);
	dup2(pty, STDERR_FILENO);
	ok(!log_interactive(), "standard error not a terminal: not interactive");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(pty);
}

/* Runs fn with stream fd (1 or 2) sent to a file; returns what it wrote. */
static char *
redirected(int fd, void (*fn)(void))
{
	char *path = xasprintf("%s/redirect", dir);
	int saved = dup(fd), f = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct buf b;

	fflush(stdout);
	fflush(stderr);
	if (saved < 0 || f < 0 || dup2(f, fd) < 0)
		bail("redirect: %s", strerror(errno));
	fn();
	fflush(stdout);
	fflush(stderr);
	dup2(saved, fd);
	close(saved);
	lseek(f, 0, SEEK_SET);
	buf_init(&b, 0);
	if (read_to_eof(f, &b, false) < 0)
		bail("read back: %s", strerror(errno));
	close(f);
	unlink(path);
	free(path);
	return b.data != NULL ? b.data : xstrdup("");
}

static void
say_on_stderr(void)
{
	log_set_progname("sendmail");
	log_error("no %s", "recipients\n");
	log_warning("cannot %s", "write");
	log_set_progname("outbox");
}

static void
test_stderr(void)
{
	char *out = redirected(STDERR_FILENO, say_on_stderr);

	is_string("sendmail: no recipients\\x0a\nsendmail: warning: cannot write\n", out,
		  "without a sink: stderr, the program name, one line each");
	free(out);
}

/* The record for r, written with an empty time format (no stamp). */
static char *
record_line(const struct log_record *r)
{
	char *path = xasprintf("%s/record.log", dir);
	struct buf b;
	int fd;

	unlink(path);
	log_delivery(path, "", NULL, r);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	buf_init(&b, 0);
	if (fd < 0 || read_to_eof(fd, &b, false) < 0)
		bail("cannot read %s", path);
	close(fd);
	free(path);
	return b.data != NULL ? b.data : xstrdup("");
}

static const struct {
	const char *name;
	struct log_record r;
	const char *want;
} records[] = {
	{"an empty record",
	 {0},
	 "host= tls=off auth=off from= recipients= mailsize=0 exitcode=EX_OK\n"},
	{"a delivered message",
	 {.host = "smtp.example.org",
	  .tls = true,
	  .auth = "PLAIN",
	  .user = "jane",
	  .from = "jane@example.org",
	  .recipients = "a@example.net,b@example.net",
	  .bcc = 2,
	  .mailsize = 1234,
	  .smtpstatus = 250,
	  .smtpmsg = "250 2.0.0 Ok: queued as 1234",
	  .exitcode = EX_OK,
	  .msgid = "<x@example.org>",
	  .queue_id = "Q1",
	  .action = "delivered"},
	 "host=smtp.example.org tls=on auth=on user=jane from=jane@example.org "
	 "recipients=a@example.net,b@example.net bcc=2 msgid=<x@example.org> mailsize=1234 "
	 "smtpstatus=250 smtpmsg='250 2.0.0 Ok: queued as 1234' exitcode=EX_OK id=Q1 "
	 "action=delivered\n"},
	{"user without auth is left out",
	 {.host = "h", .user = "jane", .exitcode = EX_OK},
	 "host=h tls=off auth=off from= recipients= mailsize=0 exitcode=EX_OK\n"},
	{"a multi-line reply and quotes in smtpmsg and errormsg",
	 {.host = "h",
	  .smtpstatus = 451,
	  .smtpmsg = "451-it's\r\n451 busy\t'now'",
	  .errormsg = "server said \"no\"\x7f",
	  .exitcode = EX_TEMPFAIL,
	  .action = "retry"},
	 "host=h tls=off auth=off from= recipients= mailsize=0 smtpstatus=451 "
	 "smtpmsg='451-its  451 busy now' errormsg='server said \"no\" ' exitcode=EX_TEMPFAIL "
	 "action=retry\n"},
	{"empty smtpmsg and errormsg are left out",
	 {.host = "h", .smtpmsg = "", .errormsg = "", .exitcode = EX_NOPERM},
	 "host=h tls=off auth=off from= recipients= mailsize=0 exitcode=EX_NOPERM\n"},
	{"spaces, quotes and controls in plain fields",
	 {.host = "h x",
	  .from = "a b'c\x01\x7f@d",
	  .recipients = "r\n@x,\xc3\xbc@y",
	  .msgid = "<a b>",
	  .queue_id = "i d",
	  .action = "re\ttry",
	  .exitcode = EX_DATAERR},
	 "host=h_x tls=off auth=off from=a_b_c__@d recipients=r_@x,\xc3\xbc@y msgid=<a_b> "
	 "mailsize=0 exitcode=EX_DATAERR id=i_d action=re_try\n"},
	{"a large size and an unknown exit code",
	 {.mailsize = 5000000000ULL, .exitcode = 1},
	 "host= tls=off auth=off from= recipients= mailsize=5000000000 exitcode=EX_UNKNOWN\n"},
};

static void
test_records(void)
{
	for (size_t i = 0; i < sizeof records / sizeof records[0]; i++) {
		char *line = record_line(&records[i].r);

		is_string(records[i].want, line, "record: %s", records[i].name);
		free(line);
	}
}

static const struct {
	int code;
	const char *name;
} exit_names[] = {
	{EX_OK, "EX_OK"},
	{EX_USAGE, "EX_USAGE"},
	{EX_DATAERR, "EX_DATAERR"},
	{EX_NOUSER, "EX_NOUSER"},
	{EX_UNAVAILABLE, "EX_UNAVAILABLE"},
	{EX_SOFTWARE, "EX_SOFTWARE"},
	{EX_OSERR, "EX_OSERR"},
	{EX_CANTCREAT, "EX_CANTCREAT"},
	{EX_IOERR, "EX_IOERR"},
	{EX_TEMPFAIL, "EX_TEMPFAIL"},
	{EX_NOPERM, "EX_NOPERM"},
	{EX_CONFIG, "EX_CONFIG"},
	{EX_NOHOST, "EX_UNKNOWN"},
	{-1, "EX_UNKNOWN"},
};

static void
test_exit_names(void)
{
	for (size_t i = 0; i < sizeof exit_names / sizeof exit_names[0]; i++) {
		struct log_record r = {.exitcode = exit_names[i].code};
		char *line = record_line(&r);
		char *want = xasprintf(" exitcode=%s\n", exit_names[i].name);

		ok(strstr(line, want) != NULL, "exit %d is %s", exit_names[i].code,
		   exit_names[i].name);
		free(want);
		free(line);
	}
}

static const struct log_record one = {.host = "h", .exitcode = EX_OK};

static void
record_to_stdout(void)
{
	log_delivery("-", "[%%]", NULL, &one);
}

static void
test_logfile(void)
{
	char *path = xasprintf("%s/append.log", dir);
	char *bad = xasprintf("%s/missing/dir/log", dir);
	const char *line = "host=h tls=off auth=off from= recipients= mailsize=0 exitcode=EX_OK\n";
	char *want, *out;
	struct buf b;
	struct stat st;
	int fd;

	log_delivery(path, "%%Y", NULL, &one);
	log_delivery(path, NULL, NULL, &one);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	buf_init(&b, 0);
	if (fd < 0 || read_to_eof(fd, &b, false) < 0)
		bail("cannot read %s", path);
	close(fd);
	want = xasprintf("%%Y %s", line);
	ok(b.data != NULL && strncmp(b.data, want, strlen(want)) == 0,
	   "the time format is the user's and the record follows after a space");
	ok(b.data != NULL && strchr(b.data, '\n') != NULL &&
		   strlen(strchr(b.data, '\n') + 1) == strlen("Jan 01 00:00:00 ") + strlen(line) &&
		   strstr(strchr(b.data, '\n') + 1, line) != NULL,
	   "a NULL time format is msmtp's \"%%b %%d %%H:%%M:%%S\", and records are appended");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "a new log file is 0600");
	buf_free(&b);
	free(want);

	out = redirected(STDOUT_FILENO, record_to_stdout);
	want = xasprintf("[%%] %s", line);
	is_string(want, out, "logfile - is standard output");
	free(want);
	free(out);

	strlist_init(&said);
	log_set_sink(capture, &said);
	log_delivery(bad, "", NULL, &one);
	ok(said.n == 1 && strstr(last_said(), "warning: cannot open logfile") != NULL &&
		   strstr(last_said(), bad) != NULL,
	   "an unwritable log file is a warning naming it: %s", last_said());
	log_delivery(NULL, NULL, NULL, &one);
	is_int(1, (long)said.n, "no logfile and no syslog: nothing happens");
	log_set_sink(NULL, NULL);
	strlist_free(&said);
	free(bad);
	free(path);
}

/* Syslog: facility name, exit code, and the priority that arrives. */
static const struct {
	const char *facility;
	int exitcode;
	int priority;
} syslogs[] = {
	{"LOG_USER", EX_OK, 8 + 6},
	{"LOG_MAIL", EX_OK, 16 + 6},
	{"log_mail", EX_TEMPFAIL, 16 + 3},
	{"LOG_LOCAL0", EX_OK, 128 + 6},
	{"LOG_LOCAL3", EX_CONFIG, 152 + 3},
	{"LOG_LOCAL7", EX_OK, 184 + 6},
	{"on", EX_OK, 8 + 6},
	{"LOG_DAEMON", EX_NOPERM, 8 + 3},
};

/* The child: its own /dev (a tmpfs) with a log socket; exit 0 when every
 * record arrived with its priority, 77 when the namespace cannot be
 * made, else the number of the first failing row plus 1. */
static int
syslog_child(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s;

	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/dev", "tmpfs", 0, "size=64k") < 0)
		return 77;
	snprintf(sa.sun_path, sizeof sa.sun_path, "/dev/log");
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0)
		return 77;
	for (size_t i = 0; i < sizeof syslogs / sizeof syslogs[0]; i++) {
		struct log_record r = {.host = "h", .exitcode = syslogs[i].exitcode};
		char msg[1024], *pri = xasprintf("<%d>", syslogs[i].priority);
		ssize_t n;

		log_delivery(NULL, NULL, syslogs[i].facility, &r);
		n = recv(s, msg, sizeof msg - 1, MSG_DONTWAIT);
		msg[n > 0 ? n : 0] = '\0';
		if (strncmp(msg, pri, strlen(pri)) != 0 || strstr(msg, " outbox[") == NULL ||
		    strstr(msg, "]: host=h tls=off") == NULL)
			return (int)i + 1;
		free(pri);
	}
	return 0;
}

static void
test_syslog(void)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		bail("fork: %s", strerror(errno));
	if (pid == 0)
		_exit(syslog_child());
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 77) {
		skip("no private /dev/log (needs a mount namespace)");
		return;
	}
	is_int(0, WEXITSTATUS(status),
	       "syslog: facility by name (any case; others are LOG_USER), info for EX_OK, "
	       "err otherwise, ident outbox[pid] (0, or the failing row + 1)");
}

int
main(void)
{
	plan_lazy();
	dir = test_tmpdir("log-t");
	test_interactive();
	test_sink();
	test_stderr();
	test_records();
	test_exit_names();
	test_logfile();
	test_syslog();
	test_tmpdir_free(dir);
	return 0;
}
