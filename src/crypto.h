/* crypto.h - the hashes, HMAC, PBKDF2 and random bytes outbox needs, so
 * that the cryptographic library (GnuTLS) is included by crypto.c and
 * tls.c only.
 *
 * Functions that can fail return 0, or a negative code that
 * crypto_strerror() turns into the library's one-line reason. */
#ifndef OUTBOX_CRYPTO_H
#define OUTBOX_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

enum crypto_alg { CRYPTO_MD5, CRYPTO_SHA1, CRYPTO_SHA256 };

/* The longest digest of the algorithms above (SHA-256). */
#define CRYPTO_HASH_MAX 32

/* The digest length of alg in bytes: 16, 20 or 32. */
size_t crypto_hash_len(enum crypto_alg alg);

/* One-shot hash of p[0..n) into out (crypto_hash_len(alg) bytes). */
int crypto_hash(enum crypto_alg alg, const void *p, size_t n, unsigned char *out);

/* An incremental hash: crypto_hash_begin, any number of
 * crypto_hash_update, then crypto_hash_end, which writes the digest (when
 * out is not NULL) and frees h. */
struct crypto_hash;
int crypto_hash_begin(enum crypto_alg alg, struct crypto_hash **h);
void crypto_hash_update(struct crypto_hash *h, const void *p, size_t n);
void crypto_hash_end(struct crypto_hash *h, unsigned char *out);

/* HMAC (RFC 2104) of data with key into out (crypto_hash_len(alg) bytes). */
int crypto_hmac(enum crypto_alg alg, const void *key, size_t key_len, const void *data, size_t len,
		unsigned char *out);

/* PBKDF2 (RFC 8018 5.2) with HMAC-alg: out_len bytes derived from password
 * and salt in iterations rounds. */
int crypto_pbkdf2(enum crypto_alg alg, const void *password, size_t password_len, const void *salt,
		  size_t salt_len, unsigned iterations, unsigned char *out, size_t out_len);

/* n unpredictable bytes (the library's nonce generator: not for keys). */
int crypto_random(void *p, size_t n);

/* a[0..n) == b[0..n), in a time that does not depend on where they differ
 * (for comparing signatures). */
bool crypto_equal(const void *a, const void *b, size_t n);

/* The library's reason for a negative code returned above. */
const char *crypto_strerror(int code);

/* The version of the cryptographic library (GnuTLS) in use, as "3.8.3". */
const char *crypto_library_version(void);

#endif
