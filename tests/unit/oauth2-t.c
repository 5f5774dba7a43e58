/* oauth2-t.c - tests for src/oauth2.c's pure parts: the keyring item's
 * text, a token endpoint's JSON answer (json-c through oauth2_http.c), the
 * browser's redirect request, AUTH error challenges, the presets and
 * URL encoding. */
#include "config.h"

#include "oauth2.h"

#include "lib.h"

#include "tap/basic.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *text;
	int rc;
	const char *refresh, *access;
	long long expires_at;
} items[] = {
	{"refresh_token rt\naccess_token at\nexpires_at 1767225600\n", 0, "rt", "at", 1767225600},
	{"refresh_token rt\n\naccess_token at\nexpires_at 5\n\n", 0, "rt", "at", 5},
	{"refresh_token rt\nfuture_key x\n", 0, "rt", NULL, 0},
	{"refresh_token r t\n", -1, NULL, NULL, 0},
	{"refresh_token rt\x01\n", -1, NULL, NULL, 0},
	{"refresh_token\n", -1, NULL, NULL, 0},
	{"expires_at -1\n", -1, NULL, NULL, 0},
	{"expires_at soon\n", -1, NULL, NULL, 0},
};

static void
test_items(void)
{
	for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
		struct oauth2_tokens t;
		int rc = oauth2_tokens_parse(items[i].text, strlen(items[i].text), &t);

		is_int(items[i].rc, rc, "item %zu parses as expected", i);
		if (rc < 0)
			continue;
		is_string(items[i].refresh, t.refresh_token, "... refresh token");
		is_string(items[i].access, t.access_token, "... access token");
		ok(t.expires_at == items[i].expires_at, "... expiry");
		if (items[i].access != NULL) {
			char *again = oauth2_tokens_format(&t);
			struct oauth2_tokens u;

			ok(oauth2_tokens_parse(again, strlen(again), &u) == 0 &&
				   strcmp(u.access_token, t.access_token) == 0 &&
				   u.expires_at == t.expires_at,
			   "... formats and parses back");
			oauth2_tokens_free(&u);
			free(again);
		}
		oauth2_tokens_free(&t);
	}
}

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
test_redirects(void)
{
	static const char req[] =
		"GET /?state=s1&code=4%2F0A+b&scope=x HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char err[] = "GET /?error=access_denied&state=s1 HTTP/1.1\r\n\r\n";
	struct oauth2_redirect rd;

	is_int(0, oauth2_redirect_parse(req, strlen(req), &rd), "redirect parses");
	is_string("4/0A b", rd.code, "... code decoded");
	is_string("s1", rd.state, "... state");
	oauth2_redirect_free(&rd);
	is_int(0, oauth2_redirect_parse(err, strlen(err), &rd), "error redirect parses");
	is_string("access_denied", rd.error, "... error");
	ok(rd.code == NULL, "... no code");
	oauth2_redirect_free(&rd);
	is_int(-1, oauth2_redirect_parse("POST / HTTP/1.1\r\n", 17, &rd), "POST refused");
	is_int(-1, oauth2_redirect_parse("GET /?code=%0a HTTP/1.1\r\n", 25, &rd),
	       "a control character refused");
	is_int(-1, oauth2_redirect_parse("GET /?code=%4 HTTP/1.1\r\n", 24, &rd),
	       "a short escape refused");
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
	test_items();
	test_replies();
	test_redirects();
	test_challenges();
	test_encode();
	return 0;
}
