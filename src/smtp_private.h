/* smtp_private.h - the SMTP client's session and events, shared by the
 * state machine (smtp.c) and its actions (smtp_actions.c); private to
 * them. */
#ifndef OUTBOX_SMTP_PRIVATE_H
#define OUTBOX_SMTP_PRIVATE_H

#include "sasl.h"
#include "smtp.h"
#include "transport.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* The state's name, for messages (smtp.c). */
const char *smtp_state_name(enum smtp_state st);

/* Starts the clock of the opening of the session, or of a transaction
 * (SMTP_SESSION_FACTOR times the timeout; smtp_actions.c). */
void smtp_start_clock(struct smtp_session *s);

/* Performs the action of the current state and, when a reply is due,
 * sends what the action queued in one write and reads the reply into r,
 * all within the exchange's deadline: fills ev, the event for
 * smtp_transition() (smtp_actions.c). */
void smtp_step(struct smtp_session *s, struct reply *r, struct smtp_event *ev);

#endif
