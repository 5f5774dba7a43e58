/* smtp.c - fuzz target: the SMTP client engine end to end (src/smtp.h),
 * the fuzzer playing the server, as curl-fuzzer's smtp target does.
 *
 * Input: two option bytes, then every byte the server sends.  The engine
 * connects, through its `socket` setting, to a Unix socket this target
 * listens on; a thread accepts, sends the server bytes as the client
 * reads them, closes its sending side after the last one, and reads and
 * drops whatever the client writes.  So the whole session runs as in
 * outbox: greeting, EHLO (or HELO), STARTTLS, AUTH with every mechanism,
 * MAIL with its parameters, RCPT (pipelined or not), DATA and the body,
 * RSET, QUIT, each reply through transport_read_line() and reply_feed().
 *
 * Option byte 0: bits 0-1 the AUTH mode (auto, off, on, a named
 * mechanism); bits 2-5 which mechanism is named (sasl_mechanisms()
 * order); bit 6 two transactions on one session (smtp_open,
 * smtp_transaction twice, smtp_close) instead of smtp_send; bit 7 DSN
 * parameters.  Option byte 1: bit 0 an 8-bit body, bit 1 SMTPUTF8, bit 2
 * three recipients instead of one, bit 3 the null sender, bit 4
 * --serverinfo instead of a send, bit 5 STARTTLS required (with a trust
 * file that cannot load, so no handshake is tried after the checks that
 * come before it), bit 6 allow_plaintext_auth off.  FUZZ_TRACE=1 prints
 * the transcript to stderr.  The timeout is 2 s; a session only waits
 * when the client would wait for more bytes, which the closed socket
 * prevents. */
#include "config.h"

#include "fuzz.h"

#include "lib.h"
#include "sasl.h"
#include "smtp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MECHS_MAX 16

static const char *mech_names[MECHS_MAX];
static size_t nmechs;
static int listen_fd = -1;
static char *socket_path;
static int body_fd = -1;

static const char headers[] = "From: Sender <sender@example.org>\r\nTo: a@example.net\r\n"
			      "Subject: fuzz\r\n\r\n";
static const char body[] = "line one\r\n.leading dot\r\n.\r\nlast line without end";

/* Set once the client is done: a server still waiting for it to connect
 * gives up. */
static atomic_bool client_finished;

struct server {
	int fd;
	const uint8_t *script;
	size_t len;
};

/* Accepts the client's connection; -1 if the client finished without
 * connecting. */
static int
accept_client(void)
{
	while (!atomic_load(&client_finished)) {
		struct pollfd pfd = {listen_fd, POLLIN, 0};

		if (poll(&pfd, 1, 50) > 0)
			return accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	}
	return -1;
}

/* Accepts the client, sends the script as the client reads it, then
 * reads what the client writes until it closes. */
static void *
serve(void *arg)
{
	struct server *sv = arg;
	size_t sent = 0;
	bool sending = true;

	sv->fd = accept_client();
	if (sv->fd < 0)
		return NULL;
	if (sv->len == 0) {
		shutdown(sv->fd, SHUT_WR);
		sending = false;
	}
	for (;;) {
		struct pollfd pfd = {sv->fd, POLLIN | (sending ? POLLOUT : 0), 0};
		char sink[4096];

		if (poll(&pfd, 1, 5000) <= 0)
			break;
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(sv->fd, sink, sizeof sink);

			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
				break;
		}
		if (sending && (pfd.revents & POLLOUT)) {
			ssize_t n = sent < sv->len ? send(sv->fd, sv->script + sent, sv->len - sent,
							  MSG_NOSIGNAL | MSG_DONTWAIT)
						   : 0;

			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EINTR && errno != EAGAIN)
				sending = false;
			if (sent == sv->len || !sending) {
				shutdown(sv->fd, SHUT_WR);
				sending = false;
			}
		}
	}
	close(sv->fd);
	return NULL;
}

static void
setup(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *names = xstrdup(sasl_mechanisms()), *save = NULL;

	for (char *n = strtok_r(names, " ", &save); n != NULL && nmechs < MECHS_MAX;
	     n = strtok_r(NULL, " ", &save))
		mech_names[nmechs++] = xstrdup(n);
	free(names);
	socket_path = xasprintf("%s/smtp.sock", fuzz_tmpdir());
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(listen_fd, 4) < 0) {
		perror("fuzz smtp: listening socket");
		abort();
	}
	body_fd = memfd_create("fuzz-smtp-body", MFD_CLOEXEC);
	if (body_fd < 0 || write_all(body_fd, body, sizeof body - 1) < 0)
		abort();
}

/* FUZZ_TRACE=1 in the environment shows the session, as -v does. */
static void
trace_stderr(void *ctx, const char *dir, const char *line)
{
	fprintf(stderr, "%s: %s\n", dir, line);
}

static int
give_password(void *ctx, char **password, struct error *e)
{
	*password = xstrdup("pencil");
	return 0;
}

/* The client side: one session as options ask. */
static void
run_client(uint8_t o0, uint8_t o1)
{
	static const enum smtp_auth_mode modes[] = {SMTP_AUTH_AUTO, SMTP_AUTH_OFF, SMTP_AUTH_ON,
						    SMTP_AUTH_MECH};
	struct smtp_rcpt rcpts[3] = {
		{.addr = "a@example.net"},
		{.addr = "b@example.net"},
		{.addr = "c@example.net"},
	};
	struct smtp_params p = {
		.host = "mail.example.org",
		.port = "587",
		.socket_path = socket_path,
		.timeout_ms = 2000,
		.helo_domain = "client.example.org",
		.tls_mode = o1 & 0x20 ? SMTP_TLS_STARTTLS : SMTP_TLS_OFF,
		.tls = {.host = "mail.example.org",
			.trust_file = "/nonexistent/ca.pem",
			.certcheck = true,
			.timeout_ms = 2000},
		.auth_mode = modes[o0 & 3],
		.auth_mech = mech_names[(o0 >> 2 & 15) % nmechs],
		.user = "user",
		.allow_plaintext_auth = !(o1 & 0x40),
		.get_password = give_password,
		.trace = getenv("FUZZ_TRACE") != NULL ? trace_stderr : NULL,
	};
	struct smtp_mail m = {
		.from = o1 & 8 ? "" : "sender@example.org",
		.rcpts = rcpts,
		.nrcpts = o1 & 4 ? 3 : 1,
		.dsn_notify = o0 & 0x80 ? "SUCCESS,FAILURE" : NULL,
		.dsn_return = o0 & 0x80 ? "HDRS" : NULL,
		.dsn_envid = o0 & 0x80 ? "id+1=2" : NULL,
		.eightbit = o1 & 1,
		.smtputf8 = o1 & 2,
		.size = sizeof headers - 1 + sizeof body - 1,
		.headers = headers,
		.headers_len = sizeof headers - 1,
		.body_fd = body_fd,
		.body_offset = 0,
		.body_len = sizeof body - 1,
	};
	struct smtp_outcome o;
	struct error e;

	if (o1 & 0x10) {
		struct buf info;

		buf_init(&info, 0);
		smtp_serverinfo(&p, &info, &e);
		buf_free(&info);
	} else if (o0 & 0x40) {
		struct smtp_session *s = smtp_open(&p, &o, &e);

		if (s == NULL)
			return;

		smtp_transaction(s, &m, &o, &e);
		if (smtp_usable(s))
			smtp_transaction(s, &m, &o, &e);
		smtp_close(s);
	} else {
		smtp_send(&p, &m, &o, &e);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server sv = {.script = data + 2, .len = size - 2};
	pthread_t thread;

	if (size < 2)
		return 0;
	if (listen_fd < 0)
		setup();
	atomic_store(&client_finished, false);
	if (pthread_create(&thread, NULL, serve, &sv) != 0)
		abort();
	run_client(data[0], data[1]);
	atomic_store(&client_finished, true);
	pthread_join(thread, NULL);
	return 0;
}
