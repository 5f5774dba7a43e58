/* smtp.c - the SMTP client state machine.
 *
 * Untrusted input: every reply from the server (bounded by reply.c and
 * transport.c).  What goes on the wire: commands built from checked
 * envelope addresses, every one of them checked again for CR, LF and NUL in
 * smtp_command(), the single choke point; and the message, encoded by
 * wire.c.  AUTH payloads never reach the trace.
 *
 * Shape: smtp_act() performs the action of the current state (connect,
 * handshake, send its command) and smtp_step() waits for the reply; all I/O
 * happens there.  What came of it is an event (a reply, "done", an I/O
 * failure, an AUTH step refused) and smtp_transition() is the only function
 * that changes the state, given the state and the event: it does no I/O, it
 * records what the event means in the outcome and picks the next state,
 * whose action comes next. */
#include "config.h"

#include "smtp.h"

#include "i18n.h"
#include "net.h"
#include "sasl.h"
#include "transport.h"
#include "wire.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

enum smtp_state {
	S_CONNECT,
	S_TLS,
	S_GREETING,
	S_EHLO,
	S_HELO,
	S_STARTTLS,
	S_AUTH,          /* AUTH, with the initial response if there is one */
	S_AUTH_RESPONSE, /* the answer to a 334 challenge */
	S_AUTH_CANCEL,   /* "*": the mechanism cannot answer (RFC 4954 4) */
	S_MAIL,
	S_RCPT,
	S_DATA,
	S_BODY,
	S_READY, /* the session is open and idle, between transactions */
	S_RSET,
	S_QUIT,
	S_DONE,
	S__COUNT
};

/* For each state: its name, what a 4xx / 5xx reply to it means, and the
 * positive replies its command may get (RFC 5321 4.3.2, RFC 3207 4, RFC
 * 4954 4).  Any 4xx or 5xx is a valid refusal (servers use more of them
 * than 4.3.2 lists); a 2xx or 3xx reply not listed is a protocol error: the
 * server is broken, which is temporary, never a refusal of the message.
 * NULL: no reply is awaited, or any will do (QUIT). */
static const struct {
	const char *name;
	enum status temporary;
	enum status permanent;
	const char *positive;
} states[S__COUNT] = {
	[S_CONNECT] = {"CONNECT", ST_CONNECT, ST_CONNECT, NULL},
	[S_TLS] = {"TLS", ST_CONNECT, ST_CONFIG, NULL},
	[S_GREETING] = {"GREETING", ST_SERVER_TEMP, ST_SERVER_TEMP, "220"},
	[S_EHLO] = {"EHLO", ST_SERVER_TEMP, ST_SERVER_TEMP, "250"},
	[S_HELO] = {"HELO", ST_SERVER_TEMP, ST_SERVER_TEMP, "250"},
	[S_STARTTLS] = {"STARTTLS", ST_SERVER_TEMP, ST_CONFIG, "220"},
	[S_AUTH] = {"AUTH", ST_SERVER_TEMP, ST_ACCOUNT, "235 334"},
	/* Its reply is still the AUTH command's, for messages. */
	[S_AUTH_RESPONSE] = {"AUTH", ST_SERVER_TEMP, ST_ACCOUNT, "235 334"},
	[S_AUTH_CANCEL] = {"AUTH", ST_SERVER_TEMP, ST_ACCOUNT, NULL},
	[S_MAIL] = {"MAIL", ST_SERVER_TEMP, ST_MESSAGE_PERM, "250"},
	[S_RCPT] = {"RCPT", ST_SERVER_TEMP, ST_NOUSER, "250 251"},
	[S_DATA] = {"DATA", ST_SERVER_TEMP, ST_MESSAGE_PERM, "354"},
	[S_BODY] = {"END-OF-DATA", ST_SERVER_TEMP, ST_MESSAGE_PERM, "250"},
	[S_READY] = {"READY", ST_OK, ST_OK, NULL},
	[S_RSET] = {"RSET", ST_SERVER_TEMP, ST_SERVER_TEMP, "250"},
	[S_QUIT] = {"QUIT", ST_OK, ST_OK, NULL},
	[S_DONE] = {"DONE", ST_OK, ST_OK, NULL},
};

static bool
reply_valid(enum smtp_state st, int code)
{
	char text[8];

	if (states[st].positive == NULL || code / 100 == 4 || code / 100 == 5)
		return true;
	snprintf(text, sizeof text, "%d", code);
	for (const char *p = states[st].positive; *p != '\0'; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");

		if (n == strlen(text) && strncmp(p, text, n) == 0)
			return true;
		p += n;
	}
	return false;
}

struct smtp_session {
	const struct smtp_params *p;
	struct smtp_mail *m;    /* the current transaction's, or NULL */
	struct smtp_outcome *o; /* &out */
	struct smtp_outcome out;
	struct error *result; /* the caller's: written by fail() only */
	struct error io;      /* the latest I/O or step error */
	struct transport t;
	enum smtp_state state;
	bool tls_done;
	bool failed; /* a failure is recorded; only QUIT is left */
	bool connection_lost;
	bool in_transaction;          /* between MAIL and the end of data */
	bool session_broken;          /* 421 or a failed RSET: only QUIT is left */
	bool pipelined;               /* MAIL, RCPTs and DATA went out together */
	size_t rcpt_next;             /* index of the RCPT whose reply is due */
	size_t pending_replies;       /* pipelined replies still to read */
	const struct sasl_mech *mech; /* chosen after EHLO */
	struct sasl sasl;
	struct buf challenge; /* the base64 text of the latest 334 */
	char *password;
	const char *cb_type; /* channel binding of the TLS session, for -PLUS */
	unsigned char *cb_data;
	size_t cb_len;
	struct buf greeting;
	struct buf *info;         /* --serverinfo output, else NULL */
	int64_t session_deadline; /* of the opening, then of each transaction */
	int limit_ms;             /* the limit of the current exchange */
	bool session_limit;       /* ... which is the session's */
};

/* What happened in the current state: what smtp_transition() decides on. */
enum smtp_event_kind {
	EV_DONE,      /* the action awaited no reply (connect, handshake) */
	EV_REPLY,     /* the reply to the state's command */
	EV_REFUSED,   /* an AUTH action would not send (s->io says why): the
		       * connection is intact */
	EV_IO_FAILED, /* the action or the wait for its reply failed: timeout,
		       * drop, TLS error (s->io says how) */
	EV_MESSAGE,   /* the caller has a transaction for the idle session */
	EV_CLOSE,     /* the caller is done with the idle session */
};

struct smtp_event {
	enum smtp_event_kind kind;
	const struct reply *reply; /* EV_REPLY */
	bool awaiting_reply;       /* EV_IO_FAILED: the command went out whole */
};

/* What an action did. */
enum act {
	ACT_DONE,    /* no reply is due */
	ACT_AWAIT,   /* the state's command is queued (or none is needed, as
		      * for the greeting): its reply is due */
	ACT_REFUSED, /* nothing went out: see EV_REFUSED */
	ACT_FAILED,  /* an I/O error */
};

static void
trace(struct smtp_session *s, const char *dir, const char *line)
{
	if (s->p->trace != NULL)
		s->p->trace(s->p->trace_ctx, dir, line);
}

/* Where a session goes once a failure is recorded. */
static enum smtp_state
after_failure(const struct smtp_session *s)
{
	if (s->connection_lost)
		return S_DONE;
	/* A failed transaction leaves a usable session: RSET and go on. */
	return s->in_transaction && !s->session_broken ? S_RSET : S_QUIT;
}

/* Records the failure that ends the transaction: the first one wins. */
static enum smtp_state fail(struct smtp_session *s, enum status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum smtp_state
fail(struct smtp_session *s, enum status st, const char *fmt, ...)
{
	char msg[ERROR_MSG_MAX];
	va_list ap;

	if (!s->failed) {
		/* Formatted aside first: callers may pass s->io.msg itself. */
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		s->failed = true;
		s->result->status = st;
		memcpy(s->result->msg, msg, sizeof msg);
		s->o->status = st;
	}
	return after_failure(s);
}

/* A reply that is not what the state wanted. */
static enum smtp_state
fail_reply(struct smtp_session *s, const struct reply *r, const char *what)
{
	char line[512];
	enum status st = r->code >= 500 ? states[s->state].permanent : states[s->state].temporary;

	if (r->code == 421) {
		st = ST_SERVER_TEMP;
		s->session_broken = true; /* the server is closing (RFC 5321 3.8) */
	}
	reply_first_line(r, line, sizeof line);
	s->o->code = r->code;
	snprintf(s->o->reply, sizeof s->o->reply, "%s", line);
	return fail(s, st, _("%s failed: the server said: %s"), what, line);
}

/* A reply that is not valid for its command: the server is broken, which
 * is temporary.  The connection is dropped, since what state the server
 * is in is anyone's guess; after the final dot it may have taken the
 * message. */
static enum smtp_state
protocol_error(struct smtp_session *s, const struct reply *r)
{
	char line[512];

	reply_first_line(r, line, sizeof line);
	s->o->code = r->code;
	snprintf(s->o->reply, sizeof s->o->reply, "%s", line);
	s->o->uncertain = s->state == S_BODY;
	s->connection_lost = true;
	return fail(s, ST_SERVER_TEMP,
		    _("protocol error: the server answered %s with '%s', which is not a valid "
		      "reply to it; the connection was dropped"),
		    states[s->state].name, line);
}

/* The choke point for commands: builds cmd (the caller frees it) and
 * refuses anything longer than SMTP_COMMAND_MAX or holding CR, LF or NUL. */
static int command_vbuild(struct smtp_session *s, struct buf *cmd, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

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

static int command_build(struct smtp_session *s, struct buf *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

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

static int smtp_command(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

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

static bool
encrypted(const struct smtp_session *s)
{
	return transport_is_encrypted(&s->t);
}

static bool
auth_wanted(const struct smtp_session *s)
{
	switch (s->p->auth_mode) {
	case SMTP_AUTH_OFF:
		return false;
	case SMTP_AUTH_AUTO:
		return s->p->user != NULL && *s->p->user != '\0' && (s->o->caps.flags & CAP_AUTH);
	default:
		return true;
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

/* The mechanism named with `auth MECH`, if it can be used safely here. */
static const struct sasl_mech *
named_mechanism(struct smtp_session *s, enum smtp_state *next)
{
	const struct caps *c = &s->o->caps;
	const struct sasl_mech *mech = sasl_find(s->p->auth_mech);

	if (mech == NULL) {
		*next = fail(s, ST_CONFIG, _("AUTH mechanism %s is not supported; outbox has: %s"),
			     s->p->auth_mech, sasl_mechanisms());
		return NULL;
	}
	if (!caps_has_auth(c, mech->name)) {
		*next = fail(s, ST_CONFIG,
			     _("the server does not offer AUTH %s (it offers: %s); use 'auth on'"),
			     mech->name, c->auth);
		return NULL;
	}
	if ((mech->needs_tls || mech->needs_channel_binding) && !encrypted(s)) {
		*next = fail(s, ST_CONFIG, _("AUTH %s needs TLS; turn tls on"), mech->name);
		return NULL;
	}
	if (mech->needs_channel_binding && s->cb_data == NULL) {
		*next = fail(s, ST_CONFIG,
			     _("AUTH %s needs TLS channel binding, which this TLS session cannot "
			       "give; use the mechanism without -PLUS"),
			     mech->name);
		return NULL;
	}
	if (mech->reveals_password && !encrypted(s) && !s->p->allow_plaintext_auth) {
		*next = fail(s, ST_CONFIG,
			     _("refusing AUTH %s over an unencrypted connection; turn tls on, "
			       "or set 'allow_plaintext_auth on' if you accept the risk"),
			     mech->name);
		return NULL;
	}
	return mech;
}

/* The strongest mechanism both sides have (`auth on` or `auto`). */
static const struct sasl_mech *
chosen_mechanism(struct smtp_session *s, enum smtp_state *next)
{
	const struct caps *c = &s->o->caps;
	bool cb = s->cb_data != NULL;
	const struct sasl_mech *mech =
		sasl_choose(c->auth, encrypted(s), cb, s->p->allow_plaintext_auth);

	if (mech != NULL)
		return mech;
	if (!encrypted(s) && sasl_choose(c->auth, true, cb, true) != NULL)
		*next = fail(s, ST_CONFIG,
			     _("refusing to send the password over an unencrypted connection; "
			       "turn tls on, or set 'allow_plaintext_auth on' if you accept the "
			       "risk"));
	else
		*next = fail(s, ST_CONFIG,
			     _("no AUTH mechanism to choose on its own: the server offers %s; name "
			       "one with 'auth MECHANISM' (XOAUTH2, OAUTHBEARER and EXTERNAL are "
			       "used only when named)"),
			     c->auth);
	return NULL;
}

/* For the -PLUS mechanisms, once per session. */
static void
fetch_channel_binding(struct smtp_session *s)
{
	if (s->cb_data != NULL)
		return;
	if (transport_channel_binding(&s->t, &s->cb_type, &s->cb_data, &s->cb_len) < 0) {
		s->cb_data = NULL;
		s->cb_len = 0;
	}
}

/* Picks the mechanism.  Returns NULL and records a failure when AUTH
 * cannot be done safely. */
static const struct sasl_mech *
auth_choose(struct smtp_session *s, enum smtp_state *next)
{
	if (!(s->o->caps.flags & CAP_AUTH)) {
		*next = fail(
			s, ST_CONFIG,
			_("the server %s does not offer AUTH; set 'auth off' if it needs none"),
			s->p->host);
		return NULL;
	}
	fetch_channel_binding(s);
	return s->p->auth_mode == SMTP_AUTH_MECH ? named_mechanism(s, next)
						 : chosen_mechanism(s, next);
}

static enum act
act_connect(struct smtp_session *s)
{
	if (s->p->socket_path != NULL)
		s->t.fd = net_connect_unix(s->p->socket_path, s->p->timeout_ms, &s->io);
	else
		s->t.fd = net_connect(s->p->host, s->p->port, s->p->source_ip, s->p->timeout_ms,
				      &s->io);
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

static void drain_pipeline(struct smtp_session *s);

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

static enum smtp_state check_mail_params(struct smtp_session *s);

/* --serverinfo: what the session learned, once the capabilities are final. */
static void
describe_server(struct smtp_session *s)
{
	char capline[1024];

	buf_printf(s->info, "%s %s\n", _("Server:"),
		   s->p->socket_path ? s->p->socket_path : s->p->host);
	buf_printf(s->info, "  %s %s\n", _("greeting:"), s->greeting.data ? s->greeting.data : "");
	caps_describe(&s->o->caps, capline, sizeof capline);
	buf_printf(s->info, "  %s %s\n", _("capabilities:"), capline);
	if (encrypted(s)) {
		buf_printf(s->info, "%s\n", _("TLS session:"));
		transport_describe_tls(&s->t, s->info);
	}
}

static enum smtp_state
after_ehlo(struct smtp_session *s)
{
	if (s->p->tls_mode == SMTP_TLS_STARTTLS && !s->tls_done) {
		if (!(s->o->caps.flags & CAP_STARTTLS))
			return fail(
				s, ST_CONFIG,
				_("the server %s does not offer STARTTLS; use 'tls_starttls off' "
				  "with port 465 if it speaks implicit TLS, or 'tls off' only if "
				  "you accept sending in clear"),
				s->p->host);
		return S_STARTTLS;
	}
	if (s->info != NULL) {
		describe_server(s);
		return S_QUIT;
	}
	if (auth_wanted(s)) {
		enum smtp_state next = S_AUTH;

		s->mech = auth_choose(s, &next);
		return next;
	}
	return S_READY;
}

static enum smtp_state
check_mail_params(struct smtp_session *s)
{
	const struct caps *c = &s->o->caps;

	if (s->m->smtputf8 && !(c->flags & CAP_SMTPUTF8))
		return fail(s, ST_MESSAGE_PERM,
			    _("an address needs SMTPUTF8 (RFC 6531), which the server does not "
			      "offer; use an ASCII address"));
	if ((c->flags & CAP_SIZE) && c->size_max > 0 && s->m->size > c->size_max)
		return fail(s, ST_MESSAGE_PERM,
			    _("the message (%llu bytes) is larger than the server accepts (%lu "
			      "bytes)"),
			    s->m->size, c->size_max);
	if (!(c->flags & CAP_DSN) &&
	    (s->m->dsn_notify != NULL || s->m->dsn_return != NULL || s->m->dsn_envid != NULL))
		s->o->dsn_dropped = true;
	return S_MAIL;
}

static size_t
accepted_rcpts(const struct smtp_session *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->m->nrcpts; i++)
		n += s->m->rcpts[i].state == RCPT_ACCEPTED;
	return n;
}

static enum smtp_state
after_rcpts(struct smtp_session *s)
{
	bool any_temp = false;

	if (accepted_rcpts(s) > 0)
		return S_DATA;
	for (size_t i = 0; i < s->m->nrcpts; i++)
		any_temp |= s->m->rcpts[i].state == RCPT_TEMPFAIL;
	if (any_temp)
		return fail(
			s, ST_SERVER_TEMP,
			_("the server refused every recipient, some temporarily; last reply: %s"),
			s->o->reply);
	return fail(s, ST_NOUSER, _("the server refused every recipient; last reply: %s"),
		    s->o->reply);
}

static void
record_rcpt(struct smtp_session *s, const struct reply *r)
{
	struct smtp_rcpt *rc = &s->m->rcpts[s->rcpt_next];
	char line[512];

	rc->code = r->code;
	reply_first_line(r, line, sizeof line);
	snprintf(rc->reply, sizeof rc->reply, "%s", line);
	if (r->code / 100 == 2) {
		rc->state = RCPT_ACCEPTED;
	} else {
		/* 552 "too many recipients" means: try these later (RFC 5321
		 * 4.5.3.1.10). */
		rc->state = r->code / 100 == 4 || r->code == 552 ? RCPT_TEMPFAIL : RCPT_PERMFAIL;
		s->o->code = r->code;
		snprintf(s->o->reply, sizeof s->o->reply, "%s", line);
	}
}

static enum smtp_state
ehlo_replied(struct smtp_session *s, const struct reply *r)
{
	if (r->code / 100 == 2) {
		/* After STARTTLS the server no longer lists it (RFC 3207
		 * 4.2); keep it known for --serverinfo. */
		unsigned had_starttls = s->o->caps.flags & CAP_STARTTLS;

		caps_parse(r, &s->o->caps);
		s->o->caps.flags |= had_starttls;
		return after_ehlo(s);
	}
	/* HELO cannot do STARTTLS: without EHLO there is no safe way on. */
	if (r->code == 421 || s->p->tls_mode == SMTP_TLS_STARTTLS)
		return fail_reply(s, r, "EHLO");
	return S_HELO;
}

/* The reply to AUTH or to a response: a 334 challenge is kept for the
 * next response. */
static enum smtp_state
auth_replied(struct smtp_session *s, const struct reply *r)
{
	if (r->code == 334) {
		buf_reset(&s->challenge);
		buf_append(&s->challenge, r->text, strcspn(r->text, "\n"));
		return S_AUTH_RESPONSE;
	}
	if (r->code / 100 != 2)
		return fail_reply(s, r, "AUTH");
	if (!sasl_complete(&s->sasl))
		return fail(s, ST_ACCOUNT,
			    _("the server accepted AUTH %s without proving that it knows the "
			      "password; refusing to go on"),
			    s->sasl.mech->name);
	return S_READY;
}

/* An AUTH action would not go on (s->io says why).  When the mechanism
 * cannot answer a challenge (a wrong SCRAM server signature, say), the
 * exchange is cancelled with "*" (RFC 4954 4) before the session ends. */
static enum smtp_state
auth_refused(struct smtp_session *s)
{
	enum status st = s->io.status;
	enum smtp_state next = fail(s, st, "%s", s->io.msg);

	if (s->state == S_AUTH_RESPONSE && (st == ST_ACCOUNT || st == ST_SERVER_TEMP))
		return S_AUTH_CANCEL;
	return next;
}

static enum smtp_state
rcpt_replied(struct smtp_session *s, const struct reply *r)
{
	record_rcpt(s, r);
	if (r->code == 421)
		return fail_reply(s, r, "RCPT TO");
	if (s->pending_replies > 0)
		s->pending_replies--;
	if (++s->rcpt_next < s->m->nrcpts)
		return S_RCPT;
	return after_rcpts(s);
}

static enum smtp_state io_failed(struct smtp_session *s, bool awaiting_reply);

/* The one function that changes state, given the event of the current
 * state.  It does no I/O. */
static enum smtp_state
smtp_transition(struct smtp_session *s, const struct smtp_event *ev)
{
	const struct reply *r = ev->reply;
	int cls = r != NULL ? r->code / 100 : 2;

	if (ev->kind == EV_IO_FAILED)
		return io_failed(s, ev->awaiting_reply);
	if (ev->kind == EV_REFUSED)
		return auth_refused(s);
	if (r != NULL && !reply_valid(s->state, r->code))
		return protocol_error(s, r);
	switch (s->state) {
	case S_CONNECT:
		return s->p->tls_mode == SMTP_TLS_IMPLICIT ? S_TLS : S_GREETING;
	case S_TLS:
		s->tls_done = true;
		s->o->tls = true;
		return s->p->tls_mode == SMTP_TLS_IMPLICIT && s->greeting.len == 0 ? S_GREETING
										   : S_EHLO;
	case S_GREETING:
		if (cls != 2)
			return fail_reply(s, r, _("connecting"));
		buf_puts(&s->greeting, r->text);
		return S_EHLO;
	case S_EHLO:
		return ehlo_replied(s, r);
	case S_HELO:
		if (cls != 2)
			return fail_reply(s, r, "HELO");
		memset(&s->o->caps, 0, sizeof s->o->caps);
		return after_ehlo(s);
	case S_STARTTLS:
		return r->code == 220 ? S_TLS : fail_reply(s, r, "STARTTLS");
	case S_AUTH:
	case S_AUTH_RESPONSE:
		return auth_replied(s, r);
	case S_AUTH_CANCEL:
		return after_failure(s); /* recorded by auth_refused() */
	case S_MAIL:
		return cls == 2 ? S_RCPT : fail_reply(s, r, "MAIL FROM");
	case S_RCPT:
		return rcpt_replied(s, r);
	case S_DATA:
		if (s->pending_replies > 0)
			s->pending_replies--;
		return r->code == 354 ? S_BODY : fail_reply(s, r, "DATA");
	case S_BODY:
		if (cls != 2)
			return fail_reply(s, r, _("sending the message"));
		s->o->code = r->code;
		reply_first_line(r, s->o->reply, sizeof s->o->reply);
		s->in_transaction = false;
		return S_READY;
	case S_READY:
		return ev->kind == EV_MESSAGE ? check_mail_params(s) : S_QUIT;
	case S_RSET:
		if (cls != 2)
			s->session_broken = true;
		return cls == 2 ? S_READY : S_QUIT;
	case S_QUIT:
	case S_DONE:
	case S__COUNT:
		break;
	}
	return S_DONE;
}

/* An I/O failure (timeout, drop, TLS error) in the current state: what it
 * means depends on how far the transaction got (DESIGN.md 2, step 5).
 * awaiting_reply: the state's command went out whole; only its reply is
 * missing. */
static enum smtp_state
io_failed(struct smtp_session *s, bool awaiting_reply)
{
	struct error saved = s->io;
	enum status st = saved.status;

	s->connection_lost = true;
	/* A TLS handshake refused as configured (not TLS, an untrusted
	 * certificate): the server answered. */
	if (s->state == S_TLS && st == ST_CONFIG)
		s->o->reached = true;
	if (s->state == S_QUIT && s->o->status == ST_OK && !s->failed)
		return S_DONE; /* the message went through; a lost QUIT changes nothing */
	if (st == ST_CONNECT) {
		if (s->state == S_BODY) {
			/* Lost after the final dot: the server may have taken it. */
			s->o->uncertain = awaiting_reply;
			st = ST_SERVER_TEMP;
		} else if (s->state >= S_MAIL && s->state <= S_DATA) {
			st = ST_SERVER_TEMP;
		}
	}
	return fail(s, st, "%s", saved.msg);
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

/* timeout_ms times factor, as a timeout (-1 stays "no limit"). */
static int
scaled(int timeout_ms, int factor)
{
	int64_t v = (int64_t)timeout_ms * factor;

	return timeout_ms < 0 ? -1 : v > INT_MAX ? INT_MAX : (int)v;
}

static void
start_session_clock(struct smtp_session *s)
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
	if (s->p->socket_path != NULL || s->p->tls_mode == SMTP_TLS_IMPLICIT)
		return false;
	return transport_speaks_tls(s->p->host, s->p->port, s->p->source_ip, s->p->tls.priorities,
				    s->p->timeout_ms);
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
			  states[s->state].name, limit);
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

/* Performs the current state's action, then, when a reply is due, sends
 * what the action queued in one write and reads the reply: the event for
 * smtp_transition(). */
static void
smtp_step(struct smtp_session *s, struct reply *r, struct smtp_event *ev)
{
	enum act a = smtp_act(s);

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

/* Runs the machine until the session is idle (S_READY) or over. */
static void
smtp_run(struct smtp_session *s)
{
	struct reply r;
	struct smtp_event ev;

	while (s->state != S_READY && s->state != S_DONE) {
		arm_deadline(s, false);
		smtp_step(s, &r, &ev);
		if (s->t.received > 0)
			s->o->reached = true; /* the server answered (expiry counts) */
		s->state = smtp_transition(s, &ev);
	}
}

static struct smtp_session *
smtp_new(const struct smtp_params *p, struct error *e)
{
	struct smtp_session *s = xcalloc(1, sizeof *s);

	s->p = p;
	s->o = &s->out;
	s->result = e;
	transport_init(&s->t, -1, p->timeout_ms);
	buf_init(&s->greeting, 4096);
	buf_init(&s->challenge, 0);
	s->state = S_CONNECT;
	start_session_clock(s);
	return s;
}

static void
smtp_free(struct smtp_session *s)
{
	transport_close(&s->t);
	sasl_end(&s->sasl);
	free_secret(s->password);
	free(s->cb_data);
	buf_free(&s->greeting);
	buf_free(&s->challenge);
	free(s);
}

/* What the caller learns: the session's facts and the last transaction's. */
static void
report(const struct smtp_session *s, struct smtp_outcome *o)
{
	*o = s->out;
}

struct smtp_session *
smtp_open(const struct smtp_params *p, struct smtp_outcome *o, struct error *e)
{
	struct smtp_session *s = smtp_new(p, e);

	smtp_run(s);
	report(s, o);
	if (s->state == S_READY)
		return s;
	smtp_free(s);
	return NULL;
}

int
smtp_transaction(struct smtp_session *s, struct smtp_mail *m, struct smtp_outcome *o,
		 struct error *e)
{
	for (size_t i = 0; i < m->nrcpts; i++)
		m->rcpts[i].state = RCPT_PENDING;
	s->m = m;
	s->result = e;
	s->failed = false;
	s->pipelined = false;
	s->rcpt_next = 0;
	s->pending_replies = 0;
	s->out.status = ST_OK;
	s->out.uncertain = false;
	s->out.dsn_dropped = false;
	s->out.code = 0;
	s->out.reply[0] = '\0';
	if (s->state != S_READY) {
		error_set(e, ST_SOFTWARE, _("the SMTP session is closed"));
		s->out.status = ST_SOFTWARE;
		report(s, o);
		return -1;
	}
	s->in_transaction = true;
	start_session_clock(s);
	s->state = smtp_transition(s, &(struct smtp_event){.kind = EV_MESSAGE});
	smtp_run(s);
	s->in_transaction = false;
	s->m = NULL;
	report(s, o);
	return s->failed ? -1 : 0;
}

bool
smtp_usable(const struct smtp_session *s)
{
	return s != NULL && s->state == S_READY;
}

void
smtp_close(struct smtp_session *s)
{
	struct error ignored;

	if (s == NULL)
		return;
	if (s->state == S_READY) {
		s->result = &ignored;
		s->failed = false;
		s->state = smtp_transition(s, &(struct smtp_event){.kind = EV_CLOSE});
		smtp_run(s);
	}
	smtp_free(s);
}

int
smtp_send(const struct smtp_params *p, struct smtp_mail *m, struct smtp_outcome *o, struct error *e)
{
	struct smtp_session *s = smtp_open(p, o, e);
	int rc;

	if (s == NULL)
		return -1;
	rc = smtp_transaction(s, m, o, e);
	smtp_close(s);
	return rc;
}

int
smtp_serverinfo(const struct smtp_params *p, struct buf *out, struct error *e)
{
	struct smtp_session *s = smtp_new(p, e);
	int rc;

	s->info = out;
	smtp_run(s);
	rc = s->failed ? -1 : 0;
	smtp_free(s);
	return rc;
}
