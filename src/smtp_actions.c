/* smtp_actions.c - the actions of the SMTP client's states: every byte
 * that goes to or comes from the server.
 *
 * Untrusted input: every reply from the server (bounded by reply.c and
 * transport.c, and made visible before anything else sees it).  What goes
 * on the wire: commands built from checked envelope addresses, every one
 * of them checked again for CR, LF and NUL in command_vbuild(), the single
 * choke point; and the message, encoded by wire.c.  AUTH payloads never
 * reach the trace. */
#include "config.h"

#include "smtp_private.h"

#include "address.h"

#include "i18n.h"
#include "net.h"
#include "socks.h"
#include "wire.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A command line, CRLF not counted: long enough for a 2-4 KB OAuth token
 * in base64 with room to spare (RFC 4954 4 lifts the 512 limit for AUTH). */
#define SMTP_COMMAND_MAX 65536

/* Deadlines, as multiples of `timeout` (outbox(1), "Deadlines and
 * limits"): each reply must be complete within one timeout of its command;
 * the end-of-data reply within SMTP_EOD_FACTOR, as RFC 5321 4.5.3.2.6
 * allows the server 10 minutes there; and the opening of a session, then
 * each transaction up to its DATA reply, within SMTP_SESSION_FACTOR in
 * total. */
#define SMTP_EOD_FACTOR 10
#define SMTP_SESSION_FACTOR 10

/* What an action did. */
enum act {
	ACT_DONE,    /* no reply is due */
	ACT_AWAIT,   /* the state's command is queued (or none is needed, as
		      * for the greeting): its reply is due */
	ACT_REFUSED, /* nothing went out: see EV_REFUSED */
	ACT_FAILED,  /* an I/O error */
};

/* The choke point for commands: builds cmd (the caller frees it) and
 * refuses anything longer than SMTP_COMMAND_MAX or holding CR, LF or NUL. */
static int command_vbuild(struct smtp_session *s, struct buf *cmd, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static int command_build(struct smtp_session *s, struct buf *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int smtp_command(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
trace(struct smtp_session *s, const char *dir, const char *line)
{
	if (s->p->trace != NULL)
		s->p->trace(s->p->trace_ctx, dir, line);
}

static int
command_vbuild(struct smtp_session *s, struct buf *cmd, const char *fmt, va_list ap)
{
	int rc;

	buf_init(cmd, SMTP_COMMAND_MAX);
	rc = buf_vprintf(cmd, fmt, ap);
	if (rc < 0 || has_line_breaks(cmd->data, cmd->len)) {
		bool envelope = strncmp(fmt, "MAIL ", 5) == 0 || strncmp(fmt, "RCPT ", 5) == 0;

		/* Addresses are checked long before; what else gets here comes
		 * from the account (domain, user, password, token): held as an
		 * account error, never the message's fault. */
		return error_set(
			&s->io, envelope ? ST_DATAERR : ST_CONFIG,
			envelope ? _("refusing to send a command longer than %d bytes or "
				     "containing CR, LF or NUL")
				 : _("refusing to send a command longer than %d bytes or "
				     "containing CR, LF or NUL; check the account's domain, "
				     "user and password"),
			SMTP_COMMAND_MAX);
	}
	return 0;
}

static int
command_build(struct smtp_session *s, struct buf *cmd, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = command_vbuild(s, cmd, fmt, ap);
	va_end(ap);
	return rc;
}

/* Traces a built command (a secret one redacted) and queues it. */
static int
command_send(struct smtp_session *s, bool secret, const struct buf *cmd)
{
	if (secret && strncmp(cmd->data, "AUTH ", 5) == 0) {
		/* "AUTH PLAIN <initial response>": keep the mechanism name. */
		const char *sp = strchr(cmd->data + 5, ' ');
		char shown[96];

		snprintf(shown, sizeof shown, "%.*s%s", sp ? (int)(sp - cmd->data) : (int)cmd->len,
			 cmd->data, sp ? " <redacted>" : "");
		trace(s, "C", shown);
	} else {
		trace(s, "C", secret ? "<redacted>" : cmd->data);
	}
	if (transport_write(&s->t, cmd->data, cmd->len, &s->io) < 0)
		return -1;
	return transport_write(&s->t, "\r\n", 2, &s->io);
}

/* Builds and queues a command that holds no secret. */
static int
smtp_command(struct smtp_session *s, const char *fmt, ...)
{
	struct buf cmd;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = command_vbuild(s, &cmd, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = command_send(s, false, &cmd);
	buf_free(&cmd);
	return rc;
}

/* Reads one whole reply.  Server text is made visible (control bytes and
 * invalid UTF-8 escaped) as it arrives, so nothing downstream (the trace,
 * error messages, the log, the queue's state file, mailq) ever sees a raw
 * terminal escape. */
static int
read_reply(struct smtp_session *s, struct reply *r)
{
	char line[REPLY_LINE_MAX + 1];
	struct buf shown;
	int rc = 0;

	reply_init(r);
	buf_init(&shown, 0);
	while (rc == 0) {
		long len = transport_read_line(&s->t, line, &s->io);

		if (len < 0) {
			rc = -1;
			break;
		}
		buf_reset(&shown);
		buf_append_visible(&shown, line, (size_t)len);
		trace(s, "S", shown.data ? shown.data : "");
		rc = reply_feed(r, shown.data ? shown.data : "", shown.len, &s->io);
	}
	buf_free(&shown);
	return rc < 0 ? -1 : 0;
}

/* RFC 3461 4: xtext for ENVID. */
static void
xtext(const char *in, struct buf *out)
{
	for (const unsigned char *c = (const unsigned char *)in; *c != '\0'; c++) {
		if (*c < 33 || *c > 126 || *c == '+' || *c == '=')
			buf_printf(out, "+%02X", *c);
		else
			buf_append(out, c, 1);
	}
}

static int
send_mail_command(struct smtp_session *s)
{
	struct smtp_mail *m = s->m;
	const struct caps *c = &s->o->caps;
	struct buf params;
	int rc;

	buf_init(&params, 0);
	if (c->flags & CAP_SIZE)
		buf_printf(&params, " SIZE=%llu", m->size);
	if (m->eightbit && (c->flags & CAP_8BITMIME))
		buf_puts(&params, " BODY=8BITMIME");
	if (m->smtputf8)
		buf_puts(&params, " SMTPUTF8");
	if ((c->flags & CAP_DSN) && m->dsn_return != NULL)
		buf_printf(&params, " RET=%s", m->dsn_return);
	if ((c->flags & CAP_DSN) && m->dsn_envid != NULL) {
		buf_puts(&params, " ENVID=");
		xtext(m->dsn_envid, &params);
	}
	rc = smtp_command(s, "MAIL FROM:<%s>%s", m->from, params.len ? params.data : "");
	buf_free(&params);
	return rc;
}

static int
send_rcpt_command(struct smtp_session *s, size_t i)
{
	if ((s->o->caps.flags & CAP_DSN) && s->m->dsn_notify != NULL)
		return smtp_command(s, "RCPT TO:<%s> NOTIFY=%s", s->m->rcpts[i].addr,
				    s->m->dsn_notify);
	return smtp_command(s, "RCPT TO:<%s>", s->m->rcpts[i].addr);
}

static int
send_body(struct smtp_session *s)
{
	struct wire_encoder w;
	struct buf out;
	char chunk[65536];
	off_t off = s->m->body_offset;
	unsigned long long left = s->m->body_len;
	int rc = 0;

	trace(s, "C", "<message>");
	wire_init(&w);
	buf_init(&out, 0);
	if (wire_encode(&w, s->m->headers, s->m->headers_len, &out) < 0 ||
	    transport_write(&s->t, out.data, out.len, &s->io) < 0)
		rc = -1;
	while (rc == 0 && left > 0) {
		size_t want = left < sizeof chunk ? (size_t)left : sizeof chunk;
		ssize_t n = pread(s->m->body_fd, chunk, want, off);

		if (n <= 0) {
			rc = error_set(&s->io, ST_LOCAL_TEMP,
				       _("reading the spooled message failed: %s"),
				       n < 0 ? strerror(errno) : _("it is shorter than expected"));
			break;
		}
		off += n;
		left -= (unsigned long long)n;
		out.len = 0;
		if (wire_encode(&w, chunk, (size_t)n, &out) < 0 ||
		    transport_write(&s->t, out.data, out.len, &s->io) < 0)
			rc = -1;
		else if (s->m->progress != NULL)
			s->m->progress(s->m->progress_ctx,
				       s->m->headers_len + s->m->body_len - left);
	}
	if (rc == 0) {
		out.len = 0;
		if (wire_finish(&w, &out) < 0 ||
		    transport_write(&s->t, out.data, out.len, &s->io) < 0 ||
		    transport_flush(&s->t, &s->io) < 0)
			rc = -1;
	}
	buf_free(&out);
	return rc;
}

/* Turns a decoded challenge into the base64 of the mechanism's response. */
static int
sasl_respond(struct smtp_session *s, const char *challenge, size_t len, struct buf *b64)
{
	struct buf resp;
	int rc;

	buf_init(&resp, 0);
	rc = sasl_step(&s->sasl, challenge, len, &resp, &s->io);
	if (rc == 0)
		base64_encode((const unsigned char *)resp.data, resp.len, b64);
	buf_free(&resp);
	return rc;
}

static int
fetch_password(struct smtp_session *s)
{
	if (s->p->get_password == NULL)
		return error_set(&s->io, ST_ACCOUNT, _("no password available for %s"),
				 s->p->user ? s->p->user : "");
	return s->p->get_password(s->p->password_ctx, &s->password, &s->io);
}

static void
auth_begin(struct smtp_session *s)
{
	long port = 0;

	s->sasl.user = s->p->user != NULL ? s->p->user : "";
	s->sasl.password = s->password != NULL ? s->password : "";
	s->sasl.host = s->p->tls.host_override ? s->p->tls.host_override : s->p->host;
	if (s->p->port != NULL && parse_long(s->p->port, 1, 65535, &port) == 0)
		s->sasl.port = (unsigned)port;
	s->sasl.cb_type = s->cb_data != NULL ? s->cb_type : NULL;
	s->sasl.cb_data = s->cb_data;
	s->sasl.cb_len = s->cb_len;
	s->sasl.server_offers_plus = caps_has_auth(&s->o->caps, "SCRAM-SHA-1-PLUS") ||
				     caps_has_auth(&s->o->caps, "SCRAM-SHA-256-PLUS");
	sasl_begin(&s->sasl, s->mech);
	s->o->auth_mech = s->mech->name;
}

/* Sends a built AUTH line: refused when it could not be built. */
static enum act
auth_send(struct smtp_session *s, int built, struct buf *cmd)
{
	enum act a = ACT_AWAIT;

	if (built < 0)
		a = ACT_REFUSED;
	else if (command_send(s, true, cmd) < 0)
		a = ACT_FAILED;
	buf_free(cmd);
	return a;
}

/* S_AUTH: fetches the password if the mechanism needs one, then sends AUTH
 * with the initial response when the mechanism has one. */
static enum act
act_auth(struct smtp_session *s)
{
	const struct sasl_mech *mech = s->mech;
	struct buf b64, cmd;
	int rc;

	if (mech->needs_password && s->password == NULL && fetch_password(s) < 0)
		return ACT_REFUSED;
	auth_begin(s);
	buf_init(&cmd, 0);
	if (!mech->initial_response)
		return auth_send(s, command_build(s, &cmd, "AUTH %s", mech->name), &cmd);
	buf_init(&b64, 0);
	rc = sasl_respond(s, "", 0, &b64);
	/* RFC 4954 4: "=" is an empty initial response. */
	if (rc == 0)
		rc = command_build(s, &cmd, "AUTH %s %s", mech->name, b64.len ? b64.data : "=");
	buf_free(&b64);
	return auth_send(s, rc, &cmd);
}

/* S_AUTH_RESPONSE: answers the 334 challenge. */
static enum act
act_auth_response(struct smtp_session *s)
{
	struct buf challenge, b64, cmd;
	int rc;

	buf_init(&challenge, 0);
	buf_init(&b64, 0);
	buf_init(&cmd, 0);
	rc = base64_decode(s->challenge.data ? s->challenge.data : "", s->challenge.len,
			   &challenge);
	if (rc < 0)
		rc = error_set(&s->io, ST_SERVER_TEMP,
			       _("the server sent a malformed AUTH challenge"));
	else
		rc = sasl_respond(s, challenge.data ? challenge.data : "", challenge.len, &b64);
	if (rc == 0)
		rc = command_build(s, &cmd, "%s", b64.len ? b64.data : "");
	buf_free(&challenge);
	buf_free(&b64);
	return auth_send(s, rc, &cmd);
}

/* A new connection to the server as the params say: its socket, through
 * the SOCKS5 proxy, or straight to host and port. */
static int
open_connection(const struct smtp_params *p, struct error *e)
{
	if (p->socket_path != NULL)
		return net_connect_unix(p->socket_path, p->timeout_ms, e);
	if (p->proxy_host != NULL) {
		const struct socks_request r = {.proxy_host = p->proxy_host,
						.proxy_port = p->proxy_port,
						.host = p->host,
						.port = p->port,
						.timeout_ms = p->timeout_ms};

		return socks_connect(&r, p->source_ip, e);
	}
	{
		/* The resolver wants the A-label of a Unicode name. */
		char *ascii = address_host_to_ascii(p->host, e);
		int fd = ascii != NULL ? net_connect(ascii, p->port, p->source_ip, p->timeout_ms, e)
				       : -1;

		free(ascii);
		return fd;
	}
}

static enum act
act_connect(struct smtp_session *s)
{
	s->t.fd = open_connection(s->p, &s->io);
	return s->t.fd < 0 ? ACT_FAILED : ACT_DONE;
}

/* MAIL; with PIPELINING (RFC 2920) every RCPT and DATA go in the same
 * write. */
static enum act
act_mail(struct smtp_session *s)
{
	if (send_mail_command(s) < 0)
		return ACT_FAILED;
	if (s->o->caps.flags & CAP_PIPELINING) {
		for (size_t i = 0; i < s->m->nrcpts; i++)
			if (send_rcpt_command(s, i) < 0)
				return ACT_FAILED;
		if (smtp_command(s, "DATA") < 0)
			return ACT_FAILED;
		s->pipelined = true;
		s->pending_replies = s->m->nrcpts + 1;
	}
	return ACT_AWAIT;
}

static enum act
awaits(int rc)
{
	return rc < 0 ? ACT_FAILED : ACT_AWAIT;
}

/* Reads the replies still due for a pipelined group after a failure, and
 * ends an accepted DATA with an empty message (RFC 2920 3.1). */
static void
drain_pipeline(struct smtp_session *s)
{
	struct reply r;

	while (s->pending_replies > 0 && !s->connection_lost) {
		if (read_reply(s, &r) < 0) {
			s->connection_lost = true;
			break;
		}
		s->pending_replies--;
		if (s->pending_replies == 0 && r.code == 354) {
			if (smtp_command(s, ".") < 0 || transport_flush(&s->t, &s->io) < 0 ||
			    read_reply(s, &r) < 0)
				s->connection_lost = true;
		}
	}
}

/* The action of the current state: connect, handshake, or queue its
 * command(s).  A pipelined reply already on its way is not sent again. */
static enum act
smtp_act(struct smtp_session *s)
{
	switch (s->state) {
	case S_CONNECT:
		return act_connect(s);
	case S_TLS:
		return transport_start_tls(&s->t, &s->p->tls, &s->io) < 0 ? ACT_FAILED : ACT_DONE;
	case S_GREETING:
		return ACT_AWAIT;
	case S_EHLO:
		return awaits(smtp_command(s, "EHLO %s", s->p->helo_domain));
	case S_HELO:
		return awaits(smtp_command(s, "HELO %s", s->p->helo_domain));
	case S_STARTTLS:
		return awaits(smtp_command(s, "STARTTLS"));
	case S_AUTH:
		return act_auth(s);
	case S_AUTH_RESPONSE:
		return act_auth_response(s);
	case S_AUTH_CANCEL:
		return awaits(smtp_command(s, "*"));
	case S_MAIL:
		return act_mail(s);
	case S_RCPT:
		return s->pipelined ? ACT_AWAIT : awaits(send_rcpt_command(s, s->rcpt_next));
	case S_DATA:
		return s->pipelined ? ACT_AWAIT : awaits(smtp_command(s, "DATA"));
	case S_BODY:
		return awaits(send_body(s));
	case S_RSET:
		drain_pipeline(s);
		return awaits(smtp_command(s, "RSET"));
	case S_QUIT:
		drain_pipeline(s);
		/* Lost while draining: no QUIT to send. */
		return s->connection_lost ? ACT_FAILED : awaits(smtp_command(s, "QUIT"));
	case S_READY:
	case S_DONE:
	case S__COUNT:
		break;
	}
	return ACT_DONE;
}

/* timeout_ms times factor, as a timeout (-1 stays "no limit"). */
static int
scaled(int timeout_ms, int factor)
{
	int64_t v = (int64_t)timeout_ms * factor;

	return timeout_ms < 0 ? -1 : v > INT_MAX ? INT_MAX : (int)v;
}

void
smtp_start_clock(struct smtp_session *s)
{
	s->session_deadline = net_deadline(scaled(s->p->timeout_ms, SMTP_SESSION_FACTOR));
}

/* Sets the deadline of the exchange about to happen: sending the current
 * state's command(s), or (reply) reading its reply.  The message body has
 * none: each 64 KiB of it must get out within the timeout instead. */
static void
arm_deadline(struct smtp_session *s, bool reply)
{
	int64_t d;

	s->session_limit = false;
	if (s->state == S_BODY && !reply) {
		transport_clear_deadline(&s->t);
		return;
	}
	s->limit_ms =
		s->state == S_BODY ? scaled(s->p->timeout_ms, SMTP_EOD_FACTOR) : s->p->timeout_ms;
	d = net_deadline(s->limit_ms);
	if (s->state != S_BODY && s->state != S_QUIT && s->session_deadline < d) {
		d = s->session_deadline;
		s->session_limit = true;
		s->limit_ms = scaled(s->p->timeout_ms, SMTP_SESSION_FACTOR);
	}
	transport_set_deadline(&s->t, d);
}

/* Whether the server answers a TLS ClientHello on a fresh connection: a
 * handshake that checks nothing, to recognise an implicit-TLS port (RFC
 * 8314 3.3) that waits in silence for the client to speak first. */
static bool
speaks_implicit_tls(const struct smtp_session *s)
{
	struct error ignored;

	if (s->p->socket_path != NULL || s->p->tls_mode == SMTP_TLS_IMPLICIT)
		return false;
	return transport_speaks_tls(open_connection(s->p, &ignored), s->p->host,
				    s->p->tls.priorities, s->p->timeout_ms);
}

/* A reply did not come in time: says so in terms of the deadline that ran
 * out.  A server that accepted the connection and kept it open through the
 * greeting deadline has been reached (expiry counts from then on); if it
 * said nothing at all, it may be waiting for a TLS handshake. */
static void
reply_missing(struct smtp_session *s)
{
	const char *server = s->p->socket_path ? s->p->socket_path : s->p->host;
	double limit = s->limit_ms / 1000.0;

	if (!transport_expired(&s->t))
		return;
	if (s->state == S_GREETING)
		s->o->reached = true;
	if (s->session_limit)
		error_set(&s->io, ST_CONNECT,
			  _("timed out: the session with %s took longer than %g s (%d times "
			    "'timeout'); the connection was dropped"),
			  server, limit, SMTP_SESSION_FACTOR);
	else if (s->state == S_GREETING && s->t.received == 0 && speaks_implicit_tls(s))
		error_set(&s->io, ST_CONFIG,
			  s->p->tls_mode == SMTP_TLS_OFF
				  ? _("%s sent no greeting within %g s: this port speaks implicit "
				      "TLS; set 'tls on' and 'tls_starttls off'")
				  : _("%s sent no greeting within %g s: this port speaks implicit "
				      "TLS; set 'tls_starttls off'"),
			  server, limit);
	else if (s->state == S_GREETING)
		error_set(&s->io, ST_CONNECT,
			  _("timed out: %s sent no complete greeting within %g s; the connection "
			    "was dropped"),
			  server, limit);
	else
		error_set(&s->io, ST_CONNECT,
			  _("timed out: the server sent no complete reply to %s within %g s; the "
			    "connection was dropped"),
			  smtp_state_name(s->state), limit);
}

/* Reads the reply to the current state's command within its deadline. */
static int
await_reply(struct smtp_session *s, struct reply *r)
{
	arm_deadline(s, true);
	if (read_reply(s, r) == 0)
		return 0;
	reply_missing(s);
	return -1;
}

void
smtp_step(struct smtp_session *s, struct reply *r, struct smtp_event *ev)
{
	enum act a;

	arm_deadline(s, false);
	a = smtp_act(s);
	*ev = (struct smtp_event){.kind = EV_DONE};
	if (a == ACT_REFUSED)
		ev->kind = EV_REFUSED;
	else if (a == ACT_FAILED || transport_flush(&s->t, &s->io) < 0)
		ev->kind = EV_IO_FAILED;
	else if (a == ACT_AWAIT && await_reply(s, r) < 0)
		*ev = (struct smtp_event){.kind = EV_IO_FAILED, .awaiting_reply = true};
	else if (a == ACT_AWAIT)
		*ev = (struct smtp_event){.kind = EV_REPLY, .reply = r};
}
