/* bs-t.c - tests for src/bs.c: scripted SMTP sessions (commands in, the
 * exact replies and the submitted envelopes and bytes out, through a fake
 * submission), the bounds (line length, recipients, size, idle timeout),
 * and the reply to the final dot for every failure class. */
#include "config.h"

#include "bs.h"

#include "log.h"
#include "tap/basic.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HOST "test.example"
#define GREET "220 " HOST " outbox ESMTP\r\n"
#define BYE "221 2.0.0 " HOST " closing connection\r\n"
#define EHLO_REPLY                                                                                 \
	"250-" HOST "\r\n250-PIPELINING\r\n250-SIZE 2000\r\n250-8BITMIME\r\n"                      \
	"250 ENHANCEDSTATUSCODES\r\n"
#define OK "250 2.0.0 Ok\r\n"
#define MAIL_OK "250 2.1.0 Ok\r\n"
#define RCPT_OK "250 2.1.5 Ok\r\n"
#define GO_AHEAD "354 End data with <CR><LF>.<CR><LF>\r\n"
#define QUEUED "250 2.0.0 Ok: queued\r\n"
#define NOT_RECOGNIZED "500 5.5.2 Error: command not recognized\r\n"
#define NOT_IMPLEMENTED "502 5.5.1 Error: command not implemented\r\n"
#define NEED_MAIL "503 5.5.1 Error: need MAIL command\r\n"
#define MAIL_SYNTAX "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
#define BAD_CHAR "500 5.5.2 Error: bad character in command\r\n"
#define TOO_BIG "552 5.3.4 Error: message size exceeds fixed maximum message size\r\n"
#define BAD_RCPT "501 5.1.3 Error: bad recipient address syntax\r\n"
#define MAX_SIZE 2000

/* A string literal and its length: inputs may hold a NUL. */
#define S(lit) lit, sizeof(lit) - 1

/* The fake submission: appends what it got to log, answers with status
 * (ST_OK: success). */
struct fake {
	enum status status;
	struct buf log;
};

static int
fake_submit(void *ctx, const char *from, const struct strlist *rcpts, int fd, struct error *e)
{
	struct fake *f = ctx;
	char block[4096];
	ssize_t n;

	buf_printf(&f->log, "MAIL <%s> RCPT", from);
	for (size_t i = 0; i < rcpts->n; i++)
		buf_printf(&f->log, " <%s>", rcpts->v[i]);
	buf_puts(&f->log, "\n");
	while ((n = read(fd, block, sizeof block)) > 0)
		buf_append(&f->log, block, (size_t)n);
	buf_puts(&f->log, "<EOM>\n");
	if (f->status == ST_OK)
		return 0;
	return error_set(e, f->status, "refused\r\nfor a reason");
}

/* Diagnostics go here instead of stderr. */
static struct buf logged;

static void
capture(void *ctx, const char *line)
{
	buf_printf(&logged, "%s\n", line);
}

static const struct {
	const char *what;
	const char *in;
	size_t in_len;
	const char *out;       /* every reply, greeting included */
	const char *submitted; /* the fake's log */
	enum status submit_status;
	enum status status; /* of the session; ST_OK: it returned 0 */
} cases[] = {
	{"EHLO and QUIT", S("EHLO client.example\r\nQUIT\r\n"), GREET EHLO_REPLY BYE, "", ST_OK,
	 ST_OK},
	{"HELO, NOOP, lower case verbs", S("helo x\r\nnoop\r\nquit\r\n"),
	 GREET "250 " HOST "\r\n" OK BYE, "", ST_OK, ST_OK},
	{"two messages, RSET between, dot-unstuffing",
	 S("EHLO c\r\n"
	   "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\n"
	   "DATA\r\nSubject: one\r\n\r\n..\r\n..x\r\n.y\r\nlast\r\n.\r\n"
	   "MAIL FROM:<x@example.org>\r\nRSET\r\n"
	   "MAIL FROM:<> SIZE=20 BODY=8BITMIME\r\nRCPT TO:<d@example.net>\r\nDATA\r\n"
	   "Subject: two\r\n\r\nbody\r\n.\r\nQUIT\r\n"),
	 GREET EHLO_REPLY MAIL_OK RCPT_OK RCPT_OK GO_AHEAD QUEUED MAIL_OK OK MAIL_OK RCPT_OK
		 GO_AHEAD QUEUED BYE,
	 "MAIL <a@example.org> RCPT <b@example.net> <c@example.net>\n"
	 "Subject: one\r\n\r\n.\r\n.x\r\ny\r\nlast\r\n<EOM>\n"
	 "MAIL <> RCPT <d@example.net>\nSubject: two\r\n\r\nbody\r\n<EOM>\n",
	 ST_OK, ST_OK},
	{"bare LF lines, no EHLO, spaces and bare addresses",
	 S("MAIL FROM: a@example.org\nRCPT TO: <b@example.net>\nDATA\nhi\n.\nQUIT\n"),
	 GREET MAIL_OK RCPT_OK GO_AHEAD QUEUED BYE,
	 "MAIL <a@example.org> RCPT <b@example.net>\nhi\n<EOM>\n", ST_OK, ST_OK},
	{"source route dropped, quoted local part kept",
	 S("MAIL FROM:<@relay.example:a@example.org>\r\nRCPT TO:<\"x>y\"@example.net>\r\n"
	   "DATA\r\n.\r\nQUIT\r\n"),
	 GREET MAIL_OK RCPT_OK GO_AHEAD QUEUED BYE,
	 "MAIL <a@example.org> RCPT <\"x>y\"@example.net>\n<EOM>\n", ST_OK, ST_OK},
	{"permanent refusal: 5xx on one line, session goes on",
	 S("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nhi\r\n.\r\nNOOP\r\nQUIT\r\n"),
	 GREET MAIL_OK RCPT_OK GO_AHEAD "554 5.0.0 Error: refused  for a reason\r\n" OK BYE,
	 "MAIL <a@x> RCPT <b@y>\nhi\r\n<EOM>\n", ST_MESSAGE_PERM, ST_OK},
	{"temporary failure: 4xx, transaction reset",
	 S("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nhi\r\n.\r\nRCPT TO:<c@y>\r\nQUIT\r\n"),
	 GREET MAIL_OK RCPT_OK GO_AHEAD "451 4.0.0 Error: refused  for a reason\r\n" NEED_MAIL BYE,
	 "MAIL <a@x> RCPT <b@y>\nhi\r\n<EOM>\n", ST_SERVER_TEMP, ST_OK},
	{"bad sequences",
	 S("RCPT TO:<b@y>\r\nDATA\r\nMAIL FROM:<a@x>\r\nDATA\r\nMAIL FROM:<c@x>\r\nQUIT\r\n"),
	 GREET NEED_MAIL NEED_MAIL MAIL_OK "503 5.5.1 Error: need RCPT command\r\n"
					   "503 5.5.1 Error: nested MAIL command\r\n" BYE,
	 "", ST_OK, ST_OK},
	{"unknown, unimplemented and malformed commands",
	 S("\r\nFOO\r\nEXPN list\r\nAUTH PLAIN\r\nSTARTTLS\r\nEHLO\r\nHELO\r\n"
	   "NO\0OP\r\nNO\rOP\r\nVRFY\r\nVRFY root\r\nHELP\r\nQUIT\r\n"),
	 GREET NOT_RECOGNIZED NOT_RECOGNIZED NOT_IMPLEMENTED NOT_IMPLEMENTED NOT_IMPLEMENTED
	 "501 5.5.4 Syntax: EHLO hostname\r\n"
	 "501 5.5.4 Syntax: HELO hostname\r\n" BAD_CHAR BAD_CHAR
	 "501 5.5.4 Syntax: VRFY address\r\n"
	 "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n"
	 "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP\r\n" BYE,
	 "", ST_OK, ST_OK},
	{"malformed MAIL",
	 S("MAIL\r\nMAIL TO:<a@x>\r\nMAIL FROM:<a@x\r\nMAIL FROM:<a@x>junk\r\n"
	   "MAIL FROM:<a b@x>\r\nMAIL FROM:<@relay>\r\nMAIL FROM:<a@x> SIZE=abc\r\n"
	   "MAIL FROM:<a@x> SIZE=-1\r\nMAIL FROM:<a@x> SIZE=2001\r\n"
	   "MAIL FROM:<a@x> BODY=BINARYMIME\r\nMAIL FROM:<a@x> AUTH=<>\r\nQUIT\r\n"),
	 GREET MAIL_SYNTAX MAIL_SYNTAX MAIL_SYNTAX MAIL_SYNTAX
	 "501 5.1.7 Error: bad sender address syntax\r\n" MAIL_SYNTAX
	 "501 5.5.4 Error: bad SIZE parameter\r\n"
	 "501 5.5.4 Error: bad SIZE parameter\r\n" TOO_BIG
	 "501 5.5.4 Error: BODY must be 7BIT or 8BITMIME\r\n"
	 "555 5.5.4 Error: unsupported MAIL parameter\r\n" BYE,
	 "", ST_OK, ST_OK},
	{"malformed RCPT, DATA and RSET",
	 S("MAIL FROM:<a@x>\r\nRCPT TO:<>\r\nRCPT TO:b@y NOTIFY=NEVER\r\nRCPT TO:<b\x01@y>\r\n"
	   "RCPT\r\nRCPT FROM:<b@y>\r\nDATA x\r\nRSET x\r\nQUIT\r\n"),
	 GREET MAIL_OK BAD_RCPT "555 5.5.4 Error: unsupported RCPT parameter\r\n" BAD_RCPT
				"501 5.5.4 Syntax: RCPT TO:<address>\r\n"
				"501 5.5.4 Syntax: RCPT TO:<address>\r\n"
				"501 5.5.4 Syntax: DATA\r\n"
				"501 5.5.4 Syntax: RSET\r\n" BYE,
	 "", ST_OK, ST_OK},
	{"EHLO resets the transaction", S("MAIL FROM:<a@x>\r\nEHLO c\r\nRCPT TO:<b@y>\r\n"),
	 GREET MAIL_OK EHLO_REPLY NEED_MAIL, "", ST_OK, ST_OK},
	{"EOF between commands: 0", S("NOOP\r\n"), GREET OK, "", ST_OK, ST_OK},
	{"EOF in a command line: ignored", S("NOOP\r\nQUI"), GREET OK, "", ST_OK, ST_OK},
	{"EOF in DATA: nothing submitted, data error",
	 S("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nSubject: cut\r\n\r\nhalf\r\n"),
	 GREET MAIL_OK RCPT_OK GO_AHEAD, "", ST_OK, ST_DATAERR},
	{"EOF in DATA after a dot without LF",
	 S("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nhalf\r\n."), GREET MAIL_OK RCPT_OK GO_AHEAD,
	 "", ST_OK, ST_DATAERR},
	{"commands after QUIT are not read", S("QUIT\r\nNOOP\r\n"), GREET BYE, "", ST_OK, ST_OK},
};

/* A memory file holding s[0..n), positioned at its start. */
static int
memfile(const char *s, size_t n)
{
	int fd = memfd_create("bs-t", MFD_CLOEXEC);

	if (fd < 0)
		bail("memfd_create: %s", strerror(errno));
	if (n > 0 && write(fd, s, n) != (ssize_t)n)
		bail("write: %s", strerror(errno));
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void
slurp(int fd, struct buf *out)
{
	char block[4096];
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, block, sizeof block)) > 0)
		buf_append(out, block, (size_t)n);
}

static struct bs_params
params(struct fake *f, int timeout_ms)
{
	struct bs_params p = {
		.hostname = HOST,
		.max_size = MAX_SIZE,
		.submit = fake_submit,
		.ctx = f,
		.timeout_ms = timeout_ms,
	};

	return p;
}

/* Runs a session over in[0..n); the replies land in out (initialised
 * here).  Returns the session's status, ST_OK for 0. */
static enum status
session(const char *in, size_t n, struct fake *f, struct buf *out)
{
	struct bs_params p = params(f, -1);
	struct error e;
	int in_fd = memfile(in, n), out_fd = memfile("", 0);
	int rc;

	error_clear(&e);
	rc = bs_serve(&p, in_fd, out_fd, &e);
	buf_init(out, 0);
	slurp(out_fd, out);
	close(in_fd);
	close(out_fd);
	if (rc < 0 && e.status == ST_OK)
		return ST__COUNT;
	return rc == 0 ? ST_OK : e.status;
}

static const char *
text(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

static void
test_scripts(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fake f = {.status = cases[i].submit_status};
		struct buf out;
		enum status st;

		buf_init(&f.log, 0);
		buf_reset(&logged);
		st = session(cases[i].in, cases[i].in_len, &f, &out);
		is_string(cases[i].out, text(&out), "%s: replies", cases[i].what);
		is_string(cases[i].submitted, text(&f.log), "%s: submitted", cases[i].what);
		is_string(status_name(cases[i].status), status_name(st), "%s: session status",
			  cases[i].what);
		ok((cases[i].submit_status != ST_OK) == (strstr(text(&logged), "refused") != NULL),
		   "%s: a refusal is also reported on stderr", cases[i].what);
		buf_free(&out);
		buf_free(&f.log);
	}
}

/* Inputs built at run time: long lines, many recipients, large bodies. */
static void
test_bounds(void)
{
	struct fake f = {.status = ST_OK};
	struct buf in, out, want;

	/* A command line over BS_COMMAND_MAX is refused whole; the next works. */
	buf_init(&in, 0);
	buf_init(&f.log, 0);
	buf_puts(&in, "NOOP ");
	for (size_t i = 0; i < 3 * BS_COMMAND_MAX; i++)
		buf_puts(&in, "x");
	buf_puts(&in, "\r\nNOOP\r\n");
	session(in.data, in.len, &f, &out);
	is_string(GREET "500 5.5.2 Error: line too long\r\n" OK, text(&out), "long command line");
	buf_free(&out);

	/* BS_RCPT_MAX recipients, then 452. */
	buf_reset(&in);
	buf_init(&want, 0);
	buf_puts(&in, "MAIL FROM:<a@x>\r\n");
	buf_puts(&want, GREET MAIL_OK);
	for (size_t i = 0; i <= BS_RCPT_MAX; i++) {
		buf_printf(&in, "RCPT TO:<r%zu@y>\r\n", i);
		buf_puts(&want,
			 i < BS_RCPT_MAX ? RCPT_OK : "452 4.5.3 Error: too many recipients\r\n");
	}
	session(in.data, in.len, &f, &out);
	is_string(text(&want), text(&out), "recipients bounded by BS_RCPT_MAX");
	buf_free(&out);

	/* A body one octet over the limit: 552, nothing submitted, session
	 * goes on; exactly at the limit: submitted. */
	for (int extra = 0; extra <= 1; extra++) {
		buf_reset(&in);
		buf_reset(&f.log);
		buf_puts(&in, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
		for (size_t i = 0; i < MAX_SIZE / 100; i++)
			buf_printf(&in, "%0*zu\r\n", i == 0 ? 98 + extra : 98, i);
		buf_puts(&in, ".\r\nNOOP\r\n");
		session(in.data, in.len, &f, &out);
		is_string(extra ? GREET MAIL_OK RCPT_OK GO_AHEAD TOO_BIG OK
				: GREET MAIL_OK RCPT_OK GO_AHEAD QUEUED OK,
			  text(&out), "body of %d octets: replies", MAX_SIZE + extra);
		is_int(!extra, f.log.len > 0, "body of %d octets: %s", MAX_SIZE + extra,
		       extra ? "not submitted" : "submitted");
		buf_free(&out);
	}

	buf_free(&in);
	buf_free(&want);
	buf_free(&f.log);
}

/* A data line longer than the reader's block, starting with a dot. */
static void
test_long_data_line(void)
{
	struct fake f = {.status = ST_OK};
	struct bs_params p = params(&f, -1);
	struct buf in, out, want;
	struct error e;
	int in_fd, out_fd;

	p.max_size = 1024 * 1024;
	buf_init(&in, 0);
	buf_init(&want, 0);
	buf_init(&f.log, 0);
	buf_puts(&in, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n..");
	buf_puts(&want, "MAIL <a@x> RCPT <b@y>\n.");
	for (size_t i = 0; i < 200000; i++) {
		buf_puts(&in, i == 65534 ? "." : "y");
		buf_puts(&want, i == 65534 ? "." : "y");
	}
	buf_puts(&in, "\r\n.\r\n");
	buf_puts(&want, "\r\n<EOM>\n");
	in_fd = memfile(in.data, in.len);
	out_fd = memfile("", 0);
	is_int(0, bs_serve(&p, in_fd, out_fd, &e), "long data line: session ends well");
	buf_init(&out, 0);
	slurp(out_fd, &out);
	is_string(GREET MAIL_OK RCPT_OK GO_AHEAD QUEUED, text(&out), "long data line: replies");
	ok(want.len == f.log.len && memcmp(want.data, f.log.data, want.len) == 0,
	   "long data line: 200001 octets submitted, only the first dot removed");
	close(in_fd);
	close(out_fd);
	buf_free(&in);
	buf_free(&out);
	buf_free(&want);
	buf_free(&f.log);
}

/* A client that goes silent: 421, ST_IOERR. */
static void
test_timeout(void)
{
	struct fake f = {.status = ST_OK};
	struct bs_params p = params(&f, 50);
	struct buf out;
	struct error e;
	int fds[2], out_fd = memfile("", 0);

	if (pipe(fds) < 0)
		bail("pipe: %s", strerror(errno));
	if (write(fds[1], "NOOP\r\nNO", 8) != 8)
		bail("write: %s", strerror(errno));
	buf_init(&f.log, 0);
	is_int(-1, bs_serve(&p, fds[0], out_fd, &e), "idle client: session fails");
	is_string(status_name(ST_IOERR), status_name(e.status), "idle client: ST_IOERR");
	buf_init(&out, 0);
	slurp(out_fd, &out);
	is_string(GREET OK "421 4.4.2 " HOST " Error: timeout exceeded\r\n", text(&out),
		  "idle client: 421");
	close(fds[0]);
	close(fds[1]);
	close(out_fd);
	buf_free(&out);
	buf_free(&f.log);
}

/* A client that has gone away: the write error ends the session. */
static void
test_write_error(void)
{
	struct fake f = {.status = ST_OK};
	struct bs_params p = params(&f, -1);
	struct error e;
	int fds[2], in_fd = memfile(S("NOOP\r\n"));

	if (pipe(fds) < 0)
		bail("pipe: %s", strerror(errno));
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	is_int(-1, bs_serve(&p, in_fd, fds[1], &e), "closed output: session fails");
	is_string(status_name(ST_IOERR), status_name(e.status), "closed output: ST_IOERR");
	close(fds[1]);
	close(in_fd);
}

/* The reply to the final dot for every class. */
static void
test_final_replies(void)
{
	struct buf out;
	struct error e;
	char long_msg[1000];

	buf_init(&out, 0);
	bs_final_reply(NULL, &out);
	is_string("250 2.0.0 Ok: queued", text(&out), "success");
	for (int st = ST_OK + 1; st < ST__COUNT; st++) {
		buf_reset(&out);
		error_set(&e, st, "why");
		bs_final_reply(&e, &out);
		is_int(status_is_temporary(st) ? '4' : '5', out.len > 0 ? out.data[0] : 0, "%s: %s",
		       status_name(st), text(&out));
		is_int(out.data[4], out.data[0], "%s: enhanced code of the same class",
		       status_name(st));
		ok(out.len > 4 && strcmp(out.data + out.len - 4, " why") == 0, "%s: message kept",
		   status_name(st));
	}
	/* A long message of 2-octet UTF-8 characters: bounded, not cut inside one. */
	for (size_t i = 0; i + 1 < sizeof long_msg; i += 2)
		memcpy(long_msg + i, "\xc3\xa4", 2);
	long_msg[sizeof long_msg - 1] = '\0';
	buf_reset(&out);
	error_set(&e, ST_CONFIG, "%s", long_msg);
	bs_final_reply(&e, &out);
	ok(out.len <= 510, "long message bounded (%zu octets)", out.len);
	ok(out.len > 0 && (unsigned char)out.data[out.len - 1] == 0xa4,
	   "long message ends on a whole character");
	buf_free(&out);
}

int
main(void)
{
	plan_lazy();
	buf_init(&logged, 0);
	log_set_sink(capture, NULL);
	test_scripts();
	test_bounds();
	test_long_data_line();
	test_timeout();
	test_write_error();
	test_final_replies();
	log_set_sink(NULL, NULL);
	buf_free(&logged);
	return 0;
}
