/* smtp.h - the SMTP client engine (RFC 5321, 3207, 4954, 2920, 1870, 6152,
 * 6531, 3461).
 *
 * The engine takes a params struct (where and how to connect) and a mail
 * struct (envelope and content) and fills an outcome: it never reads the
 * configuration, never prints and never exits.  One function changes its
 * state; every state has a name for traces. */
#ifndef OUTBOX_SMTP_H
#define OUTBOX_SMTP_H

#include "lib.h"
#include "reply.h"
#include "status.h"
#include "tls.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum smtp_tls_mode { SMTP_TLS_OFF, SMTP_TLS_STARTTLS, SMTP_TLS_IMPLICIT };

enum smtp_auth_mode {
	SMTP_AUTH_AUTO, /* authenticate when a user is set and AUTH is offered */
	SMTP_AUTH_OFF,
	SMTP_AUTH_ON,   /* required; the strongest usable mechanism */
	SMTP_AUTH_MECH, /* required; exactly auth_mech */
};

struct smtp_params {
	const char *host;
	const char *port;
	const char *socket_path; /* msmtp's `socket`: a local socket instead */
	const char *source_ip;
	const char *proxy_host; /* a SOCKS5 proxy to connect through, or NULL */
	const char *proxy_port;
	int timeout_ms; /* every deadline of the session derives from it */
	const char *helo_domain;
	enum smtp_tls_mode tls_mode;
	struct tls_params tls;
	enum smtp_auth_mode auth_mode;
	const char *auth_mech;
	const char *user;
	bool allow_plaintext_auth;
	/* Asked only when AUTH needs the password; *password is wiped and
	 * freed by the engine. */
	int (*get_password)(void *ctx, char **password, struct error *e);
	void *password_ctx;
	/* Protocol transcript (-v): dir is "C" or "S"; AUTH payloads arrive
	 * already redacted. */
	void (*trace)(void *ctx, const char *dir, const char *line);
	void *trace_ctx;
	/* --test: the server's greeting, capabilities and TLS session are
	 * appended here once known, before AUTH; NULL: not. */
	struct buf *describe;
};

enum rcpt_state { RCPT_PENDING, RCPT_ACCEPTED, RCPT_TEMPFAIL, RCPT_PERMFAIL };

struct smtp_rcpt {
	const char *addr; /* wire form, checked */
	enum rcpt_state state;
	int code;
	char reply[512];
};

struct smtp_mail {
	const char *from; /* wire form; "" is the null sender */
	struct smtp_rcpt *rcpts;
	size_t nrcpts;
	const char *dsn_notify; /* NULL: no DSN parameters */
	const char *dsn_return;
	const char *dsn_envid;
	bool eightbit;
	bool smtputf8;
	unsigned long long size; /* for SIZE=; an estimate is fine (RFC 1870) */
	const char *headers;     /* rewritten header block, blank line included */
	size_t headers_len;
	int body_fd; /* the body: body_len bytes from body_offset */
	off_t body_offset;
	unsigned long long body_len;
	/* Called as the message goes out, with the bytes of headers and body
	 * handed to the connection so far; NULL: not called. */
	void (*progress)(void *ctx, unsigned long long sent);
	void *progress_ctx;
};

struct smtp_outcome {
	enum status status;    /* ST_OK when the server took the message */
	bool uncertain;        /* connection lost after the final dot */
	bool dsn_dropped;      /* DSN asked for, server lacks it */
	bool tls;              /* the session was encrypted */
	bool reached;          /* the server answered, or held the connection open
				* through the greeting deadline (expiry counts
				* from here) */
	const char *auth_mech; /* mechanism used, NULL without AUTH */
	int code;              /* last relevant reply code, 0 if none */
	char reply[512];       /* its first line */
	struct caps caps;
};

struct smtp_session;

/* Connects, greets, does TLS and AUTH as configured.  NULL on failure,
 * with o->status and e set.  The session then carries any number of
 * transactions: a flush costs one handshake and one login. */
struct smtp_session *smtp_open(const struct smtp_params *p, struct smtp_outcome *o,
			       struct error *e);

/* One MAIL/RCPT/DATA transaction on an open session.  Returns 0 when the
 * message was accepted for at least one recipient (per-recipient results
 * in m->rcpts), else -1 with o->status and e set.  After a failure the
 * session stays usable (RSET) unless the connection is gone or the server
 * said 421: check smtp_usable(). */
int smtp_transaction(struct smtp_session *s, struct smtp_mail *m, struct smtp_outcome *o,
		     struct error *e);

bool smtp_usable(const struct smtp_session *s);

/* QUIT (when the session is usable) and free. NULL is fine. */
void smtp_close(struct smtp_session *s);

/* Runs one whole session for one message.  Returns 0 when the message was
 * accepted for at least one recipient (per-recipient results are in
 * m->rcpts), else -1 with o->status and e set. */
int smtp_send(const struct smtp_params *p, struct smtp_mail *m, struct smtp_outcome *o,
	      struct error *e);

/* Connects, greets, does TLS as configured and describes the server:
 * greeting, capabilities, TLS session and certificate. */
int smtp_serverinfo(const struct smtp_params *p, struct buf *out, struct error *e);

#endif
