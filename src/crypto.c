/* crypto.c - hashing, HMAC, PBKDF2, random bytes and constant-time
 * comparison on top of GnuTLS: the one file besides tls.c that knows it.
 *
 * Untrusted data: none is interpreted here.  The bytes hashed or keyed
 * may come from anywhere (queue files, SCRAM salts and messages from the
 * server); their lengths are the callers' to bound. */
#include "config.h"

#include "crypto.h"

#include "lib.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdlib.h>

struct crypto_hash {
	gnutls_hash_hd_t hd;
};

static const struct {
	gnutls_digest_algorithm_t digest;
	gnutls_mac_algorithm_t mac;
	size_t len;
} algs[] = {
	[CRYPTO_MD5] = {GNUTLS_DIG_MD5, GNUTLS_MAC_MD5, 16},
	[CRYPTO_SHA1] = {GNUTLS_DIG_SHA1, GNUTLS_MAC_SHA1, 20},
	[CRYPTO_SHA256] = {GNUTLS_DIG_SHA256, GNUTLS_MAC_SHA256, 32},
};

_Static_assert(CRYPTO_HASH_MAX == 32, "CRYPTO_HASH_MAX is SHA-256's length");

size_t
crypto_hash_len(enum crypto_alg alg)
{
	return algs[alg].len;
}

int
crypto_hash(enum crypto_alg alg, const void *p, size_t n, unsigned char *out)
{
	int rc = gnutls_hash_fast(algs[alg].digest, p, n, out);

	return rc < 0 ? rc : 0;
}

int
crypto_hash_begin(enum crypto_alg alg, struct crypto_hash **h)
{
	gnutls_hash_hd_t hd;
	int rc = gnutls_hash_init(&hd, algs[alg].digest);

	*h = NULL;
	if (rc < 0)
		return rc;
	*h = xmalloc(sizeof **h);
	(*h)->hd = hd;
	return 0;
}

void
crypto_hash_update(struct crypto_hash *h, const void *p, size_t n)
{
	gnutls_hash(h->hd, p, n);
}

void
crypto_hash_end(struct crypto_hash *h, unsigned char *out)
{
	gnutls_hash_deinit(h->hd, out);
	free(h);
}

int
crypto_hmac(enum crypto_alg alg, const void *key, size_t key_len, const void *data, size_t len,
	    unsigned char *out)
{
	int rc = gnutls_hmac_fast(algs[alg].mac, key, key_len, data, len, out);

	return rc < 0 ? rc : 0;
}

int
crypto_pbkdf2(enum crypto_alg alg, const void *password, size_t password_len, const void *salt,
	      size_t salt_len, unsigned iterations, unsigned char *out, size_t out_len)
{
	/* GnuTLS takes non-const data but does not change it. */
	gnutls_datum_t key = {(unsigned char *)(uintptr_t)password, (unsigned)password_len};
	gnutls_datum_t salt_datum = {(unsigned char *)(uintptr_t)salt, (unsigned)salt_len};
	int rc = gnutls_pbkdf2(algs[alg].mac, &key, &salt_datum, iterations, out, out_len);

	return rc < 0 ? rc : 0;
}

int
crypto_random(void *p, size_t n)
{
	int rc = gnutls_rnd(GNUTLS_RND_NONCE, p, n);

	return rc < 0 ? rc : 0;
}

bool
crypto_equal(const void *a, const void *b, size_t n)
{
	return gnutls_memcmp(a, b, n) == 0;
}

const char *
crypto_strerror(int code)
{
	return gnutls_strerror(code);
}

const char *
crypto_library_version(void)
{
	return gnutls_check_version(NULL);
}
