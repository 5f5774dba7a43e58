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
	const char *name;      /* as in the AUTH capability, upper case */
	bool reveals_password; /* sends the password in a recoverable form */
	bool initial_response; /* the first step needs no challenge */
	int (*step)(struct sasl *s, const char *challenge, size_t len, struct buf *out,
		    struct error *e);
};

struct sasl {
	const struct sasl_mech *mech;
	const char *user;
	const char *password; /* owned by the caller, who wipes it */
	int step_no;
};

/* The mechanism called name (case-insensitive), or NULL. */
const struct sasl_mech *sasl_find(const char *name);

/* The most preferred mechanism that the server offers (a space separated
 * list) and that may be used: one that reveals the password only when
 * encrypted (or plaintext_ok).  NULL if there is none. */
const struct sasl_mech *sasl_choose(const char *offered, bool encrypted, bool plaintext_ok);

/* Space separated names of every mechanism outbox implements. */
const char *sasl_mechanisms(void);

void sasl_begin(struct sasl *s, const struct sasl_mech *mech, const char *user,
		const char *password);

/* Computes the next response.  Returns 0 with the response in out (which
 * the caller wipes), or -1 (ST_ACCOUNT) when the exchange cannot go on. */
int sasl_step(struct sasl *s, const char *challenge, size_t len, struct buf *out, struct error *e);

#endif
