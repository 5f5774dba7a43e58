/* sasl.h - SASL mechanisms as buffer-in/buffer-out steps (RFC 4422).
 *
 * The SMTP engine does the base64 and the AUTH/334 exchange; a mechanism
 * only turns the server's decoded challenge into the decoded response.
 * Mechanisms are one table, ordered by preference. */
#ifndef OUTBOX_SASL_H
#define OUTBOX_SASL_H

#include "lib.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>

struct sasl;

struct sasl_mech {
	const char *name;           /* as in the AUTH capability, upper case */
	bool reveals_password;      /* sends the password or token in a recoverable form */
	bool needs_channel_binding; /* the -PLUS variants */
	bool needs_tls;             /* EXTERNAL (client certificate) and the -PLUS variants */
	bool needs_password;        /* false for EXTERNAL */
	bool initial_response;      /* the first step needs no challenge: send it with AUTH */
	bool verifies_server;       /* SCRAM: the server proves it knows the password */
	bool named_only; /* never chosen automatically (XOAUTH2, OAUTHBEARER, EXTERNAL) */
	int (*step)(struct sasl *s, const char *challenge, size_t len, struct buf *out,
		    struct error *e);
	void (*end)(void *state); /* wipes and frees the state; NULL if there is none */
};

/* The caller fills user..nonce, then calls sasl_begin; the strings are
 * borrowed and must outlive the exchange. */
struct sasl {
	const struct sasl_mech *mech;
	const char *user;
	const char *password; /* or the OAuth2 access token; owned by the caller, who wipes it */
	const char *host;     /* OAUTHBEARER host=; NULL leaves it out */
	unsigned port;        /* OAUTHBEARER port=; 0 leaves it out */
	const char *cb_type;  /* "tls-exporter" (TLS 1.3) or "tls-unique"; NULL: none */
	const unsigned char *cb_data;
	size_t cb_len;
	bool server_offers_plus; /* the server advertised a -PLUS mechanism (RFC 5802 6) */
	const char *nonce;       /* test hook: fixed SCRAM client nonce; NULL: random */
	int step_no;
	void *state;   /* mechanism state; wiped and freed by sasl_end */
	bool complete; /* the mechanism verified what it must (SCRAM: the server signature) */
};

/* The mechanism called name (case-insensitive), or NULL. */
const struct sasl_mech *sasl_find(const char *name);

/* The most preferred mechanism that the server offers (a space separated
 * list) and that may be used, in the order SCRAM-SHA-256-PLUS,
 * SCRAM-SHA-1-PLUS, SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, LOGIN, CRAM-MD5:
 * -PLUS only with channel binding data, one that needs TLS only when
 * encrypted, one that reveals the password only when encrypted (or
 * plaintext_ok).  XOAUTH2, OAUTHBEARER and EXTERNAL are never chosen.
 * NULL if there is none. */
const struct sasl_mech *sasl_choose(const char *offered, bool encrypted, bool channel_binding,
				    bool plaintext_ok);

/* Space separated names of every mechanism outbox implements. */
const char *sasl_mechanisms(void);

/* Starts an exchange with mech once the caller has filled the fields of s
 * (NULL user or password become ""); resets step_no, state and complete.
 * Call sasl_end before beginning another exchange with the same s. */
void sasl_begin(struct sasl *s, const struct sasl_mech *mech);

/* Computes the next response: the first call of an initial_response
 * mechanism gets an empty challenge.  Returns 0 with the response in out
 * (which the caller wipes; it may be empty), or -1 when the exchange
 * cannot go on: ST_ACCOUNT for what the server sent or a bad server
 * signature, ST_CONFIG when the mechanism cannot be used here (-PLUS
 * without channel binding data, ^A in an OAuth user or token),
 * ST_SOFTWARE when GnuTLS fails. */
int sasl_step(struct sasl *s, const char *challenge, size_t len, struct buf *out, struct error *e);

/* After the server's 235: true when the exchange is complete and verified;
 * false for SCRAM without a verified server signature, which the caller
 * must treat as a failed authentication. */
bool sasl_complete(const struct sasl *s);

/* Wipes and frees the mechanism state. */
void sasl_end(struct sasl *s);

#endif
