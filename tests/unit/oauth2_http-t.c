/* oauth2_http-t.c - tests for src/oauth2_http.c: a token endpoint's JSON
 * answer (json-c, loaded with dlopen), AUTH error challenges explained,
 * and URL encoding. */
#include "config.h"

#include "oauth2.h"

#include "lib.h"

#include "tap/basic.h"

#include <stdlib.h>
#include <string.h>

static void
test_replies(void)
{
	static const char ok_json[] = "{\"access_token\":\"at-1\",\"expires_in\":3599,"
				      "\"refresh_token\":\"rt-2\",\"token_type\":\"Bearer\"}";
	static const char device[] =
		"{\"device_code\":\"dc\",\"user_code\":\"AB-12\","
		"\"verification_url\":\"https://g/device\",\"expires_in\":\"900\","
		"\"interval\":5}";
	static const char *const bad[] = {
		"",
		"[]",
		"{\"access_token\":7}",
		"{\"access_token\":\"a b\"}",
		"{\"expires_in\":-5}",
		"{\"access_token\":\"at\"",
		"not json",
	};
	struct oauth2_reply r;
	struct error e;

	is_int(0, oauth2_reply_parse(ok_json, strlen(ok_json), &r, &e), "token answer parses");
	is_string("at-1", r.access_token, "... access token");
	is_string("rt-2", r.refresh_token, "... refresh token");
	is_int(3599, (int)r.expires_in, "... expires_in");
	oauth2_reply_free(&r);
	is_int(0, oauth2_reply_parse(device, strlen(device), &r, &e), "device answer parses");
	is_string("https://g/device", r.verification_uri, "... Google's verification_url");
	is_int(900, (int)r.device_expires_in, "... expires_in given as a string");
	is_int(5, (int)r.interval, "... interval");
	oauth2_reply_free(&r);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		is_int(-1, oauth2_reply_parse(bad[i], strlen(bad[i]), &r, &e), "refused: %s",
		       bad[i]);
}

static void
test_challenges(void)
{
	static const struct {
		const char *json, *says;
	} cases[] = {
		{"{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"https://mail.google.com/"
		 "\"}",
		 "expired or was revoked"},
		{"{\"status\":\"invalid_token\"}", "expired or was revoked"},
		{"{\"status\":\"insufficient_scope\",\"scope\":\"mail\"}", "asks for mail"},
		{"{\"status\":\"500\"}", "status 500"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf b;

		buf_init(&b, 0);
		is_int(0, oauth2_explain_challenge(cases[i].json, strlen(cases[i].json), &b),
		       "challenge %zu explained", i);
		ok(b.data != NULL && strstr(b.data, cases[i].says) != NULL, "... says '%s': %s",
		   cases[i].says, b.data ? b.data : "");
		buf_free(&b);
	}
}

static void
test_encode(void)
{
	struct buf b;

	buf_init(&b, 0);
	oauth2_url_encode(&b, "a b/c~d+é");
	buf_puts(&b, "");
	is_string("a%20b%2Fc~d%2B%C3%A9", b.data, "URL encoding keeps only unreserved bytes");
	buf_free(&b);
}

int
main(void)
{
	plan_lazy();
	test_replies();
	test_challenges();
	test_encode();
	return 0;
}
