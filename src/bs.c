/* bs.c - `-bs`: the server side of an SMTP session on stdin/stdout.
 *
 * Untrusted input: everything the client sends (commands, addresses,
 * parameters, message data).  Command lines are bounded by BS_COMMAND_MAX,
 * addresses checked by address_check(), recipients counted, message data
 * bounded by the size limit and streamed into a private memory file,
 * every read bounded in time by the idle timeout.  Nothing the client
 * sends is echoed into a reply.
 *
 * One table of commands; a transaction is "no sender" (from == NULL),
 * "sender" or "sender and recipients", and only the command handlers
 * change it.  DATA is read inline by receive_data(). */
#include "config.h"

#include "bs.h"

#include "address.h"
#include "i18n.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

/* Input is read in blocks this large; a data line longer than this is
 * handled in pieces. */
#define BS_READ_BLOCK 65536
/* Replies are written once this much is pending, and always before the
 * session waits for input. */
#define BS_REPLY_FLUSH 16384
/* A reply line is at most 512 octets with CRLF (RFC 5321 4.5.3.1.5). */
#define BS_REPLY_TEXT_MAX 400

struct reader {
	int fd;
	int timeout_ms;
	char block[BS_READ_BLOCK];
	size_t start, end;
	bool eof;
};

struct session {
	const struct bs_params *p;
	struct reader in;
	int out_fd;
	struct buf out; /* replies not yet written */
	char *from;     /* NULL: no transaction */
	struct strlist rcpts;
	bool quit;
};

static int
flush_replies(struct session *s, struct error *e)
{
	size_t off = 0;

	while (off < s->out.len) {
		ssize_t w = write(s->out_fd, s->out.data + off, s->out.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return error_set(e, ST_IOERR, _("cannot write the SMTP reply: %s"),
					 strerror(errno));
		off += (size_t)w;
	}
	buf_reset(&s->out);
	return 0;
}

/* Queues one reply line; its text is the session's own, never the
 * client's. */
static int replyf(struct session *s, struct error *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
replyf(struct session *s, struct error *e, const char *fmt, ...)
{
	size_t before = s->out.len;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	if (rc < 0 || buf_puts(&s->out, "\r\n") < 0) {
		/* Never half a reply on the wire. */
		s->out.len = before;
		if (s->out.data != NULL)
			s->out.data[before] = '\0';
		return error_set(e, ST_SOFTWARE, _("too many SMTP replies pending"));
	}
	return s->out.len >= BS_REPLY_FLUSH ? flush_replies(s, e) : 0;
}

static int
reply(struct session *s, const char *text, struct error *e)
{
	return replyf(s, e, "%s", text);
}

/* Waits for input (writing pending replies first, RFC 2920 3.1) and
 * appends what arrives to the block.  0, or -1 with e set. */
static int
fill(struct session *s, struct error *e)
{
	struct reader *r = &s->in;
	struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
	ssize_t n;
	int ready;

	if (flush_replies(s, e) < 0)
		return -1;
	if (r->start > 0) {
		memmove(r->block, r->block + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	do
		ready = poll(&pfd, 1, r->timeout_ms);
	while (ready < 0 && errno == EINTR);
	if (ready == 0) {
		replyf(s, e, "421 4.4.2 %s Error: timeout exceeded", s->p->hostname);
		flush_replies(s, e);
		return error_set(e, ST_IOERR,
				 _("the SMTP client sent nothing for %d seconds; session closed"),
				 r->timeout_ms / 1000);
	}
	do
		n = read(r->fd, r->block + r->end, sizeof r->block - r->end);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_set(e, ST_IOERR, _("cannot read the SMTP session: %s"),
				 strerror(errno));
	if (n == 0)
		r->eof = true;
	r->end += (size_t)n;
	return 0;
}

/* The next line, LF included, in *line and *len; a line longer than max comes
 * in pieces of max octets with *complete false (so does a last line
 * without LF).  1, 0 at EOF, -1 with e set. */
static int
read_line(struct session *s, size_t max, const char **line, size_t *len, bool *complete,
	  struct error *e)
{
	struct reader *r = &s->in;

	for (;;) {
		size_t avail = r->end - r->start;
		const char *p = r->block + r->start;
		const char *lf = memchr(p, '\n', avail < max ? avail : max);

		if (lf != NULL || avail >= max || (r->eof && avail > 0)) {
			*line = p;
			*len = lf != NULL ? (size_t)(lf - p) + 1 : avail < max ? avail : max;
			*complete = lf != NULL;
			r->start += *len;
			return 1;
		}
		if (r->eof)
			return 0;
		if (fill(s, e) < 0)
			return -1;
	}
}

static void
transaction_reset(struct session *s)
{
	free(s->from);
	s->from = NULL;
	strlist_free(&s->rcpts);
	strlist_init(&s->rcpts);
}

/* ---- replies to the final dot ---------------------------------------- */

/* Appends msg as reply text: control characters become spaces, at most
 * BS_REPLY_TEXT_MAX octets, never cutting a UTF-8 sequence. */
static void
append_reply_text(struct buf *out, const char *msg)
{
	size_t n = utf8_cut(msg, strlen(msg), BS_REPLY_TEXT_MAX);

	for (size_t i = 0; i < n; i++) {
		char c = (unsigned char)msg[i] < 0x20 || msg[i] == 0x7f ? ' ' : msg[i];

		buf_append(out, &c, 1);
	}
}

void
bs_final_reply(const struct error *e, struct buf *out)
{
	enum status st = e == NULL ? ST_OK : e->status;

	if ((unsigned)st >= ST__COUNT || (e != NULL && st == ST_OK))
		st = ST_SOFTWARE;
	if (st == ST_OK) {
		buf_puts(out, "250 2.0.0 Ok: queued");
		return;
	}
	buf_printf(out, "%d %s Error: ", failure_class(st)->reply_code,
		   failure_class(st)->enhanced);
	append_reply_text(out, e->msg);
}

/* ---- DATA -------------------------------------------------------------- */

/* The fd of a bs_run() session's channel and of the message being
 * submitted, closed in forked children (see bs_run()); -1 when none. */
static int child_closes[2] = {-1, -1};

/* Reads the message up to the line "." (RFC 5321 4.1.1.4), undoing dot
 * stuffing (4.5.2), into a new memory file.  Returns 1 once the final dot
 * arrived: *fd is the message positioned at its start, or -1 with *reason
 * the reply to give (too large, cannot be stored).  Returns 0 at EOF and
 * -1 with e set on a read error or timeout; the message is dropped. */
static int
receive_data(struct session *s, int *fd, const char **reason, struct error *e)
{
	unsigned long long size = 0;
	bool line_start = true;

	*reason = NULL;
	*fd = memfd_create("outbox-bs", MFD_CLOEXEC);
	if (*fd < 0)
		*reason = "451 4.3.0 Error: cannot store the message";
	child_closes[1] = *fd;
	for (;;) {
		const char *p;
		size_t n;
		bool complete;
		int rc = read_line(s, sizeof s->in.block, &p, &n, &complete, e);

		if (rc <= 0) {
			if (*fd >= 0)
				close(*fd);
			child_closes[1] = *fd = -1;
			return rc;
		}
		if (line_start && p[0] == '.') {
			if (complete && (n == 2 || (n == 3 && p[1] == '\r')))
				break;
			p++;
			n--;
		}
		line_start = complete;
		if (*reason != NULL)
			continue;
		if (size + n > s->p->max_size)
			*reason =
				"552 5.3.4 Error: message size exceeds fixed maximum message size";
		else if (write_all(*fd, p, n) < 0)
			*reason = "451 4.3.0 Error: cannot store the message";
		size += n;
	}
	if (*reason == NULL && lseek(*fd, 0, SEEK_SET) == 0)
		return 1;
	if (*reason == NULL)
		*reason = "451 4.3.0 Error: cannot store the message";
	if (*fd >= 0)
		close(*fd);
	child_closes[1] = *fd = -1;
	return 1;
}

/* ---- commands ---------------------------------------------------------- */

static bool
param_is(const char *param, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(param, name, len) == 0;
}

/* The path of "<path> params" (RFC 5321 4.1.2): brackets removed, an
 * obsolete source route dropped; a bare address is taken as far as the
 * first space.  *rest points after it.  NULL on bad syntax. */
static char *
parse_path(const char *s, const char **rest)
{
	const char *end;
	bool quoted = false;

	if (*s != '<') {
		end = s + strcspn(s, " ");
		*rest = end;
		return end > s ? xstrndup(s, (size_t)(end - s)) : NULL;
	}
	for (end = s + 1; *end != '\0' && (quoted || *end != '>'); end++) {
		if (*end == '\\' && quoted && end[1] != '\0')
			end++;
		else if (*end == '"')
			quoted = !quoted;
	}
	if (*end != '>' || (end[1] != '\0' && end[1] != ' '))
		return NULL;
	*rest = end + 1;
	s++;
	if (*s == '@') {
		const char *colon = memchr(s, ':', (size_t)(end - s));

		if (colon == NULL)
			return NULL;
		s = colon + 1;
	}
	return xstrndup(s, (size_t)(end - s));
}

/* "FROM:" or "TO:" (any case), optional spaces, then the path. */
static char *
command_path(const char *arg, const char *keyword, const char **rest)
{
	size_t k = strlen(keyword);

	if (strncasecmp(arg, keyword, k) != 0)
		return NULL;
	arg += k;
	while (*arg == ' ')
		arg++;
	return parse_path(arg, rest);
}

/* MAIL parameters (RFC 1870 SIZE, RFC 6152 BODY): the reply for the first
 * bad one, or NULL. */
static const char *
mail_params(struct session *s, const char *rest)
{
	while (*rest != '\0') {
		size_t len, keylen;
		const char *eq, *value;

		rest += strspn(rest, " ");
		len = strcspn(rest, " ");
		if (len == 0)
			break;
		eq = memchr(rest, '=', len);
		keylen = eq != NULL ? (size_t)(eq - rest) : len;
		value = eq != NULL ? eq + 1 : "";
		if (param_is(rest, keylen, "SIZE")) {
			char digits[24];
			size_t vlen = len - keylen - (eq != NULL);
			long n;

			if (vlen == 0 || vlen >= sizeof digits)
				return "501 5.5.4 Error: bad SIZE parameter";
			memcpy(digits, value, vlen);
			digits[vlen] = '\0';
			if (parse_long(digits, 0, LONG_MAX, &n) < 0)
				return "501 5.5.4 Error: bad SIZE parameter";
			if ((unsigned long long)n > s->p->max_size)
				return "552 5.3.4 Error: message size exceeds fixed maximum "
				       "message size";
		} else if (param_is(rest, keylen, "BODY")) {
			size_t vlen = len - keylen - (eq != NULL);

			if (!param_is(value, vlen, "7BIT") && !param_is(value, vlen, "8BITMIME"))
				return "501 5.5.4 Error: BODY must be 7BIT or 8BITMIME";
		} else {
			return "555 5.5.4 Error: unsupported MAIL parameter";
		}
		rest += len;
	}
	return NULL;
}

static int
cmd_helo(struct session *s, const char *arg, struct error *e)
{
	if (*arg == '\0')
		return reply(s, "501 5.5.4 Syntax: HELO hostname", e);
	transaction_reset(s);
	return replyf(s, e, "250 %s", s->p->hostname);
}

static int
cmd_ehlo(struct session *s, const char *arg, struct error *e)
{
	if (*arg == '\0')
		return reply(s, "501 5.5.4 Syntax: EHLO hostname", e);
	transaction_reset(s);
	return replyf(s, e,
		      "250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n250-8BITMIME\r\n"
		      "250 ENHANCEDSTATUSCODES",
		      s->p->hostname, s->p->max_size);
}

static int
cmd_mail(struct session *s, const char *arg, struct error *e)
{
	const char *rest, *bad;
	struct error ignored;
	char *from;

	if (s->from != NULL)
		return reply(s, "503 5.5.1 Error: nested MAIL command", e);
	from = command_path(arg, "FROM:", &rest);
	if (from == NULL)
		return reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>", e);
	if (address_check(from, &ignored) < 0) {
		free(from);
		return reply(s, "501 5.1.7 Error: bad sender address syntax", e);
	}
	bad = mail_params(s, rest);
	if (bad != NULL) {
		free(from);
		return reply(s, bad, e);
	}
	s->from = from;
	return reply(s, "250 2.1.0 Ok", e);
}

static int
cmd_rcpt(struct session *s, const char *arg, struct error *e)
{
	const char *rest;
	struct error ignored;
	char *to;

	if (s->from == NULL)
		return reply(s, "503 5.5.1 Error: need MAIL command", e);
	to = command_path(arg, "TO:", &rest);
	if (to == NULL)
		return reply(s, "501 5.5.4 Syntax: RCPT TO:<address>", e);
	if (*to == '\0' || address_check(to, &ignored) < 0) {
		free(to);
		return reply(s, "501 5.1.3 Error: bad recipient address syntax", e);
	}
	if (rest[strspn(rest, " ")] != '\0') {
		free(to);
		return reply(s, "555 5.5.4 Error: unsupported RCPT parameter", e);
	}
	if (s->rcpts.n >= BS_RCPT_MAX) {
		free(to);
		return reply(s, "452 4.5.3 Error: too many recipients", e);
	}
	strlist_add_owned(&s->rcpts, to);
	return reply(s, "250 2.1.5 Ok", e);
}

static int
cmd_data(struct session *s, const char *arg, struct error *e)
{
	struct error outcome;
	struct buf text;
	const char *reason;
	int fd, rc;

	if (*arg != '\0')
		return reply(s, "501 5.5.4 Syntax: DATA", e);
	if (s->from == NULL)
		return reply(s, "503 5.5.1 Error: need MAIL command", e);
	if (s->rcpts.n == 0)
		return reply(s, "503 5.5.1 Error: need RCPT command", e);
	if (reply(s, "354 End data with <CR><LF>.<CR><LF>", e) < 0)
		return -1;
	rc = receive_data(s, &fd, &reason, e);
	if (rc == 0)
		return error_set(e, ST_DATAERR,
				 _("the SMTP input ended inside DATA, before the line \".\" that "
				   "ends a message; that message was not sent"));
	if (rc < 0) {
		error_prefix(e, _("message dropped in the middle of DATA"));
		return -1;
	}
	if (reason != NULL) {
		transaction_reset(s);
		return reply(s, reason, e);
	}
	error_clear(&outcome);
	rc = s->p->submit(s->p->ctx, s->from, &s->rcpts, fd, &outcome);
	close(fd);
	child_closes[1] = -1;
	transaction_reset(s);
	buf_init(&text, 0);
	if (rc < 0)
		log_error("%s", outcome.msg);
	bs_final_reply(rc < 0 ? &outcome : NULL, &text);
	rc = reply(s, text.data, e);
	buf_free(&text);
	return rc;
}

static int
cmd_rset(struct session *s, const char *arg, struct error *e)
{
	if (*arg != '\0')
		return reply(s, "501 5.5.4 Syntax: RSET", e);
	transaction_reset(s);
	return reply(s, "250 2.0.0 Ok", e);
}

static int
cmd_noop(struct session *s, const char *arg, struct error *e)
{
	return reply(s, "250 2.0.0 Ok", e);
}

static int
cmd_quit(struct session *s, const char *arg, struct error *e)
{
	s->quit = true;
	return replyf(s, e, "221 2.0.0 %s closing connection", s->p->hostname);
}

static int
cmd_vrfy(struct session *s, const char *arg, struct error *e)
{
	if (*arg == '\0')
		return reply(s, "501 5.5.4 Syntax: VRFY address", e);
	return reply(s,
		     "252 2.5.2 Cannot VRFY user, but will accept message and attempt "
		     "delivery",
		     e);
}

static int cmd_help(struct session *s, const char *arg, struct error *e);

/* The commands; those without a handler are known and refused with 502
 * (RFC 5321 4.2.4). */
static const struct command {
	const char *verb;
	int (*run)(struct session *s, const char *arg, struct error *e);
} commands[] = {
	{"EHLO", cmd_ehlo}, {"HELO", cmd_helo}, {"MAIL", cmd_mail}, {"RCPT", cmd_rcpt},
	{"DATA", cmd_data}, {"RSET", cmd_rset}, {"NOOP", cmd_noop}, {"QUIT", cmd_quit},
	{"VRFY", cmd_vrfy}, {"HELP", cmd_help}, {"EXPN", NULL},     {"AUTH", NULL},
	{"STARTTLS", NULL}, {"BDAT", NULL},     {"ETRN", NULL},     {"TURN", NULL},
};

static int
cmd_help(struct session *s, const char *arg, struct error *e)
{
	struct buf text;
	int rc;

	buf_init(&text, 0);
	buf_puts(&text, "214 2.0.0 Commands:");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (commands[i].run != NULL)
			buf_printf(&text, " %s", commands[i].verb);
	rc = reply(s, text.data, e);
	buf_free(&text);
	return rc;
}

/* One command line (LF included, complete) to its handler. */
static int
dispatch(struct session *s, const char *line, size_t len, struct error *e)
{
	char cmd[BS_COMMAND_MAX + 1];
	size_t verb_len;
	char *arg;

	len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) != NULL)
		return reply(s, "500 5.5.2 Error: bad character in command", e);
	memcpy(cmd, line, len);
	while (len > 0 && cmd[len - 1] == ' ')
		len--;
	cmd[len] = '\0';
	verb_len = strcspn(cmd, " ");
	arg = cmd + verb_len;
	arg += strspn(arg, " ");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		const struct command *c = &commands[i];

		if (!param_is(cmd, verb_len, c->verb))
			continue;
		if (c->run == NULL)
			return reply(s, "502 5.5.1 Error: command not implemented", e);
		return c->run(s, arg, e);
	}
	return reply(s, "500 5.5.2 Error: command not recognized", e);
}

int
bs_serve(const struct bs_params *p, int in_fd, int out_fd, struct error *e)
{
	struct session *s = xcalloc(1, sizeof *s);
	int rc;

	s->p = p;
	s->in.fd = in_fd;
	s->in.timeout_ms = p->timeout_ms;
	s->out_fd = out_fd;
	buf_init(&s->out, 1024 * 1024);
	strlist_init(&s->rcpts);
	rc = replyf(s, e, "220 %s outbox ESMTP", p->hostname);
	while (rc == 0 && !s->quit) {
		const char *line;
		size_t len;
		bool complete;

		rc = read_line(s, BS_COMMAND_MAX, &line, &len, &complete, e);
		if (rc <= 0)
			break;
		if (complete) {
			rc = dispatch(s, line, len, e);
			continue;
		}
		/* Too long (or cut off by EOF): skip to the end of the line. */
		while (rc > 0 && !complete)
			rc = read_line(s, BS_COMMAND_MAX, &line, &len, &complete, e);
		if (rc > 0)
			rc = reply(s, "500 5.5.2 Error: line too long", e);
	}
	if (rc >= 0)
		rc = flush_replies(s, e);
	else
		flush_replies(s, &(struct error){0});
	transaction_reset(s);
	buf_free(&s->out);
	free(s);
	return rc < 0 ? -1 : 0;
}

/* ---- outbox -bs ---------------------------------------------------------- */

/* This host's name for the greeting, "localhost" when it has none fit
 * for a reply line. */
static void
host_name(char *out, size_t len)
{
	if (gethostname(out, len) < 0 || out[0] == '\0' || memchr(out, '\0', len) == NULL)
		snprintf(out, len, "localhost");
	for (const char *c = out; *c != '\0'; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f) {
			snprintf(out, len, "localhost");
			break;
		}
}

static void
close_in_child(void)
{
	for (size_t i = 0; i < sizeof child_closes / sizeof child_closes[0]; i++)
		if (child_closes[i] >= 0)
			close(child_closes[i]);
}

/* Moves the SMTP channel off fd 1 (see bs.h); returns the fd to use. */
static int
guard_stdout(int out_fd)
{
	static bool registered;
	int channel;

	if (out_fd != STDOUT_FILENO)
		return out_fd;
	channel = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (channel < 0)
		return out_fd;
	if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null < 0 || dup2(null, STDOUT_FILENO) < 0) {
			close(channel);
			if (null >= 0)
				close(null);
			return out_fd;
		}
		close(null);
	}
	if (!registered && pthread_atfork(NULL, NULL, close_in_child) == 0)
		registered = true;
	child_closes[0] = channel;
	return channel;
}

static void
unguard_stdout(int out_fd, int channel)
{
	if (channel == out_fd)
		return;
	dup2(channel, out_fd);
	close(channel);
	child_closes[0] = -1;
}

int
bs_run(struct bs_params *p, int in_fd, int out_fd, struct error *e)
{
	char host[HOST_NAME_MAX + 1];
	int channel = guard_stdout(out_fd);
	int rc;

	host_name(host, sizeof host);
	p->hostname = host;
	p->timeout_ms = BS_IDLE_TIMEOUT_MS;
	rc = bs_serve(p, in_fd, channel, e);
	p->hostname = NULL;
	unguard_stdout(out_fd, channel);
	return rc;
}
