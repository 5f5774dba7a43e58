/* crypto-t.c - tests for src/crypto.c against published vectors: SHA-1
 * and SHA-256 of "abc" (FIPS 180-2), one-shot and incremental, HMAC-SHA-256
 * (RFC 4231 4) and HMAC-MD5 (RFC 2202 2), PBKDF2-HMAC-SHA-1 (RFC 6070 2)
 * and PBKDF2-HMAC-SHA-256 (RFC 7914 11); random bytes and comparison. */
#include "config.h"

#include "crypto.h"

#include "lib.h"

#include "tap/basic.h"

#include <stdio.h>
#include <string.h>

#define S(s) s, sizeof s - 1

static const struct {
	enum crypto_alg alg;
	const char *data;
	size_t len;
	const char *digest;
} hashes[] = {
	{CRYPTO_MD5, S("abc"), "900150983cd24fb0d6963f7d28e17f72"},
	{CRYPTO_SHA1, S("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d"},
	{CRYPTO_SHA256, S("abc"),
	 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{CRYPTO_SHA256, S("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
	 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	{CRYPTO_SHA256, S(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
};

static const struct {
	enum crypto_alg alg;
	const char *key;
	size_t key_len;
	const char *data;
	size_t len;
	const char *mac;
} hmacs[] = {
	/* RFC 4231 4.2, 4.3, 4.4, 4.7 */
	{CRYPTO_SHA256,
	 S("\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b"
	   "\x0b\x0b"),
	 S("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
	{CRYPTO_SHA256, S("Jefe"), S("what do ya want for nothing?"),
	 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
	{CRYPTO_SHA256,
	 S("\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa"
	   "\xaa\xaa"),
	 S("\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd"
	   "\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd"
	   "\xdd\xdd\xdd\xdd\xdd\xdd\xdd\xdd"),
	 "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
	{CRYPTO_SHA256, NULL, 131, S("Test Using Larger Than Block-Size Key - Hash Key First"),
	 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
	/* RFC 2202 2, test case 2 */
	{CRYPTO_MD5, S("Jefe"), S("what do ya want for nothing?"),
	 "750c783e6ab0b503eaa86e310a5db738"},
};

static const struct {
	enum crypto_alg alg;
	const char *password;
	size_t password_len;
	const char *salt;
	size_t salt_len;
	unsigned iterations;
	const char *key;
} pbkdf2s[] = {
	/* RFC 6070 2 */
	{CRYPTO_SHA1, S("password"), S("salt"), 1, "0c60c80f961f0e71f3a9b524af6012062fe037a6"},
	{CRYPTO_SHA1, S("password"), S("salt"), 2, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"},
	{CRYPTO_SHA1, S("password"), S("salt"), 4096, "4b007901b765489abead49d926f721d065a429c1"},
	{CRYPTO_SHA1, S("passwordPASSWORDpassword"), S("saltSALTsaltSALTsaltSALTsaltSALTsalt"),
	 4096, "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038"},
	{CRYPTO_SHA1, S("pass\0word"), S("sa\0lt"), 4096, "56fa6aa75548099dcc37d7f03425e0c3"},
	/* RFC 7914 11 */
	{CRYPTO_SHA256, S("passwd"), S("salt"), 1,
	 "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
	 "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"},
	{CRYPTO_SHA256, S("Password"), S("NaCl"), 80000,
	 "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
	 "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"},
};

static void
hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
	out[2 * n] = '\0';
}

static void
test_hashes(void)
{
	for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
		unsigned char digest[CRYPTO_HASH_MAX];
		char text[2 * CRYPTO_HASH_MAX + 1];
		size_t n = crypto_hash_len(hashes[i].alg);
		struct crypto_hash *h;

		is_int(strlen(hashes[i].digest), 2 * n, "hash %zu: length", i);
		is_int(0, crypto_hash(hashes[i].alg, hashes[i].data, hashes[i].len, digest),
		       "hash %zu: one-shot", i);
		hex(digest, n, text);
		is_string(hashes[i].digest, text, "hash %zu: one-shot digest", i);
		memset(digest, 0, sizeof digest);
		is_int(0, crypto_hash_begin(hashes[i].alg, &h), "hash %zu: begin", i);
		/* byte by byte, then nothing: the split must not matter */
		for (size_t j = 0; j < hashes[i].len; j++)
			crypto_hash_update(h, hashes[i].data + j, 1);
		crypto_hash_update(h, "", 0);
		crypto_hash_end(h, digest);
		hex(digest, n, text);
		is_string(hashes[i].digest, text, "hash %zu: incremental digest", i);
	}
}

static void
test_hmacs(void)
{
	unsigned char big_key[131];

	memset(big_key, 0xaa, sizeof big_key);
	for (size_t i = 0; i < sizeof hmacs / sizeof hmacs[0]; i++) {
		unsigned char mac[CRYPTO_HASH_MAX];
		char text[2 * CRYPTO_HASH_MAX + 1];
		const void *key = hmacs[i].key != NULL ? (const void *)hmacs[i].key : big_key;

		is_int(0,
		       crypto_hmac(hmacs[i].alg, key, hmacs[i].key_len, hmacs[i].data, hmacs[i].len,
				   mac),
		       "hmac %zu", i);
		hex(mac, crypto_hash_len(hmacs[i].alg), text);
		is_string(hmacs[i].mac, text, "hmac %zu: value", i);
	}
}

static void
test_pbkdf2(void)
{
	for (size_t i = 0; i < sizeof pbkdf2s / sizeof pbkdf2s[0]; i++) {
		unsigned char key[64];
		char text[2 * sizeof key + 1];
		size_t n = strlen(pbkdf2s[i].key) / 2;

		is_int(0,
		       crypto_pbkdf2(pbkdf2s[i].alg, pbkdf2s[i].password, pbkdf2s[i].password_len,
				     pbkdf2s[i].salt, pbkdf2s[i].salt_len, pbkdf2s[i].iterations,
				     key, n),
		       "pbkdf2 %zu", i);
		hex(key, n, text);
		is_string(pbkdf2s[i].key, text, "pbkdf2 %zu: key", i);
	}
}

int
main(void)
{
	unsigned char a[32], b[32];

	plan_lazy();
	test_hashes();
	test_hmacs();
	test_pbkdf2();

	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	is_int(0, crypto_random(a, sizeof a), "random bytes");
	is_int(0, crypto_random(b, sizeof b), "random bytes again");
	ok(memcmp(a, b, sizeof a) != 0, "two draws differ");
	ok(crypto_equal(a, a, sizeof a), "equal to itself");
	memcpy(b, a, sizeof a);
	b[31] ^= 1;
	ok(!crypto_equal(a, b, sizeof a), "last bit differs");
	ok(crypto_equal(a, b, 31), "equal up to there");
	ok(crypto_strerror(-1) != NULL && *crypto_strerror(-1) != '\0', "a reason for an error");
	ok(strspn(crypto_library_version(), "0123456789.") > 0, "library version %s",
	   crypto_library_version());
	return 0;
}
