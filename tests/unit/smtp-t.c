/* smtp-t.c - tests for src/smtp.c and src/smtp_actions.c: the SMTP client
 * state machine against scripted servers.
 *
 * Each row of the table is one session: a script the server plays on a
 * Unix socket (a forked child; the client reaches it through the
 * `socket` setting, so the engine runs unchanged), the message, and what
 * must come of it: the result, the failure class, each recipient's fate
 * and the exact transcript of what the client sent.
 *
 * A script is lines: "> TEXT" sends TEXT and CRLF; "<" reads one command;
 * "<." reads the message up to its final dot; "x" hangs up.  Otherwise,
 * after the script, the server
 * reads whatever else comes until the client closes, so a command sent that
 * the script did not expect shows in the transcript, and "<EOF>" marks
 * where the client hung up. */
#include "config.h"

#include "smtp.h"

#include "lib.h"
#include "tap/basic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMEOUT_MS 3000
#define MESSAGE "Subject: t\r\n\r\nhello\r\n"
#define HEADERS_LEN 14 /* "Subject: t\r\n\r\n" */

enum dsn { NO_DSN, WITH_DSN };

struct scenario {
	const char *name;
	const char *script;
	enum smtp_auth_mode auth_mode;
	const char *auth_mech;
	const char *rcpts[3];
	enum dsn dsn;
	unsigned long long size;
	int rc;
	enum status status;
	enum rcpt_state states[3];
	int code;       /* the outcome's last reply code */
	unsigned caps;  /* the capabilities learned */
	bool uncertain; /* lost after the final dot */
	const char *transcript;
};

/* One scenario reads best as one block: */
/* clang-format off */
#define GREETING "> 220 test.example ESMTP\n"
#define EHLO_PLAIN "<\n> 250 test.example\n"
#define BODY_OK "<\n> 354 go ahead\n<.\n> 250 2.0.0 queued as 1\n"
#define QUIT "<\n> 221 bye\n"
#define SENT_BODY "DATA\nSubject: t\n\nhello\n.\n"
#define SENT_ONE "EHLO client.test\nMAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\n"
#define SENT_TWO SENT_ONE "RCPT TO:<c@example.net>\n"
#define ONE {"b@example.net"}
#define TWO {"b@example.net", "c@example.net"}
#define DSN_CAPS (CAP_SIZE | CAP_DSN | CAP_AUTH | CAP_8BITMIME)

static const struct scenario scenarios[] = {
	{"a plain send", GREETING EHLO_PLAIN "<\n> 250 ok\n<\n> 250 ok\n" BODY_OK QUIT,
	 SMTP_AUTH_OFF, NULL, ONE, NO_DSN, 100, 0, ST_OK, {RCPT_ACCEPTED}, 250, 0, false,
	 SENT_ONE SENT_BODY "QUIT\n<EOF>\n"},
	/* The server answers nothing until DATA has come: a client that
	 * waited for the MAIL reply would time out. */
	{"PIPELINING: MAIL, RCPTs and DATA in one write",
	 GREETING "<\n> 250-test.example\n> 250 PIPELINING\n<\n<\n<\n<\n> 250 ok\n> 250 ok\n"
		  "> 550 5.1.1 no such user\n> 354 go ahead\n<.\n> 250 queued\n" QUIT,
	 SMTP_AUTH_OFF, NULL, TWO, NO_DSN, 100, 0, ST_OK, {RCPT_ACCEPTED, RCPT_PERMFAIL}, 250,
	 CAP_PIPELINING, false, SENT_TWO SENT_BODY "QUIT\n<EOF>\n"},
	{"a 4xx RCPT among accepted ones: sent, that one is for later",
	 GREETING EHLO_PLAIN "<\n> 250 ok\n<\n> 451 4.3.0 try later\n<\n> 250 ok\n" BODY_OK QUIT,
	 SMTP_AUTH_OFF, NULL, TWO, NO_DSN, 100, 0, ST_OK, {RCPT_TEMPFAIL, RCPT_ACCEPTED}, 250, 0,
	 false, SENT_TWO SENT_BODY "QUIT\n<EOF>\n"},
	{"the only RCPT 4xx: a temporary failure, RSET, QUIT",
	 GREETING EHLO_PLAIN "<\n> 250 ok\n<\n> 450 4.2.1 busy\n<\n> 250 reset\n" QUIT,
	 SMTP_AUTH_OFF, NULL, ONE, NO_DSN, 100, -1, ST_SERVER_TEMP, {RCPT_TEMPFAIL}, 450, 0,
	 false, SENT_ONE "RSET\nQUIT\n<EOF>\n"},
	{"a 5xx MAIL: the message is refused for good, RSET, QUIT",
	 GREETING EHLO_PLAIN "<\n> 550 5.7.1 not from you\n<\n> 250 reset\n" QUIT, SMTP_AUTH_OFF,
	 NULL, ONE, NO_DSN, 100, -1, ST_MESSAGE_PERM, {RCPT_PENDING}, 550, 0, false,
	 "EHLO client.test\nMAIL FROM:<a@example.org>\nRSET\nQUIT\n<EOF>\n"},
	{"a reply invalid for its command: protocol error, temporary, dropped",
	 GREETING EHLO_PLAIN "<\n> 354 go ahead\n", SMTP_AUTH_OFF, NULL, ONE, NO_DSN, 100, -1,
	 ST_SERVER_TEMP, {RCPT_PENDING}, 354, 0, false,
	 "EHLO client.test\nMAIL FROM:<a@example.org>\n<EOF>\n"},
	{"a 421 greeting: temporary, nothing sent but QUIT", "> 421 4.3.2 closing\n" QUIT,
	 SMTP_AUTH_OFF, NULL, ONE, NO_DSN, 100, -1, ST_SERVER_TEMP, {RCPT_PENDING}, 421, 0, false,
	 "QUIT\n<EOF>\n"},
	{"a multi-line EHLO with SIZE, DSN and AUTH: the MAIL and RCPT parameters",
	 GREETING "<\n> 250-test.example greets you\n> 250-SIZE 1000000\n> 250-DSN\n"
		  "> 250-AUTH PLAIN LOGIN\n> 250 8BITMIME\n<\n> 250 ok\n<\n> 250 ok\n" BODY_OK QUIT,
	 SMTP_AUTH_OFF, NULL, ONE, WITH_DSN, 100, 0, ST_OK, {RCPT_ACCEPTED}, 250, DSN_CAPS, false,
	 "EHLO client.test\nMAIL FROM:<a@example.org> SIZE=100 RET=HDRS ENVID=id+2B1\n"
	 "RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE\n" SENT_BODY "QUIT\n<EOF>\n"},
	{"larger than SIZE: refused before MAIL",
	 GREETING "<\n> 250-test.example\n> 250 SIZE 50\n<\n> 250 reset\n" QUIT, SMTP_AUTH_OFF,
	 NULL, ONE, NO_DSN, 100, -1, ST_MESSAGE_PERM, {RCPT_PENDING}, 0, CAP_SIZE, false,
	 "EHLO client.test\nRSET\nQUIT\n<EOF>\n"},
	{"HELO when EHLO is refused",
	 GREETING "<\n> 502 no EHLO\n<\n> 250 hi\n<\n> 250 ok\n<\n> 250 ok\n" BODY_OK QUIT,
	 SMTP_AUTH_OFF, NULL, ONE, NO_DSN, 100, 0, ST_OK, {RCPT_ACCEPTED}, 250, 0, false,
	 "EHLO client.test\nHELO client.test\nMAIL FROM:<a@example.org>\n"
	 "RCPT TO:<b@example.net>\n" SENT_BODY "QUIT\n<EOF>\n"},
	{"AUTH PLAIN with its initial response",
	 GREETING "<\n> 250-test.example\n> 250 AUTH PLAIN\n<\n> 235 ok\n<\n> 250 ok\n"
		  "<\n> 250 ok\n" BODY_OK QUIT,
	 SMTP_AUTH_ON, NULL, ONE, NO_DSN, 100, 0, ST_OK, {RCPT_ACCEPTED}, 250, CAP_AUTH, false,
	 "EHLO client.test\nAUTH PLAIN AHUAcA==\nMAIL FROM:<a@example.org>\n"
	 "RCPT TO:<b@example.net>\n" SENT_BODY "QUIT\n<EOF>\n"},
	{"AUTH LOGIN: two challenges answered",
	 GREETING "<\n> 250-test.example\n> 250 AUTH LOGIN\n<\n> 334 VXNlcm5hbWU6\n"
		  "<\n> 334 UGFzc3dvcmQ6\n<\n> 235 ok\n<\n> 250 ok\n<\n> 250 ok\n" BODY_OK QUIT,
	 SMTP_AUTH_MECH, "LOGIN", ONE, NO_DSN, 100, 0, ST_OK, {RCPT_ACCEPTED}, 250, CAP_AUTH,
	 false,
	 "EHLO client.test\nAUTH LOGIN\ndQ==\ncA==\nMAIL FROM:<a@example.org>\n"
	 "RCPT TO:<b@example.net>\n" SENT_BODY "QUIT\n<EOF>\n"},
	{"AUTH refused: an account failure, QUIT",
	 GREETING "<\n> 250-test.example\n> 250 AUTH PLAIN\n<\n> 535 5.7.8 bad credentials\n" QUIT,
	 SMTP_AUTH_ON, NULL, ONE, NO_DSN, 100, -1, ST_ACCOUNT, {RCPT_PENDING}, 535, CAP_AUTH, false,
	 "EHLO client.test\nAUTH PLAIN AHUAcA==\nQUIT\n<EOF>\n"},
	{"a malformed challenge: the exchange is cancelled with *",
	 GREETING "<\n> 250-test.example\n> 250 AUTH LOGIN\n<\n> 334 !!!\n<\n> 501 cancelled\n" QUIT,
	 SMTP_AUTH_MECH, "LOGIN", ONE, NO_DSN, 100, -1, ST_SERVER_TEMP, {RCPT_PENDING}, 0,
	 CAP_AUTH, false, "EHLO client.test\nAUTH LOGIN\n*\nQUIT\n<EOF>\n"},
	{"a drop after the final dot: uncertain, temporary",
	 GREETING EHLO_PLAIN "<\n> 250 ok\n<\n> 250 ok\n<\n> 354 go ahead\n<.\nx\n", SMTP_AUTH_OFF,
	 NULL, ONE, NO_DSN, 100, -1, ST_SERVER_TEMP, {RCPT_ACCEPTED}, 0, 0, true,
	 SENT_ONE SENT_BODY},
};
/* clang-format on */

/* ------------------------------------------------------------ server --- */

static void
send_line(int fd, const char *text, size_t len)
{
	if (send(fd, text, len, MSG_NOSIGNAL) < 0 || send(fd, "\r\n", 2, MSG_NOSIGNAL) < 0)
		return; /* the client is gone: the transcript says so */
}

/* Reads one command into the transcript; false at the end. */
static bool
read_command(FILE *in, struct buf *transcript, char **line, size_t *cap)
{
	ssize_t n = getline(line, cap, in);

	if (n < 0) {
		buf_puts(transcript, "<EOF>\n");
		return false;
	}
	while (n > 0 && ((*line)[n - 1] == '\n' || (*line)[n - 1] == '\r'))
		n--;
	buf_append(transcript, *line, (size_t)n);
	buf_puts(transcript, "\n");
	return true;
}

static bool
read_message(FILE *in, struct buf *transcript, char **line, size_t *cap)
{
	while (read_command(in, transcript, line, cap))
		if (strcmp(*line, ".\r\n") == 0 || strcmp(*line, ".\n") == 0)
			return true;
	return false;
}

/* The child: plays script to the first client, then writes the transcript
 * to out. */
static void
serve(int listener, const char *script, int out)
{
	int fd = accept(listener, NULL, NULL);
	FILE *in = fd < 0 ? NULL : fdopen(dup(fd), "r");
	struct buf transcript;
	char *line = NULL;
	size_t cap = 0;
	bool open = in != NULL;

	buf_init(&transcript, 0);
	for (const char *p = script; open && *p != '\0';) {
		size_t len = strcspn(p, "\n");

		if (strncmp(p, "> ", 2) == 0) {
			send_line(fd, p + 2, len - 2);
		} else if (*p == 'x') {
			shutdown(fd, SHUT_RDWR);
			open = false;
		} else if (strncmp(p, "<.", 2) == 0) {
			open = read_message(in, &transcript, &line, &cap);
		} else {
			open = read_command(in, &transcript, &line, &cap);
		}
		p += len + (p[len] == '\n');
	}
	while (open)
		open = read_command(in, &transcript, &line, &cap);
	if (write(out, transcript.data, transcript.len) < 0)
		_exit(1);
	_exit(0);
}

/* ------------------------------------------------------------ client --- */

static int
password(void *ctx, char **out, struct error *e)
{
	(void)ctx;
	(void)e;
	*out = xstrdup("p");
	return 0;
}

static void
trace(void *ctx, const char *dir, const char *line)
{
	buf_printf(ctx, "%s: %s\n", dir, line);
}

static int
listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0)
		bail("cannot listen on %s", path);
	return fd;
}

static FILE *
body_file(void)
{
	FILE *f = tmpfile();

	if (f == NULL || fputs(MESSAGE, f) < 0 || fflush(f) != 0)
		bail("cannot write the message file");
	return f;
}

/* Runs one scenario: fills transcript (what the server saw) and trace. */
static int
run(const struct scenario *sc, struct smtp_rcpt *rcpts, struct smtp_outcome *o, struct error *e,
    struct buf *transcript, struct buf *tr)
{
	char dir[] = "/tmp/smtp-t.XXXXXX", path[64], chunk[4096];
	struct smtp_params p = {.timeout_ms = TIMEOUT_MS,
				.helo_domain = "client.test",
				.tls_mode = SMTP_TLS_OFF,
				.auth_mode = sc->auth_mode,
				.auth_mech = sc->auth_mech,
				.user = "u",
				.allow_plaintext_auth = true,
				.get_password = password,
				.trace = trace,
				.trace_ctx = tr};
	struct smtp_mail m = {.from = "a@example.org",
			      .rcpts = rcpts,
			      .size = sc->size,
			      .headers = MESSAGE,
			      .headers_len = HEADERS_LEN,
			      .body_offset = HEADERS_LEN,
			      .body_len = strlen(MESSAGE) - HEADERS_LEN};
	int pipefd[2], listener, rc;
	FILE *body = body_file();
	ssize_t n;
	pid_t pid;

	if (mkdtemp(dir) == NULL || pipe(pipefd) < 0)
		bail("cannot set up the server");
	snprintf(path, sizeof path, "%s/smtp", dir);
	listener = listen_unix(path);
	pid = fork();
	if (pid < 0)
		bail("fork failed");
	if (pid == 0) {
		close(pipefd[0]);
		serve(listener, sc->script, pipefd[1]);
	}
	close(listener);
	close(pipefd[1]);
	p.socket_path = path;
	for (m.nrcpts = 0; m.nrcpts < 3 && sc->rcpts[m.nrcpts] != NULL; m.nrcpts++)
		rcpts[m.nrcpts] = (struct smtp_rcpt){.addr = sc->rcpts[m.nrcpts]};
	if (sc->dsn == WITH_DSN) {
		m.dsn_notify = "SUCCESS,FAILURE";
		m.dsn_return = "HDRS";
		m.dsn_envid = "id+1";
	}
	m.body_fd = fileno(body);
	rc = smtp_send(&p, &m, o, e);
	fclose(body);
	while ((n = read(pipefd[0], chunk, sizeof chunk)) > 0)
		buf_append(transcript, chunk, (size_t)n);
	close(pipefd[0]);
	waitpid(pid, NULL, 0);
	unlink(path);
	rmdir(dir);
	return rc;
}

static void
check(size_t i)
{
	const struct scenario *sc = &scenarios[i];
	struct smtp_rcpt rcpts[3];
	struct smtp_outcome o;
	struct error e;
	struct buf transcript, tr;
	int rc;

	error_clear(&e);
	buf_init(&transcript, 0);
	buf_init(&tr, 0);
	rc = run(sc, rcpts, &o, &e, &transcript, &tr);
	is_int(sc->rc, rc, "%s: result", sc->name);
	is_int(sc->status, o.status, "%s: outcome status", sc->name);
	is_int(sc->rc < 0 ? sc->status : ST_OK, e.status, "%s: error status (%s)", sc->name, e.msg);
	is_int(sc->code, o.code, "%s: last reply code", sc->name);
	is_int(sc->caps, o.caps.flags, "%s: capabilities", sc->name);
	is_int(sc->uncertain, o.uncertain, "%s: uncertain", sc->name);
	for (size_t r = 0; r < 3 && sc->rcpts[r] != NULL; r++)
		is_int(sc->states[r], rcpts[r].state, "%s: recipient %zu", sc->name, r);
	is_string(sc->transcript, transcript.data ? transcript.data : "", "%s: transcript",
		  sc->name);
	if (sc->auth_mode != SMTP_AUTH_OFF)
		ok(strstr(tr.data, "AHUAcA==") == NULL && strstr(tr.data, "C: dQ==") == NULL &&
			   strstr(tr.data, "C: cA==") == NULL,
		   "%s: the trace hides what AUTH sent", sc->name);
	if (sc->dsn == WITH_DSN) {
		is_int(1000000, (long)o.caps.size_max, "%s: SIZE", sc->name);
		is_string("PLAIN LOGIN", o.caps.auth, "%s: AUTH mechanisms", sc->name);
	}
	buf_free(&transcript);
	buf_free(&tr);
}

int
main(void)
{
	plan_lazy();
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
		check(i);
	return 0;
}
