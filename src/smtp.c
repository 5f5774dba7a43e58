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

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* A command line, CRLF not counted: long enough for a 2-4 KB OAuth token
 * in base64 with room to spare (RFC 4954 4 lifts the 512 limit for AUTH). */
#define SMTP_COMMAND_MAX 65536

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
	S_QUIT,
	S_DONE,
	S__COUNT
};

/* For each state: its name, and what a 4xx / 5xx reply to it means. */
static const struct {
	const char *name;
	enum status temporary;
	enum status permanent;
} states[S__COUNT] = {
	[S_CONNECT] = {"CONNECT", ST_CONNECT, ST_CONNECT},
	[S_TLS] = {"TLS", ST_CONNECT, ST_CONFIG},
	[S_GREETING] = {"GREETING", ST_SERVER_TEMP, ST_SERVER_TEMP},
	[S_EHLO] = {"EHLO", ST_SERVER_TEMP, ST_SERVER_TEMP},
	[S_HELO] = {"HELO", ST_SERVER_TEMP, ST_SERVER_TEMP},
	[S_STARTTLS] = {"STARTTLS", ST_SERVER_TEMP, ST_CONFIG},
	[S_AUTH] = {"AUTH", ST_SERVER_TEMP, ST_ACCOUNT},
	[S_MAIL] = {"MAIL", ST_SERVER_TEMP, ST_MESSAGE_PERM},
	[S_RCPT] = {"RCPT", ST_SERVER_TEMP, ST_NOUSER},
	[S_DATA] = {"DATA", ST_SERVER_TEMP, ST_MESSAGE_PERM},
	[S_BODY] = {"END-OF-DATA", ST_SERVER_TEMP, ST_MESSAGE_PERM},
	[S_QUIT] = {"QUIT", ST_OK, ST_OK},
	[S_DONE] = {"DONE", ST_OK, ST_OK},
};

struct smtp {
	const struct smtp_params *p;
	struct smtp_mail *m; /* NULL for --serverinfo */
	struct smtp_outcome *o;
	struct error *result; /* the caller's: written by fail() only */
	struct error io;      /* the latest I/O or step error */
	struct transport t;
	enum smtp_state state;
	bool tls_done;
	bool need_reply; /* the current state awaits a reply */
	bool failed;     /* a failure is recorded; only QUIT is left */
	bool connection_lost;
	bool pipelined;         /* MAIL, RCPTs and DATA went out together */
	size_t rcpt_next;       /* index of the RCPT whose reply is due */
	size_t pending_replies; /* pipelined replies still to read */
	struct sasl sasl;
	char *password;
	struct buf greeting;
	struct buf *info; /* --serverinfo output, else NULL */
};

static void
trace(struct smtp *s, const char *dir, const char *line)
{
	if (s->p->trace != NULL)
		s->p->trace(s->p->trace_ctx, dir, line);
}

/* Records the failure that ends the transaction: the first one wins. */
static enum smtp_state fail(struct smtp *s, enum status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum smtp_state
fail(struct smtp *s, enum status st, const char *fmt, ...)
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
	return s->connection_lost ? S_DONE : S_QUIT;
}

/* A reply that is not what the state wanted. */
static enum smtp_state
fail_reply(struct smtp *s, const struct reply *r, const char *what)
{
	char line[512];
	enum status st = r->code >= 500 ? states[s->state].permanent : states[s->state].temporary;

	if (r->code == 421)
		st = ST_SERVER_TEMP;
	reply_first_line(r, line, sizeof line);
	s->o->code = r->code;
	snprintf(s->o->reply, sizeof s->o->reply, "%s", line);
	return fail(s, st, _("%s failed: the server said: %s"), what, line);
}

/* The choke point for commands: nothing with CR, LF or NUL gets out. */
static int smtp_command(struct smtp *s, bool secret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
smtp_command(struct smtp *s, bool secret, const char *fmt, ...)
{
	struct buf cmd;
	va_list ap;
	int rc;

	buf_init(&cmd, SMTP_COMMAND_MAX);
	va_start(ap, fmt);
	rc = buf_vprintf(&cmd, fmt, ap);
	va_end(ap);
	if (rc < 0 || has_line_breaks(cmd.data, cmd.len)) {
		buf_free(&cmd);
		return error_set(&s->io, ST_DATAERR,
				 _("refusing to send a command longer than %d bytes or containing "
				   "CR, LF or NUL"),
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

static int
read_reply(struct smtp *s, struct reply *r)
{
	char line[REPLY_LINE_MAX + 1];

	reply_init(r);
	for (;;) {
		long len = transport_read_line(&s->t, line, &s->io);
		int rc;

		if (len < 0)
			return -1;
		trace(s, "S", line);
		rc = reply_feed(r, line, (size_t)len, &s->io);
		if (rc < 0)
			return -1;
		if (rc == 1)
			return 0;
	}
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
encrypted(const struct smtp *s)
{
	return s->t.tls != NULL;
}

static bool
auth_wanted(const struct smtp *s)
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
send_mail_command(struct smtp *s)
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
send_rcpt_command(struct smtp *s, size_t i)
{
	if ((s->o->caps.flags & CAP_DSN) && s->m->dsn_notify != NULL)
		return smtp_command(s, false, "RCPT TO:<%s> NOTIFY=%s", s->m->rcpts[i].addr,
				    s->m->dsn_notify);
	return smtp_command(s, false, "RCPT TO:<%s>", s->m->rcpts[i].addr);
}

static int
send_body(struct smtp *s)
{
	struct wire_encoder w;
	struct buf out;
	char chunk[65536];
	off_t off = s->m->body_offset;
	int rc = 0;

	trace(s, "C", "<message>");
	wire_init(&w);
	buf_init(&out, 0);
	if (wire_encode(&w, s->m->headers, s->m->headers_len, &out) < 0 ||
	    transport_write(&s->t, out.data, out.len, &s->io) < 0)
		rc = -1;
	while (rc == 0) {
		ssize_t n = pread(s->m->body_fd, chunk, sizeof chunk, off);

		if (n < 0) {
			rc = error_set(&s->io, ST_LOCAL_TEMP,
				       _("reading the spooled message failed: %m"));
			break;
		}
		if (n == 0)
			break;
		off += n;
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
send_auth_start(struct smtp *s, const struct sasl_mech *mech)
{
	struct buf resp, b64;
	int rc;

	sasl_begin(&s->sasl, mech, s->p->user, s->password);
	s->o->auth_mech = mech->name;
	if (!mech->initial_response)
		return smtp_command(s, false, "AUTH %s", mech->name);
	buf_init(&resp, 0);
	buf_init(&b64, 0);
	rc = sasl_step(&s->sasl, "", 0, &resp, &s->io);
	if (rc == 0) {
		base64_encode((const unsigned char *)resp.data, resp.len, &b64);
		rc = smtp_command(s, true, "AUTH %s %s", mech->name, b64.len ? b64.data : "=");
	}
	buf_free(&resp);
	buf_free(&b64);
	return rc;
}

static int
send_auth_continue(struct smtp *s, const struct reply *r)
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

/* Picks the mechanism and fetches the password.  Returns NULL and fills a
 * failure when AUTH cannot be done safely. */
static const struct sasl_mech *
auth_prepare(struct smtp *s, enum smtp_state *next)
{
	const struct caps *c = &s->o->caps;
	bool plaintext_ok = s->p->allow_plaintext_auth;
	const struct sasl_mech *mech;

	if (!(c->flags & CAP_AUTH)) {
		*next = fail(
			s, ST_CONFIG,
			_("the server %s does not offer AUTH; set 'auth off' if it needs none"),
			s->p->host);
		return NULL;
	}
	if (s->p->auth_mode == SMTP_AUTH_MECH) {
		mech = sasl_find(s->p->auth_mech);
		if (mech == NULL) {
			*next = fail(s, ST_CONFIG,
				     _("AUTH mechanism %s is not supported; outbox has: %s"),
				     s->p->auth_mech, sasl_mechanisms());
			return NULL;
		}
		if (!caps_has_auth(c, mech->name)) {
			*next = fail(s, ST_CONFIG,
				     _("the server does not offer AUTH %s (it offers: %s); use "
				       "'auth on'"),
				     mech->name, c->auth);
			return NULL;
		}
		if (mech->reveals_password && !encrypted(s) && !plaintext_ok) {
			*next = fail(
				s, ST_CONFIG,
				_("refusing AUTH %s over an unencrypted connection; turn tls on, "
				  "or set 'allow_plaintext_auth on' if you accept the risk"),
				mech->name);
			return NULL;
		}
	} else {
		mech = sasl_choose(c->auth, encrypted(s), plaintext_ok);
		if (mech == NULL) {
			if (!encrypted(s) && sasl_choose(c->auth, true, true) != NULL)
				*next = fail(s, ST_CONFIG,
					     _("refusing to send the password over an unencrypted "
					       "connection; turn tls on, or set "
					       "'allow_plaintext_auth on' "
					       "if you accept the risk"));
			else
				*next = fail(s, ST_CONFIG,
					     _("no supported AUTH mechanism: the server offers %s, "
					       "outbox has %s"),
					     c->auth, sasl_mechanisms());
			return NULL;
		}
	}
	if (s->password == NULL) {
		if (s->p->get_password == NULL) {
			*next = fail(s, ST_ACCOUNT, _("no password available for %s"),
				     s->p->user ? s->p->user : "");
			return NULL;
		}
		if (s->p->get_password(s->p->password_ctx, &s->password, &s->io) < 0) {
			*next = fail(s, s->io.status, "%s", s->io.msg);
			return NULL;
		}
	}
	return mech;
}

/* The action of the current state: connect, handshake, or queue its
 * command(s). */
static int
smtp_act(struct smtp *s)
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
	case S_QUIT:
		return smtp_command(s, false, "QUIT");
	case S_DONE:
	case S__COUNT:
		break;
	}
	s->need_reply = false;
	return 0;
}

static enum smtp_state check_mail_params(struct smtp *s);

/* Performs the action of the current state; what it queued goes out in
 * one write.  Returns -1 on an I/O error, leaving the failure to
 * smtp_io_failed(). */
static int
smtp_enter(struct smtp *s)
{
	return smtp_act(s) < 0 ? -1 : transport_flush(&s->t, &s->io);
}

/* --serverinfo: what the session learned, once the capabilities are final. */
static void
describe_server(struct smtp *s)
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
after_ehlo(struct smtp *s)
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
	if (s->m == NULL) {
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
	return check_mail_params(s);
}

static enum smtp_state
check_mail_params(struct smtp *s)
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
accepted_rcpts(const struct smtp *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->m->nrcpts; i++)
		n += s->m->rcpts[i].state == RCPT_ACCEPTED;
	return n;
}

static enum smtp_state
after_rcpts(struct smtp *s)
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
record_rcpt(struct smtp *s, const struct reply *r)
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

/* The one function that changes state: r is the reply to the current
 * state's command, or NULL when the state's action needed none. */
static enum smtp_state
smtp_transition(struct smtp *s, const struct reply *r)
{
	int cls = r != NULL ? r->code / 100 : 2;

	if (s->state == S_QUIT)
		return S_DONE;
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
		if (r->code == 334) {
			if (send_auth_continue(s, r) < 0 || transport_flush(&s->t, &s->io) < 0)
				return fail(s, s->io.status, "%s", s->io.msg);
			return S_AUTH;
		}
		if (cls != 2)
			return fail_reply(s, r, "AUTH");
		return check_mail_params(s);
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
		return S_QUIT;
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
smtp_io_failed(struct smtp *s, bool awaiting_reply)
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
drain_pipeline(struct smtp *s)
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

static int
smtp_run(struct smtp *s)
{
	struct reply r;

	s->state = S_CONNECT;
	while (s->state != S_DONE) {
		enum smtp_state next;

		if (s->state == S_QUIT && s->failed && s->pipelined)
			drain_pipeline(s);
		if (s->state == S_QUIT && s->connection_lost)
			break;
		if (smtp_enter(s) < 0) {
			smtp_io_failed(s, false);
			next = S_DONE;
		} else if (s->need_reply && read_reply(s, &r) < 0) {
			smtp_io_failed(s, true);
			next = S_DONE;
		} else {
			next = smtp_transition(s, s->need_reply ? &r : NULL);
		}
		s->state = next;
	}
	transport_close(&s->t);
	free_secret(s->password);
	s->password = NULL;
	buf_free(&s->greeting);
	return s->failed ? -1 : 0;
}

static void
smtp_init(struct smtp *s, const struct smtp_params *p, struct smtp_mail *m, struct smtp_outcome *o,
	  struct error *e)
{
	memset(s, 0, sizeof *s);
	memset(o, 0, sizeof *o);
	s->p = p;
	s->m = m;
	s->o = o;
	s->result = e;
	transport_init(&s->t, -1, p->timeout_ms);
	buf_init(&s->greeting, 4096);
}

int
smtp_send(const struct smtp_params *p, struct smtp_mail *m, struct smtp_outcome *o, struct error *e)
{
	struct smtp s;

	for (size_t i = 0; i < m->nrcpts; i++)
		m->rcpts[i].state = RCPT_PENDING;
	smtp_init(&s, p, m, o, e);
	if (smtp_run(&s) < 0)
		return -1;
	return 0;
}

int
smtp_serverinfo(const struct smtp_params *p, struct buf *out, struct error *e)
{
	struct smtp_outcome o;
	struct smtp s;

	smtp_init(&s, p, NULL, &o, e);
	s.info = out;
	return smtp_run(&s);
}
