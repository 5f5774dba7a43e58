/* tls.h - a client TLS session over a connected, non-blocking descriptor.
 *
 * The only module that knows GnuTLS.  Every call that touches the network
 * takes a timeout in milliseconds (negative: no limit) and waits with
 * poll(2) itself, so the descriptor stays non-blocking throughout.  Nothing
 * here prints or logs; failures come back as a struct error.
 */
#ifndef OUTBOX_TLS_H
#define OUTBOX_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib.h"
#include "status.h"

struct tls;

struct tls_params {
	const char *host;          /* the host the user asked for */
	const char *host_override; /* tls_host_override: name to verify instead, or NULL */
	const char *trust_file;    /* tls_trust_file; NULL or "system": the system store */
	const char *crl_file;      /* tls_crl_file, or NULL */
	/* tls_fingerprint: SHA-256 (or legacy SHA-1) as AA:BB:..., any case.
	 * When set, the certificate must match it and nothing else about it is
	 * checked (msmtp semantics); this holds even with certcheck off. */
	const char *fingerprint;
	const char *cert_file;  /* tls_cert_file: client certificate, with key_file */
	const char *key_file;   /* tls_key_file */
	const char *priorities; /* tls_priorities: a GnuTLS priority string; NULL = "NORMAL" */
	bool certcheck;         /* tls_certcheck: false skips verification (the caller warns) */
	int timeout_ms;         /* for the handshake */
};

/* Runs the handshake on fd (which stays owned by the caller and is not
 * closed by tls_close).  SNI is sent when the verified name (host_override,
 * else host) is a DNS name; an address literal is checked against the
 * certificate's IP addresses.  Returns the session, or NULL with e filled:
 * ST_CONFIG for an untrusted or mismatching certificate (the message names
 * the fix and the certificate's SHA-256 fingerprint), unreadable trust,
 * CRL, certificate or key files, a bad priority string, or a server that
 * does not speak TLS or refuses our parameters; ST_CONNECT for timeouts and
 * dropped connections. */
struct tls *tls_start(int fd, const struct tls_params *p, struct error *e);

/* Reads up to n bytes within timeout_ms.  Returns the number read (> 0),
 * 0 when the server closed the session cleanly, or -1 with e filled
 * (ST_CONNECT). */
ssize_t tls_read(struct tls *t, void *buf, size_t n, int timeout_ms, struct error *e);

/* Sends all n bytes, at most one full TLS record (16 KiB) per send call,
 * within timeout_ms in total.  Returns 0, or -1 with e filled (ST_CONNECT). */
int tls_write_all(struct tls *t, const void *buf, size_t n, int timeout_ms, struct error *e);

/* Sends close_notify unless the session already failed (waiting at most a
 * fraction of a second), then frees everything.  NULL is fine. */
void tls_close(struct tls *t);

/* Appends "  key: value" lines for --serverinfo: protocol, cipher suite,
 * and the server certificate's subject, issuer, names, validity,
 * fingerprints and verification result.  Returns 0, or -1 if out does not
 * have room. */
int tls_describe(const struct tls *t, struct buf *out);

/* Channel binding data for SCRAM-*-PLUS: type is "tls-exporter" (RFC 9266)
 * or "tls-unique" (RFC 5929, TLS 1.2 only).  On success *out is a malloc'd
 * buffer of *len bytes that the caller frees.  Returns 0, or -1 for an
 * unknown type or one the session cannot provide. */
int tls_channel_binding(const struct tls *t, const char *type, unsigned char **out, size_t *len);

bool tls_is_tls13(const struct tls *t);

#endif
