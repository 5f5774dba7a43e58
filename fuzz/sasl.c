/* sasl.c - fuzz target: each SASL mechanism's handling of what the server
 * sends (src/sasl.h): CRAM-MD5's challenge, SCRAM's server-first and
 * server-final messages (with and without channel binding), the
 * XOAUTH2/OAUTHBEARER error JSON, LOGIN's prompts.
 *
 * The first byte picks the mechanism (its value modulo the number of
 * mechanisms, in sasl_mechanisms() order) and, in bit 4, channel binding
 * data (tls-exporter, the bytes 0..31) and, in bit 5, whether the server
 * offers -PLUS.  The rest is the server's decoded challenges, one per line
 * (the SMTP engine has already base64-decoded them; the smtp target feeds
 * them base64-encoded).  As smtp.c does: sasl_begin(), an empty first step
 * for mechanisms with an initial response, one step per challenge until
 * one fails, then sasl_complete() and sasl_end().  The client nonce is
 * fixed to the RFC 5802 and RFC 7677 examples' so that whole valid
 * exchanges are in the corpus.  The rest is also read as an AUTH
 * capability list for sasl_choose(). */
#include "config.h"

#include "fuzz.h"

#include "lib.h"
#include "sasl.h"

#include <stdlib.h>
#include <string.h>

#define MECHS_MAX 16

static const struct sasl_mech *mechs[MECHS_MAX];
static size_t nmechs;

static void
find_mechanisms(void)
{
	char *names = xstrdup(sasl_mechanisms()), *save = NULL;

	for (char *n = strtok_r(names, " ", &save); n != NULL && nmechs < MECHS_MAX;
	     n = strtok_r(NULL, " ", &save))
		mechs[nmechs++] = sasl_find(n);
	free(names);
}

static const unsigned char exporter[32] = {
	0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

static bool
step(struct sasl *s, const char *challenge, size_t len)
{
	struct buf out;
	struct error e;
	int rc;

	buf_init(&out, 0);
	rc = sasl_step(s, challenge, len, &out, &e);
	buf_free(&out);
	return rc == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	const struct sasl_mech *mech;
	struct sasl s;
	char *offered;
	bool ok = true;

	if (size == 0)
		return 0;
	if (nmechs == 0)
		find_mechanisms();
	memset(&s, 0, sizeof s);
	s.user = "user";
	s.password = "pencil";
	s.host = "mail.example.org";
	s.port = 587;
	if (data[0] & 0x10) {
		s.cb_type = "tls-exporter";
		s.cb_data = exporter;
		s.cb_len = sizeof exporter;
	}
	s.server_offers_plus = data[0] & 0x20;
	mech = mechs[data[0] % nmechs];
	s.nonce = strstr(mech->name, "256") != NULL ? "rOprNGfwEbeRWgbNEkqO"
						    : "fyko+d2lbbFgONRv9qkxdawL";
	sasl_begin(&s, mech);
	if (mech->initial_response)
		ok = step(&s, "", 0);
	while (ok && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		char *challenge = xmalloc(len + 1);

		/* NUL-terminated past len, as the engine's decoded buffer */
		memcpy(challenge, p, len);
		challenge[len] = '\0';
		ok = step(&s, challenge, len);
		free(challenge);
		p += len + (nl != NULL);
	}
	sasl_complete(&s);
	sasl_end(&s);
	offered = xstrndup((const char *)data + 1, size - 1);
	sasl_choose(offered, data[0] & 1, data[0] & 2, data[0] & 4);
	free(offered);
	return 0;
}
