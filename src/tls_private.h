/* tls_private.h - the TLS session, shared by the handshake and record
 * layer (tls.c) and the certificate checks and descriptions (tls_cert.c);
 * private to them. */
#ifndef OUTBOX_TLS_PRIVATE_H
#define OUTBOX_TLS_PRIVATE_H

#include "tls.h"

#include <gnutls/gnutls.h>

#include <stdbool.h>
#include <stddef.h>

/* SHA-256 as AA:BB:..., the longest digest accepted. */
#define DIGEST_MAX 32
#define HEX_MAX (DIGEST_MAX * 3)

enum check {
	CHECK_NONE, /* tls_certcheck off */
	CHECK_CA,   /* chain to a trusted CA, and the name */
	CHECK_PIN,  /* tls_fingerprint */
};

struct tls {
	gnutls_session_t session;
	gnutls_certificate_credentials_t cred;
	int fd;
	char *name; /* the name the certificate is checked against */
	enum check check;
	gnutls_digest_algorithm_t pin_algo;
	unsigned char pin[DIGEST_MAX];
	size_t pin_len;
	struct error verify_error; /* set by verify_peer() when it rejects */
	bool broken;               /* a fatal error happened: no close_notify */
	bool gathering;            /* tls_write_all: records collect in out */
	struct buf out;            /* records waiting for one send() */
};

/* Sets t up to check the certificate against tls_fingerprint (SHA-256, or
 * legacy SHA-1, as AA:BB:...).  Returns 0, or -1 with e filled (ST_CONFIG)
 * for a malformed one. */
int tls_set_pin(struct tls *t, const char *fingerprint, struct error *e);

/* The verify function of the session (gnutls_session_set_verify_function):
 * checks the server's certificate once it has arrived, before the client
 * sends anything of its own.  Non-zero aborts the handshake, with the
 * reason in t->verify_error. */
int tls_verify_peer(gnutls_session_t session);

#endif
