/* smtp.c - the SMTP client state machine: the state table, the transition
 * and the public functions.
 *
 * Untrusted input: every reply from the server, already bounded and made
 * visible by smtp_actions.c, reply.c and transport.c: its code picks the
 * next state, its first line goes into messages and the outcome.
 *
 * Shape: smtp_step() (smtp_actions.c) performs the action of the current
 * state (connect, handshake, send its command) and waits for the reply; all
 * I/O happens there.  What came of it is an event (a reply, "done", an I/O
 * failure, an AUTH step refused) and smtp_transition() is the only function
 * that changes the state, given the state and the event: it does no I/O, it
 * records what the event means in the outcome and picks the next state,
 * whose action comes next. */
#include "config.h"

#include "smtp_private.h"

#include "i18n.h"
#include "oauth2.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

const char *
smtp_state_name(enum smtp_state st)
{
	return states[st].name;
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

/* What the session learned, once the capabilities are final: for
 * --serverinfo (s->info) and --test (p->describe). */
static void
describe_server(const struct smtp_session *s, struct buf *out)
{
	char capline[1024];

	buf_printf(out, "%s %s\n", _("Server:"),
		   s->p->socket_path ? s->p->socket_path : s->p->host);
	buf_printf(out, "  %s %s\n", _("greeting:"), s->greeting.data ? s->greeting.data : "");
	caps_describe(&s->o->caps, capline, sizeof capline);
	buf_printf(out, "  %s %s\n", _("capabilities:"), capline);
	if (encrypted(s)) {
		buf_printf(out, "%s\n", _("TLS session:"));
		transport_describe_tls(&s->t, out);
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
		describe_server(s, s->info);
		return S_QUIT;
	}
	if (s->p->describe != NULL)
		describe_server(s, s->p->describe);
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

/* Microsoft 365's refusal when SMTP AUTH is off for the tenant or mailbox,
 * and what turns it on. */
#define MS_SMTP_AUTH_OFF "SmtpClientAuthentication is disabled"

/* AUTH refused: the reply, and what an OAuth error challenge (RFC 7628
 * 3.2.2, XOAUTH2's base64 JSON) or Microsoft's text means. */
static enum smtp_state
auth_failed(struct smtp_session *s, const struct reply *r)
{
	enum smtp_state next = fail_reply(s, r, "AUTH");
	struct buf json, why;

	buf_init(&json, 0);
	buf_init(&why, 0);
	if (s->sasl.mech->named_only && s->sasl.mech->needs_password && s->challenge.len > 0 &&
	    base64_decode(s->challenge.data, s->challenge.len, &json) == 0 && json.len > 0 &&
	    oauth2_explain_challenge(json.data, json.len, &why) == 0)
		error_prefix(s->result, "%s", why.data);
	if (strstr(r->text, MS_SMTP_AUTH_OFF) != NULL)
		error_prefix(s->result, "%s",
			     _("Microsoft 365 has SMTP AUTH turned off for this mailbox or "
			       "tenant: an administrator must allow it (admin center: the user's "
			       "Mail > Manage email apps > Authenticated SMTP, or "
			       "Set-CASMailbox -SmtpClientAuthenticationDisabled $false)"));
	buf_free(&json);
	buf_free(&why);
	return next;
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
		return auth_failed(s, r);
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

/* Runs the machine until the session is idle (S_READY) or over. */
static void
smtp_run(struct smtp_session *s)
{
	struct reply r;
	struct smtp_event ev;

	while (s->state != S_READY && s->state != S_DONE) {
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
	smtp_start_clock(s);
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
	smtp_start_clock(s);
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
