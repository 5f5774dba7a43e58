/* smtp.c - the SMTP client state machine.
 *
 * Untrusted input: every reply from the server (bounded by reply.c and
 * transport.c).  What goes on the wire: commands built from checked
 * envelope addresses, every one of them checked again for CR, LF and NUL in
 * smtp_command(), the single choke point; and the message, encoded by
 * wire.c.  AUTH payloads never reach the trace.
 *
 * Shape: smtp_enter() performs the action of the current state (send a
 * command, connect, handshake); smtp_transition() is the only function that
 * changes the state, given the reply (or NULL for "action done"). */
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
	S_AUTH,
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
	bool need_reply; /* the current state awaits a reply */
	bool failed;     /* a failure is recorded; only QUIT is left */
	bool connection_lost;
	bool in_transaction;    /* between MAIL and the end of data */
	bool session_broken;    /* 421 or a failed RSET: only QUIT is left */
	bool pipelined;         /* MAIL, RCPTs and DATA went out together */
	size_t rcpt_next;       /* index of the RCPT whose reply is due */
	size_t pending_replies; /* pipelined replies still to read */
	struct sasl sasl;
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

static void
trace(struct smtp_session *s, const char *dir, const char *line)
{
	if (s->p->trace != NULL)
		s->p->trace(s->p->trace_ctx, dir, line);
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
	if (s->connection_lost)
		return S_DONE;
	/* A failed transaction leaves a usable session: RSET and go on. */
	return s->in_transaction && !s->session_broken ? S_RSET : S_QUIT;
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

/* The choke point for commands: nothing with CR, LF or NUL gets out. */
static int smtp_command(struct smtp_session *s, bool secret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
smtp_command(struct smtp_session *s, bool secret, const char *fmt, ...)
{
	struct buf cmd;
	va_list ap;
	int rc;

	buf_init(&cmd, SMTP_COMMAND_MAX);
	va_start(ap, fmt);
	rc = buf_vprintf(&cmd, fmt, ap);
	va_end(ap);
	if (rc < 0 || has_line_breaks(cmd.data, cmd.len)) {
		bool envelope = strncmp(fmt, "MAIL ", 5) == 0 || strncmp(fmt, "RCPT ", 5) == 0;

		buf_free(&cmd);
		/* Addresses are checked long before; what else gets here comes
		 * from the account (domain, user, password, token): held as an
		 * account error, never the message's fault. */
		return error_set(&s->io, envelope ? ST_DATAERR : ST_CONFIG,
				 envelope ? _("refusing to send a command longer than %d bytes or "
					      "containing CR, LF or NUL")
					  : _("refusing to send a command longer than %d bytes or "
					      "containing CR, LF or NUL; check the account's domain, "
					      "user and password"),
				 SMTP_COMMAND_MAX);
	}
	if (secret && strncmp(cmd.data, "AUTH ", 5) == 0) {
		/* "AUTH PLAIN <initial response>": keep the mechanism name. */
		const char *sp = strchr(cmd.data + 5, ' ');
		char shown[96];

		snprintf(shown, sizeof shown, "%.*s%s", sp ? (int)(sp - cmd.data) : (int)cmd.len,
			 cmd.data, sp ? " <redacted>" : "");
		trace(s, "C", shown);
	} else {
		trace(s, "C", secret ? "<redacted>" : cmd.data);
	}
	rc = transport_write(&s->t, cmd.data, cmd.len, &s->io);
	if (rc == 0)
		rc = transport_write(&s->t, "\r\n", 2, &s->io);
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
	return s->t.tls != NULL;
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
	rc = smtp_command(s, false, "MAIL FROM:<%s>%s", m->from, params.len ? params.data : "");
	buf_free(&params);
	return rc;
}

static int
send_rcpt_command(struct smtp_session *s, size_t i)
{
	if ((s->o->caps.flags & CAP_DSN) && s->m->dsn_notify != NULL)
		return smtp_command(s, false, "RCPT TO:<%s> NOTIFY=%s", s->m->rcpts[i].addr,
				    s->m->dsn_notify);
	return smtp_command(s, false, "RCPT TO:<%s>", s->m->rcpts[i].addr);
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

static int
send_auth_start(struct smtp_session *s, const struct sasl_mech *mech)
{
	struct buf resp, b64;
	long port = 0;
	int rc;

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
	sasl_begin(&s->sasl, mech);
	s->o->auth_mech = mech->name;
	if (!mech->initial_response)
		return smtp_command(s, false, "AUTH %s", mech->name);
	buf_init(&resp, 0);
	buf_init(&b64, 0);
	rc = sasl_step(&s->sasl, "", 0, &resp, &s->io);
	if (rc == 0) {
		base64_encode((const unsigned char *)resp.data, resp.len, &b64);
		/* RFC 4954 4: "=" is an empty initial response. */
		rc = smtp_command(s, true, "AUTH %s %s", mech->name, b64.len ? b64.data : "=");
	}
	buf_free(&resp);
	buf_free(&b64);
	return rc;
}

static int
send_auth_continue(struct smtp_session *s, const struct reply *r)
{
	struct buf challenge, resp, b64;
	const char *text = r->text;
	int rc;

	buf_init(&challenge, 0);
	buf_init(&resp, 0);
	buf_init(&b64, 0);
	rc = base64_decode(text, strcspn(text, "\n"), &challenge);
	if (rc < 0)
		rc = error_set(&s->io, ST_SERVER_TEMP,
			       _("the server sent a malformed AUTH challenge"));
	else
		rc = sasl_step(&s->sasl, challenge.data ? challenge.data : "", challenge.len, &resp,
			       &s->io);
	if (rc == 0) {
		base64_encode((const unsigned char *)resp.data, resp.len, &b64);
		rc = smtp_command(s, true, "%s", b64.len ? b64.data : "");
	}
	buf_free(&challenge);
	buf_free(&resp);
	buf_free(&b64);
	return rc;
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

/* RFC 9266: tls-exporter on TLS 1.3, tls-unique before it. */
static void
fetch_channel_binding(struct smtp_session *s)
{
	if (s->t.tls == NULL || s->cb_data != NULL)
		return;
	s->cb_type = tls_is_tls13(s->t.tls) ? "tls-exporter" : "tls-unique";
	if (tls_channel_binding(s->t.tls, s->cb_type, &s->cb_data, &s->cb_len) < 0) {
		s->cb_data = NULL;
		s->cb_len = 0;
	}
}

/* Picks the mechanism and fetches the password if it needs one.  Returns
 * NULL and fills a failure when AUTH cannot be done safely. */
static const struct sasl_mech *
auth_prepare(struct smtp_session *s, enum smtp_state *next)
{
	const struct sasl_mech *mech;

	if (!(s->o->caps.flags & CAP_AUTH)) {
		*next = fail(
			s, ST_CONFIG,
			_("the server %s does not offer AUTH; set 'auth off' if it needs none"),
			s->p->host);
		return NULL;
	}
	fetch_channel_binding(s);
	mech = s->p->auth_mode == SMTP_AUTH_MECH ? named_mechanism(s, next)
						 : chosen_mechanism(s, next);
	if (mech == NULL || !mech->needs_password || s->password != NULL)
		return mech;
	if (s->p->get_password == NULL) {
		*next = fail(s, ST_ACCOUNT, _("no password available for %s"),
			     s->p->user ? s->p->user : "");
		return NULL;
	}
	if (s->p->get_password(s->p->password_ctx, &s->password, &s->io) < 0) {
		*next = fail(s, s->io.status, "%s", s->io.msg);
		return NULL;
	}
	return mech;
}

/* The action of the current state: connect, handshake, or queue its
 * command(s). */
static int
smtp_act(struct smtp_session *s)
{
	s->need_reply = true;
	switch (s->state) {
	case S_CONNECT:
		s->need_reply = false;
		if (s->p->socket_path != NULL)
			s->t.fd = net_connect_unix(s->p->socket_path, s->p->timeout_ms, &s->io);
		else
			s->t.fd = net_connect(s->p->host, s->p->port, s->p->source_ip,
					      s->p->timeout_ms, &s->io);
		return s->t.fd < 0 ? -1 : 0;
	case S_TLS:
		s->need_reply = false;
		if (transport_start_tls(&s->t, &s->p->tls, &s->io) < 0)
			return -1;
		s->tls_done = true;
		s->o->tls = true;
		return 0;
	case S_GREETING:
		return 0;
	case S_EHLO:
		return smtp_command(s, false, "EHLO %s", s->p->helo_domain);
	case S_HELO:
		return smtp_command(s, false, "HELO %s", s->p->helo_domain);
	case S_STARTTLS:
		return smtp_command(s, false, "STARTTLS");
	case S_AUTH:
		return 0; /* sent by the transition that chose the mechanism */
	case S_MAIL:
		if (send_mail_command(s) < 0)
			return -1;
		if (s->o->caps.flags & CAP_PIPELINING) {
			/* RFC 2920: MAIL, every RCPT and DATA in one write. */
			for (size_t i = 0; i < s->m->nrcpts; i++)
				if (send_rcpt_command(s, i) < 0)
					return -1;
			if (smtp_command(s, false, "DATA") < 0)
				return -1;
			s->pipelined = true;
			s->pending_replies = s->m->nrcpts + 1;
		}
		return 0;
	case S_RCPT:
		if (s->pipelined)
			return 0;
		return send_rcpt_command(s, s->rcpt_next);
	case S_DATA:
		if (s->pipelined)
			return 0;
		return smtp_command(s, false, "DATA");
	case S_BODY:
		return send_body(s);
	case S_RSET:
		return smtp_command(s, false, "RSET");
	case S_READY:
		s->need_reply = false;
		return 0;
	case S_QUIT:
		return smtp_command(s, false, "QUIT");
	case S_DONE:
	case S__COUNT:
		break;
	}
	s->need_reply = false;
	return 0;
}

static enum smtp_state check_mail_params(struct smtp_session *s);

/* Performs the action of the current state; what it queued goes out in
 * one write.  Returns -1 on an I/O error, leaving the failure to
 * smtp_io_failed(). */
static int
smtp_enter(struct smtp_session *s)
{
	return smtp_act(s) < 0 ? -1 : transport_flush(&s->t, &s->io);
}

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
	if (s->t.tls != NULL) {
		buf_printf(s->info, "%s\n", _("TLS session:"));
		tls_describe(s->t.tls, s->info);
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
		enum smtp_state next;
		const struct sasl_mech *mech = auth_prepare(s, &next);

		if (mech == NULL)
			return next;
		if (send_auth_start(s, mech) < 0 || transport_flush(&s->t, &s->io) < 0)
			return fail(s, s->io.status, "%s", s->io.msg);
		return S_AUTH;
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

/* Answers a 334 challenge.  When the mechanism cannot answer (a wrong
 * SCRAM server signature, say), the exchange is cancelled with "*" (RFC
 * 4954 4) before the session ends. */
static enum smtp_state
auth_continue(struct smtp_session *s, const struct reply *r)
{
	struct reply cancelled;

	if (send_auth_continue(s, r) == 0 && transport_flush(&s->t, &s->io) == 0)
		return S_AUTH;
	if (s->io.status == ST_ACCOUNT || s->io.status == ST_SERVER_TEMP) {
		struct error step = s->io;

		if (smtp_command(s, false, "*") < 0 || transport_flush(&s->t, &s->io) < 0 ||
		    read_reply(s, &cancelled) < 0)
			s->connection_lost = true;
		return fail(s, step.status, "%s", step.msg);
	}
	return fail(s, s->io.status, "%s", s->io.msg);
}

/* The one function that changes state: r is the reply to the current
 * state's command, or NULL when the state's action needed none. */
static enum smtp_state
smtp_transition(struct smtp_session *s, const struct reply *r)
{
	int cls = r != NULL ? r->code / 100 : 2;

	if (s->state == S_QUIT)
		return S_DONE;
	if (r != NULL && !reply_valid(s->state, r->code))
		return protocol_error(s, r);
	switch (s->state) {
	case S_CONNECT:
		return s->p->tls_mode == SMTP_TLS_IMPLICIT ? S_TLS : S_GREETING;
	case S_TLS:
		return s->p->tls_mode == SMTP_TLS_IMPLICIT && s->greeting.len == 0 ? S_GREETING
										   : S_EHLO;
	case S_GREETING:
		if (cls != 2)
			return fail_reply(s, r, _("connecting"));
		buf_puts(&s->greeting, r->text);
		return S_EHLO;
	case S_EHLO:
		if (cls == 2) {
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
	case S_HELO:
		if (cls != 2)
			return fail_reply(s, r, "HELO");
		memset(&s->o->caps, 0, sizeof s->o->caps);
		return after_ehlo(s);
	case S_STARTTLS:
		if (r->code != 220)
			return fail_reply(s, r, "STARTTLS");
		return S_TLS;
	case S_AUTH:
		if (r->code == 334)
			return auth_continue(s, r);
		if (cls != 2)
			return fail_reply(s, r, "AUTH");
		if (!sasl_complete(&s->sasl))
			return fail(
				s, ST_ACCOUNT,
				_("the server accepted AUTH %s without proving that it knows the "
				  "password; refusing to go on"),
				s->sasl.mech->name);
		return S_READY;
	case S_MAIL:
		if (cls != 2)
			return fail_reply(s, r, "MAIL FROM");
		return S_RCPT;
	case S_RCPT:
		record_rcpt(s, r);
		if (r->code == 421)
			return fail_reply(s, r, "RCPT TO");
		if (s->pending_replies > 0)
			s->pending_replies--;
		if (++s->rcpt_next < s->m->nrcpts)
			return S_RCPT;
		return after_rcpts(s);
	case S_DATA:
		if (s->pending_replies > 0)
			s->pending_replies--;
		if (r->code != 354)
			return fail_reply(s, r, "DATA");
		return S_BODY;
	case S_BODY:
		if (cls != 2)
			return fail_reply(s, r, _("sending the message"));
		s->o->code = r->code;
		reply_first_line(r, s->o->reply, sizeof s->o->reply);
		s->in_transaction = false;
		return S_READY;
	case S_RSET:
		if (cls != 2)
			s->session_broken = true;
		return cls == 2 ? S_READY : S_QUIT;
	case S_READY:
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
static void
smtp_io_failed(struct smtp_session *s, bool awaiting_reply)
{
	struct error saved = s->io;
	enum status st = saved.status;

	s->connection_lost = true;
	if (s->state == S_QUIT && s->o->status == ST_OK && !s->failed)
		return; /* the message went through; a lost QUIT changes nothing */
	if (st == ST_CONNECT) {
		if (s->state == S_BODY) {
			/* Lost after the final dot: the server may have taken it. */
			s->o->uncertain = awaiting_reply;
			st = ST_SERVER_TEMP;
		} else if (s->state >= S_MAIL && s->state <= S_DATA) {
			st = ST_SERVER_TEMP;
		}
	}
	fail(s, st, "%s", saved.msg);
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
			if (smtp_command(s, false, ".") < 0 || transport_flush(&s->t, &s->io) < 0 ||
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
	struct tls_params probe = {.host = s->p->host, .timeout_ms = s->p->timeout_ms};
	struct error ignored;
	struct tls *t;
	int fd;

	if (s->p->socket_path != NULL || s->p->tls_mode == SMTP_TLS_IMPLICIT)
		return false;
	fd = net_connect(s->p->host, s->p->port, s->p->source_ip, s->p->timeout_ms, &ignored);
	if (fd < 0)
		return false;
	probe.priorities = s->p->tls.priorities;
	t = tls_start(fd, &probe, &ignored);
	tls_close(t);
	close(fd);
	return t != NULL;
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

/* Runs the machine until the session is idle (S_READY) or over. */
static void
smtp_run(struct smtp_session *s)
{
	struct reply r;

	while (s->state != S_READY && s->state != S_DONE) {
		enum smtp_state next;

		arm_deadline(s, false);
		if ((s->state == S_QUIT || s->state == S_RSET) && s->pending_replies > 0)
			drain_pipeline(s);
		if (s->state == S_QUIT && s->connection_lost)
			break;
		if (smtp_enter(s) < 0) {
			/* A TLS handshake refused as configured (not TLS, an
			 * untrusted certificate): the server answered. */
			if (s->state == S_TLS && s->io.status == ST_CONFIG)
				s->o->reached = true;
			smtp_io_failed(s, false);
			next = S_DONE;
		} else if (s->need_reply && await_reply(s, &r) < 0) {
			smtp_io_failed(s, true);
			next = S_DONE;
		} else {
			next = smtp_transition(s, s->need_reply ? &r : NULL);
		}
		if (s->t.received > 0)
			s->o->reached = true; /* the server answered (expiry counts) */
		s->state = next;
	}
	if (s->state != S_READY)
		s->state = S_DONE;
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
	s->state = check_mail_params(s);
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
		s->state = S_QUIT;
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
