/* smtp_actions-t.c - tests for src/smtp_actions.c through smtp_step() on
 * a session built by hand, its transport one end of a socketpair whose
 * other end plays the server: the command choke point (CR, LF and
 * over-long commands refused before a byte goes out, classed as the
 * message's fault for MAIL and RCPT and the account's otherwise), the
 * commands as written (MAIL parameters, xtext, a pipelined group in one
 * write), and the deadlines: the session clock (10 times the timeout,
 * clamped, never for "no limit") and the messages when a reply, the
 * greeting or the session runs out of time. */
#include "config.h"

#include "smtp_private.h"

#include "net.h"
#include "tap/basic.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SHORT_MS 200

static struct smtp_params params;
static struct smtp_session *s;
static int peer = -1; /* the server's end */

/* A fresh session in state st over a new socketpair. */
static void
session(enum smtp_state st)
{
	int sv[2];

	if (s != NULL) {
		close(s->t.fd);
		close(peer);
		free(s);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		bail("socketpair: %s", strerror(errno));
	s = xcalloc(1, sizeof *s);
	s->p = &params;
	s->o = &s->out;
	s->state = st;
	transport_init(&s->t, sv[0], params.timeout_ms);
	peer = sv[1];
	smtp_start_clock(s);
}

/* Everything the client wrote so far. */
static char *
sent(void)
{
	struct buf b;
	char chunk[4096];
	ssize_t n;

	buf_init(&b, 0);
	while ((n = read(peer, chunk, sizeof chunk)) > 0)
		buf_append(&b, chunk, (size_t)n);
	buf_append(&b, "", 1);
	return b.data;
}

static void
say(const char *text)
{
	if (write(peer, text, strlen(text)) != (ssize_t)strlen(text))
		bail("write: %s", strerror(errno));
}

static void
step(struct reply *r, struct smtp_event *ev)
{
	reply_init(r);
	smtp_step(s, r, ev);
}

struct choke_case {
	const char *name;
	enum smtp_state state;
	const char *from, *rcpt, *domain;
	enum status status;
};

static void
test_choke_point(void)
{
	char *long_addr = xcalloc(1, 70000);
	struct choke_case cases[] = {
		{"MAIL with CRLF", S_MAIL, "a@example.org\r\nRCPT TO:<x@evil>", "b@example.org",
		 "example.org", ST_DATAERR},
		{"MAIL with a bare LF", S_MAIL, "a@exa\nmple.org", "b@example.org", "example.org",
		 ST_DATAERR},
		{"MAIL over 64 KiB", S_MAIL, long_addr, "b@example.org", "example.org", ST_DATAERR},
		{"RCPT with a bare CR", S_RCPT, "a@example.org", "b@exa\rmple.org", "example.org",
		 ST_DATAERR},
		{"EHLO with CRLF", S_EHLO, "a@example.org", "b@example.org",
		 "example.org\r\nMAIL FROM:<>", ST_CONFIG},
		{"HELO with a bare LF", S_HELO, "a@example.org", "b@example.org", "exa\nmple",
		 ST_CONFIG},
		{"EHLO over 64 KiB", S_EHLO, "a@example.org", "b@example.org", long_addr,
		 ST_CONFIG},
	};

	memset(long_addr, 'a', 69999);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct smtp_rcpt rcpt = {.addr = cases[i].rcpt};
		struct smtp_mail m = {.from = cases[i].from, .rcpts = &rcpt, .nrcpts = 1};
		struct smtp_event ev;
		struct reply r;
		char *out;

		params.helo_domain = cases[i].domain;
		session(cases[i].state);
		s->m = &m;
		step(&r, &ev);
		is_int(EV_IO_FAILED, ev.kind, "%s: the step fails", cases[i].name);
		ok(!ev.awaiting_reply, "%s: no reply is awaited", cases[i].name);
		is_int(cases[i].status, s->io.status, "%s: its class", cases[i].name);
		ok(strstr(s->io.msg, "refusing to send a command longer than 65536 bytes or "
				     "containing CR, LF or NUL") != NULL,
		   "%s: %s", cases[i].name, s->io.msg);
		ok((cases[i].status == ST_CONFIG) == (strstr(s->io.msg, "domain") != NULL),
		   "%s: the account's settings named only when they are the cause", cases[i].name);
		out = sent();
		is_string("", out, "%s: nothing went out", cases[i].name);
		free(out);
	}
	params.helo_domain = "example.org";
	free(long_addr);
}

struct command_case {
	const char *name;
	unsigned caps;
	const char *dsn_return, *dsn_envid, *dsn_notify;
	bool eightbit, smtputf8;
	const char *expected;
	size_t pending; /* pipelined replies due */
};

static void
test_commands(void)
{
	static const struct command_case cases[] = {
		{"plain MAIL", 0, NULL, NULL, NULL, false, false, "MAIL FROM:<a@example.org>\r\n",
		 0},
		{"SIZE", CAP_SIZE, NULL, NULL, NULL, false, false,
		 "MAIL FROM:<a@example.org> SIZE=1234\r\n", 0},
		{"8BITMIME only when offered", 0, NULL, NULL, NULL, true, false,
		 "MAIL FROM:<a@example.org>\r\n", 0},
		{"8BITMIME and SMTPUTF8", CAP_8BITMIME, NULL, NULL, NULL, true, true,
		 "MAIL FROM:<a@example.org> BODY=8BITMIME SMTPUTF8\r\n", 0},
		{"DSN, ENVID in xtext", CAP_DSN, "HDRS", "a+b=c d\x01", NULL, false, false,
		 "MAIL FROM:<a@example.org> RET=HDRS ENVID=a+2Bb+3Dc+20d+01\r\n", 0},
		{"DSN not offered", 0, "HDRS", "x", NULL, false, false,
		 "MAIL FROM:<a@example.org>\r\n", 0},
		{"PIPELINING: one group", CAP_PIPELINING | CAP_DSN, NULL, NULL, "FAILURE", false,
		 false,
		 "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org> NOTIFY=FAILURE\r\n"
		 "RCPT TO:<c@example.org> NOTIFY=FAILURE\r\nDATA\r\n",
		 3},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct smtp_rcpt rcpts[] = {{.addr = "b@example.org"}, {.addr = "c@example.org"}};
		struct smtp_mail m = {.from = "a@example.org",
				      .rcpts = rcpts,
				      .nrcpts = 2,
				      .size = 1234,
				      .dsn_return = cases[i].dsn_return,
				      .dsn_envid = cases[i].dsn_envid,
				      .dsn_notify = cases[i].dsn_notify,
				      .eightbit = cases[i].eightbit,
				      .smtputf8 = cases[i].smtputf8};
		struct smtp_event ev;
		struct reply r;
		char *out;

		session(S_MAIL);
		s->m = &m;
		s->out.caps.flags = cases[i].caps;
		say("250 2.1.0 ok\r\n");
		step(&r, &ev);
		is_int(EV_REPLY, ev.kind, "%s: a reply", cases[i].name);
		is_int(250, r.code, "%s: its code", cases[i].name);
		out = sent();
		is_string(cases[i].expected, out, "%s: what went out", cases[i].name);
		free(out);
		is_int((long)cases[i].pending, (long)s->pending_replies,
		       "%s: pipelined replies still due", cases[i].name);
		ok(s->pipelined == (cases[i].pending > 0), "%s: pipelined or not", cases[i].name);
	}
}

static void
test_clock(void)
{
	static const struct {
		int timeout_ms;
		int limit_ms; /* expected session limit; -1: none */
	} cases[] = {
		{1000, 10000},
		{SHORT_MS, 10 * SHORT_MS},
		{INT_MAX / 2, INT_MAX},
		{INT_MAX, INT_MAX},
		{-1, -1},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t before, after;

		params.timeout_ms = cases[i].timeout_ms;
		before = net_deadline(cases[i].limit_ms);
		session(S_GREETING);
		after = net_deadline(cases[i].limit_ms);
		ok(s->session_deadline >= before && s->session_deadline <= after,
		   "timeout %d ms: the session deadline is %d ms away", cases[i].timeout_ms,
		   cases[i].limit_ms);
		if (cases[i].limit_ms < 0)
			is_int(-1, net_remaining(s->session_deadline),
			       "no timeout: the session deadline never passes");
	}
	params.timeout_ms = SHORT_MS;
}

struct timeout_case {
	const char *name;
	enum smtp_state state;
	bool session_over; /* the session's deadline has passed already */
	const char *expected;
	bool reached;
};

static void
test_timeouts(void)
{
	static const struct timeout_case cases[] = {
		{"no reply to EHLO", S_EHLO, false,
		 "timed out: the server sent no complete reply to EHLO within 0.2 s; the "
		 "connection was dropped",
		 false},
		{"no greeting", S_GREETING, false,
		 "timed out: /nonexistent/smtp.sock sent no complete greeting within 0.2 s; the "
		 "connection was dropped",
		 true},
		{"the session's time is up", S_EHLO, true,
		 "timed out: the session with /nonexistent/smtp.sock took longer than 2 s (10 "
		 "times 'timeout'); the connection was dropped",
		 false},
	};

	params.timeout_ms = SHORT_MS;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct smtp_event ev;
		struct reply r;
		int64_t start;
		char *out;

		session(cases[i].state);
		if (cases[i].session_over)
			s->session_deadline = net_deadline(0);
		start = net_deadline(0);
		step(&r, &ev);
		is_int(EV_IO_FAILED, ev.kind, "%s: fails", cases[i].name);
		ok(ev.awaiting_reply, "%s: while awaiting the reply", cases[i].name);
		is_int(ST_CONNECT, s->io.status, "%s: ST_CONNECT", cases[i].name);
		is_string(cases[i].expected, s->io.msg, "%s: the message", cases[i].name);
		ok(s->out.reached == cases[i].reached, "%s: the server %s reached", cases[i].name,
		   cases[i].reached ? "was" : "was not");
		ok(net_deadline(0) - start < 2000, "%s: within the deadline", cases[i].name);
		out = sent();
		free(out);
	}
}

int
main(void)
{
	plan_lazy();
	params.socket_path = "/nonexistent/smtp.sock"; /* names the server; never connected */
	params.helo_domain = "example.org";
	params.timeout_ms = SHORT_MS;
	test_choke_point();
	test_commands();
	test_clock();
	test_timeouts();
	if (s != NULL) {
		close(s->t.fd);
		close(peer);
		free(s);
	}
	return 0;
}
