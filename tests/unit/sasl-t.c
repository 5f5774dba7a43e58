/* sasl-t.c - tests for src/sasl.c: the mechanism table, the choice of
 * mechanism, and every mechanism's exchange, with the RFC 2195, RFC 5802
 * and RFC 7677 examples and vectors for channel binding computed with an
 * independent implementation (Python's hashlib and hmac). */
#include "config.h"

#include "sasl.h"

#include "tap/basic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *offered;
	bool encrypted;
	bool channel_binding;
	bool plaintext_ok;
	const char *chosen;
} choices[] = {
	{"PLAIN LOGIN", true, false, false, "PLAIN"},
	{"LOGIN PLAIN", true, false, false, "PLAIN"},
	{"LOGIN", true, false, false, "LOGIN"},
	{"login", true, false, false, "LOGIN"},
	{"PLAIN LOGIN", false, false, false, NULL},
	{"PLAIN LOGIN", false, false, true, "PLAIN"},
	{"GSSAPI NTLM", true, false, false, NULL},
	{"", true, false, false, NULL},
	{"PLAIN LOGIN CRAM-MD5", true, false, false, "PLAIN"},
	{"PLAIN LOGIN CRAM-MD5", false, false, false, "CRAM-MD5"},
	{"PLAIN LOGIN CRAM-MD5", false, false, true, "PLAIN"},
	{"CRAM-MD5 SCRAM-SHA-1", false, false, false, "SCRAM-SHA-1"},
	{"PLAIN SCRAM-SHA-1 SCRAM-SHA-256", true, false, false, "SCRAM-SHA-256"},
	{"PLAIN SCRAM-SHA-1 SCRAM-SHA-256", false, false, false, "SCRAM-SHA-256"},
	{"SCRAM-SHA-1 SCRAM-SHA-1-PLUS", true, true, false, "SCRAM-SHA-1-PLUS"},
	{"SCRAM-SHA-1 SCRAM-SHA-1-PLUS", true, false, false, "SCRAM-SHA-1"},
	{"SCRAM-SHA-256 SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS", true, true, false,
	 "SCRAM-SHA-256-PLUS"},
	{"SCRAM-SHA-256 SCRAM-SHA-256-PLUS", true, false, false, "SCRAM-SHA-256"},
	{"SCRAM-SHA-256-PLUS", true, false, false, NULL},
	{"SCRAM-SHA-256-PLUS", false, true, true, NULL},
	{"scram-sha-256-plus plain", true, true, false, "SCRAM-SHA-256-PLUS"},
	{"SCRAM-SHA-256-PLUSX PLAIN", true, true, false, "PLAIN"},
	{"XOAUTH2", true, false, false, NULL},
	{"XOAUTH2 OAUTHBEARER", true, true, true, NULL},
	{"XOAUTH2 PLAIN LOGIN", true, false, false, "PLAIN"},
	{"EXTERNAL", true, false, false, NULL},
	{"EXTERNAL LOGIN", true, true, false, "LOGIN"},
	{"  PLAIN   LOGIN ", true, false, false, "PLAIN"},
};

static const struct {
	const char *name;
	bool reveals_password, needs_tls, needs_password, initial_response;
} properties[] = {
	{"PLAIN", true, false, true, true},
	{"LOGIN", true, false, true, false},
	{"CRAM-MD5", false, false, true, false},
	{"SCRAM-SHA-1", false, false, true, true},
	{"SCRAM-SHA-256", false, false, true, true},
	{"SCRAM-SHA-1-PLUS", false, true, true, true},
	{"SCRAM-SHA-256-PLUS", false, true, true, true},
	{"XOAUTH2", true, false, true, true},
	{"OAUTHBEARER", true, false, true, true},
	{"EXTERNAL", false, true, false, true},
};

static const unsigned char exporter[32] = {
	0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

#define SF1 "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
#define SF256                                                                                      \
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"

/* Whole SCRAM exchanges that succeed. */
static const struct {
	const char *mech, *user, *password, *nonce;
	const char *cb_type;
	size_t cb_len; /* of exporter */
	bool server_offers_plus;
	const char *client_first, *server_first, *client_final, *server_final;
} scram_ok[] = {
	/* RFC 5802 5 */
	{"SCRAM-SHA-1", "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL", NULL, 0, false,
	 "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", SF1,
	 "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
	 "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="},
	/* RFC 7677 3 */
	{"SCRAM-SHA-256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO", NULL, 0, false,
	 "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", SF256,
	 "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+"
	 "Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	 "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
	/* channel binding data present, but the server offers -PLUS: 'n' */
	{"SCRAM-SHA-256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO", "tls-exporter", 32, true,
	 "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", SF256,
	 "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+"
	 "Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	 "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
	/* channel binding possible, server without -PLUS: 'y' */
	{"SCRAM-SHA-256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO", "tls-exporter", 32, false,
	 "y,,n=user,r=rOprNGfwEbeRWgbNEkqO", SF256,
	 "c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=FoqiHTtQEDE8lz1CdaEe3tK4mS+"
	 "iMDTl77SPyDS53DY=",
	 "v=dI4KpiQJwBr1+V+K6U1dA6l6I4I9DUNXWND4pcpRU3U="},
	{"SCRAM-SHA-256-PLUS", "user", "pencil", "rOprNGfwEbeRWgbNEkqO", "tls-exporter", 32, true,
	 "p=tls-exporter,,n=user,r=rOprNGfwEbeRWgbNEkqO", SF256,
	 "c=cD10bHMtZXhwb3J0ZXIsLAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f,r="
	 "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p="
	 "QC6CS20quADQRb3mT99YUH+n3VJxUvzuK0K0E1Vrs2M=",
	 "v=2GiAgapEppLVlUXbxUDksL3VgYHzuqiK5tR4mhJGgvs="},
	{"SCRAM-SHA-1-PLUS", "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL", "tls-unique", 12, true,
	 "p=tls-unique,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", SF1,
	 "c=cD10bHMtdW5pcXVlLCwAAQIDBAUGBwgJCgs=,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p="
	 "ResgVA2w6fEFiwzXkrPSGTt/RSg=",
	 "v=HKBeWjn99U5AvtgAjz6m1d81mhk="},
	/* saslname escaping; a non-ASCII password goes in as its UTF-8 bytes */
	{"SCRAM-SHA-1", "a,b=c", "p\xc3\xa4ss", "fyko+d2lbbFgONRv9qkxdawL", NULL, 0, false,
	 "n,,n=a=2Cb=3Dc,r=fyko+d2lbbFgONRv9qkxdawL", SF1,
	 "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=qZXI7NBFbtDCtlpsFg5/mnLmK9E=",
	 "v=L/ADeIdcjW3FwdcHHqN3cqis7Ts="},
};

/* SCRAM-SHA-1 exchanges from the RFC 5802 example that must fail: at the
 * server-first message when server_final is NULL, else at the server-final
 * one.  msg_part is a piece the error message must contain. */
static const struct {
	const char *server_first, *server_final;
	enum status status;
	const char *msg_part;
} scram_bad[] = {
	{SF1, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ+", ST_ACCOUNT, "signature is wrong"},
	{SF1, "v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=", ST_ACCOUNT, "signature is wrong"},
	{SF1, "v=rmF9pqV8S7suAoZWja4dJRkF", ST_ACCOUNT, "signature is wrong"},
	{SF1, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=AAAA", ST_ACCOUNT, "signature is wrong"},
	{SF1, "v=!!!!", ST_ACCOUNT, "signature is wrong"},
	{SF1, "v=", ST_ACCOUNT, "signature is wrong"},
	{SF1, "e=invalid-proof", ST_ACCOUNT, "refused AUTH SCRAM-SHA-1: invalid-proof"},
	{SF1, "e=other\x01junk", ST_ACCOUNT, "refused AUTH SCRAM-SHA-1: other"},
	{SF1, "x=1", ST_ACCOUNT, "malformed"},
	{SF1, "", ST_ACCOUNT, "malformed"},
	{SF1, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=,v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", ST_ACCOUNT,
	 "malformed"},
	{"r=XXXX+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096", NULL, ST_ACCOUNT,
	 "nonce"},
	{"r=fyko+d2lbbFgONRv9qkxda,s=QSXCR+Q6sek8bf92,i=4096", NULL, ST_ACCOUNT, "nonce"},
	{"s=QSXCR+Q6sek8bf92,i=4096,r=fyko+d2lbbFgONRv9qkxdaw", NULL, ST_ACCOUNT, "nonce"},
	{"r=fyko+d2lbbFgONRv9qkxdawL3r c,s=QSXCR+Q6sek8bf92,i=4096", NULL, ST_ACCOUNT, "nonce"},
	{"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=1", NULL, ST_ACCOUNT,
	 "iteration count"},
	{"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4095", NULL, ST_ACCOUNT,
	 "iteration count"},
	{"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=99999999", NULL,
	 ST_ACCOUNT, "iteration count"},
	{"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=99999999999999999999",
	 NULL, ST_ACCOUNT, "iteration count"},
	{"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=-4096", NULL,
	 ST_ACCOUNT, "iteration count"},
	{"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=", NULL, ST_ACCOUNT,
	 "iteration count"},
	{"m=foo,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096", NULL,
	 ST_ACCOUNT, "extension"},
	{"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,i=4096", NULL, ST_ACCOUNT, "malformed"},
	{"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92", NULL, ST_ACCOUNT,
	 "malformed"},
	{"s=QSXCR+Q6sek8bf92,i=4096", NULL, ST_ACCOUNT, "malformed"},
	{"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf9,i=4096", NULL, ST_ACCOUNT,
	 "malformed"},
	{"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=,i=4096", NULL, ST_ACCOUNT, "malformed"},
	{"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,,s=QSXCR+Q6sek8bf92,i=4096", NULL,
	 ST_ACCOUNT, "malformed"},
	{"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096,r=x", NULL,
	 ST_ACCOUNT, "malformed"},
	{"garbage", NULL, ST_ACCOUNT, "malformed"},
	{"", NULL, ST_ACCOUNT, "malformed"},
	{"e=unknown-user", NULL, ST_ACCOUNT, "unknown-user"},
};

/* One SCRAM step; the response is compared when want is not NULL. */
static void
scram_step_is(struct sasl *s, const char *challenge, int want_rc, const char *want,
	      const char *what, size_t row)
{
	struct buf out;
	struct error e;

	buf_init(&out, 0);
	error_clear(&e);
	is_int(want_rc, sasl_step(s, challenge, strlen(challenge), &out, &e), "scram %zu: %s rc",
	       row, what);
	if (want != NULL)
		is_mem(want, strlen(want), out.data, out.len, "scram %zu: %s", row, what);
	buf_free(&out);
}

static void
test_scram_ok(void)
{
	for (size_t i = 0; i < sizeof scram_ok / sizeof scram_ok[0]; i++) {
		struct sasl s = {.user = scram_ok[i].user,
				 .password = scram_ok[i].password,
				 .nonce = scram_ok[i].nonce,
				 .cb_type = scram_ok[i].cb_type,
				 .cb_data = scram_ok[i].cb_type ? exporter : NULL,
				 .cb_len = scram_ok[i].cb_len,
				 .server_offers_plus = scram_ok[i].server_offers_plus};

		sasl_begin(&s, sasl_find(scram_ok[i].mech));
		scram_step_is(&s, "", 0, scram_ok[i].client_first, "client-first", i);
		ok(!sasl_complete(&s), "scram %zu: not complete after client-first", i);
		scram_step_is(&s, scram_ok[i].server_first, 0, scram_ok[i].client_final,
			      "client-final", i);
		ok(!sasl_complete(&s), "scram %zu: not complete before server-final", i);
		scram_step_is(&s, scram_ok[i].server_final, 0, "", "empty answer to server-final",
			      i);
		ok(sasl_complete(&s), "scram %zu: complete after server-final", i);
		scram_step_is(&s, "v=x", -1, NULL, "nothing after server-final", i);
		sasl_end(&s);
		ok(s.state == NULL, "scram %zu: sasl_end frees the state", i);
	}
}

static void
test_scram_bad(void)
{
	for (size_t i = 0; i < sizeof scram_bad / sizeof scram_bad[0]; i++) {
		struct sasl s = {
			.user = "user", .password = "pencil", .nonce = "fyko+d2lbbFgONRv9qkxdawL"};
		const char *challenge = scram_bad[i].server_first;
		struct buf out;
		struct error e;
		char *copy;
		int rc;

		sasl_begin(&s, sasl_find("SCRAM-SHA-1"));
		buf_init(&out, 0);
		error_clear(&e);
		rc = sasl_step(&s, "", 0, &out, &e);
		if (scram_bad[i].server_final != NULL) {
			rc |= sasl_step(&s, challenge, strlen(challenge), &out, &e);
			challenge = scram_bad[i].server_final;
		}
		is_int(0, rc, "bad %zu: steps before the failure", i);
		/* exactly sized, so that the sanitizers see any read past it */
		copy = xmalloc(strlen(challenge));
		memcpy(copy, challenge, strlen(challenge));
		is_int(-1, sasl_step(&s, copy, strlen(challenge), &out, &e), "bad %zu: '%s' fails",
		       i, challenge);
		free(copy);
		is_int(scram_bad[i].status, e.status, "bad %zu: status", i);
		ok(strstr(e.msg, scram_bad[i].msg_part) != NULL, "bad %zu: message '%s' has '%s'",
		   i, e.msg, scram_bad[i].msg_part);
		ok(!sasl_complete(&s), "bad %zu: not complete", i);
		buf_free(&out);
		sasl_end(&s);
	}
}

static void
test_scram_more(void)
{
	struct sasl s = {.user = "user", .password = "pencil", .cb_type = NULL};
	struct sasl t = {.user = "user", .password = "pencil"};
	struct buf out, out2;
	struct error e;
	const char *nonce;

	/* random nonces: 24 bytes in base64, different every time */
	buf_init(&out, 0);
	buf_init(&out2, 0);
	sasl_begin(&s, sasl_find("SCRAM-SHA-256"));
	sasl_begin(&t, sasl_find("SCRAM-SHA-256"));
	is_int(0, sasl_step(&s, "", 0, &out, &e), "random nonce");
	is_int(0, sasl_step(&t, "", 0, &out2, &e), "another random nonce");
	ok(strncmp(out.data, "n,,n=user,r=", 12) == 0, "random nonce: client-first");
	nonce = out.data + 12;
	is_int(32, (long)strlen(nonce), "random nonce: 32 base64 characters");
	ok(strchr(nonce, ',') == NULL, "random nonce: no comma");
	ok(strcmp(out.data, out2.data) != 0, "random nonces differ");
	sasl_end(&s);
	sasl_end(&t);

	/* the server skips the server-final message and says 235 */
	s = (struct sasl){
		.user = "user", .password = "pencil", .nonce = "fyko+d2lbbFgONRv9qkxdawL"};
	sasl_begin(&s, sasl_find("SCRAM-SHA-1"));
	buf_reset(&out);
	is_int(0, sasl_step(&s, "", 0, &out, &e), "client-first");
	is_int(0, sasl_step(&s, SF1, strlen(SF1), &out, &e), "client-final");
	ok(!sasl_complete(&s), "235 without server-final: not complete");
	sasl_end(&s);

	/* -PLUS without channel binding data */
	s = (struct sasl){.user = "user", .password = "pencil"};
	sasl_begin(&s, sasl_find("SCRAM-SHA-256-PLUS"));
	buf_reset(&out);
	is_int(-1, sasl_step(&s, "", 0, &out, &e), "-PLUS without channel binding fails");
	is_int(ST_CONFIG, e.status, "-PLUS without channel binding: config");
	sasl_end(&s);

	/* a bounded output buffer */
	s = (struct sasl){.user = "user", .password = "pencil"};
	sasl_begin(&s, sasl_find("SCRAM-SHA-1"));
	buf_free(&out);
	buf_init(&out, 10);
	is_int(-1, sasl_step(&s, "", 0, &out, &e), "client-first longer than the buffer");
	sasl_end(&s);
	buf_free(&out);
	buf_free(&out2);
}

static void
test_cram_md5(void)
{
	/* RFC 2195 2 */
	struct sasl s = {.user = "tim", .password = "tanstaaftanstaaf"};
	const char *challenge = "<1896.697170952@postoffice.reston.mci.net>";
	struct buf out;
	struct error e;

	sasl_begin(&s, sasl_find("CRAM-MD5"));
	buf_init(&out, 0);
	is_int(0, sasl_step(&s, challenge, strlen(challenge), &out, &e), "CRAM-MD5 step");
	is_string("tim b913a602c7eda7a495b4e6e7334d3890", out.data, "CRAM-MD5 response");
	ok(sasl_complete(&s), "CRAM-MD5 complete");
	buf_reset(&out);
	is_int(-1, sasl_step(&s, challenge, strlen(challenge), &out, &e),
	       "CRAM-MD5: a second challenge fails");
	sasl_end(&s);

	sasl_begin(&s, sasl_find("CRAM-MD5"));
	is_int(-1, sasl_step(&s, "", 0, &out, &e), "CRAM-MD5: empty challenge fails");
	is_int(ST_ACCOUNT, e.status, "CRAM-MD5: empty challenge is an account error");
	sasl_end(&s);
	buf_free(&out);
}

static void
test_oauth(void)
{
	char *token = xmalloc(4001);
	struct buf want, out;
	struct error e;
	struct sasl s;

	for (size_t i = 0; i < 4000; i++)
		token[i] = "abcdefghijklmnopqrstuvwxyz0123456789-._~+/"[i % 42];
	token[4000] = '\0';
	buf_init(&want, 0);
	buf_init(&out, 0);

	s = (struct sasl){.user = "someone@example.com", .password = token};
	sasl_begin(&s, sasl_find("XOAUTH2"));
	buf_printf(&want, "user=someone@example.com\001auth=Bearer %s\001\001", token);
	is_int(0, sasl_step(&s, "", 0, &out, &e), "XOAUTH2 initial response");
	is_mem(want.data, want.len, out.data, out.len, "XOAUTH2 bytes, 4000-byte token");
	buf_reset(&out);
	is_int(0, sasl_step(&s, "{\"status\":\"400\"}", 16, &out, &e), "XOAUTH2 error challenge");
	is_int(0, (long)out.len, "XOAUTH2 answers an error with an empty response");
	is_int(-1, sasl_step(&s, "x", 1, &out, &e), "XOAUTH2: a third challenge fails");
	sasl_end(&s);

	s = (struct sasl){
		.user = "a,b=c", .password = token, .host = "mail.example.com", .port = 587};
	sasl_begin(&s, sasl_find("OAUTHBEARER"));
	buf_reset(&want);
	buf_reset(&out);
	buf_printf(&want,
		   "n,a=a=2Cb=3Dc,\001host=mail.example.com\001port=587\001auth=Bearer "
		   "%s\001\001",
		   token);
	is_int(0, sasl_step(&s, "", 0, &out, &e), "OAUTHBEARER initial response");
	is_mem(want.data, want.len, out.data, out.len, "OAUTHBEARER bytes, 4000-byte token");
	buf_reset(&out);
	is_int(0, sasl_step(&s, "{\"status\":\"invalid_token\"}", 26, &out, &e),
	       "OAUTHBEARER error challenge");
	is_mem("\001", 1, out.data, out.len, "OAUTHBEARER answers an error with ^A");
	is_int(-1, sasl_step(&s, "x", 1, &out, &e), "OAUTHBEARER: a third challenge fails");
	sasl_end(&s);

	s = (struct sasl){.user = "u", .password = "tok"};
	sasl_begin(&s, sasl_find("OAUTHBEARER"));
	buf_reset(&out);
	is_int(0, sasl_step(&s, "", 0, &out, &e), "OAUTHBEARER without host and port");
	is_mem("n,a=u,\001auth=Bearer tok\001\001", 24, out.data, out.len,
	       "OAUTHBEARER leaves out host and port");
	sasl_end(&s);

	s = (struct sasl){.user = "u", .password = "to\001ken"};
	sasl_begin(&s, sasl_find("XOAUTH2"));
	is_int(-1, sasl_step(&s, "", 0, &out, &e), "XOAUTH2 refuses ^A in the token");
	is_int(ST_CONFIG, e.status, "^A in the token: config");
	sasl_end(&s);

	s = (struct sasl){.user = "u\001", .password = "token"};
	sasl_begin(&s, sasl_find("OAUTHBEARER"));
	is_int(-1, sasl_step(&s, "", 0, &out, &e), "OAUTHBEARER refuses ^A in the user");
	sasl_end(&s);

	s = (struct sasl){.user = NULL, .password = NULL};
	sasl_begin(&s, sasl_find("EXTERNAL"));
	buf_reset(&out);
	is_int(0, sasl_step(&s, "", 0, &out, &e), "EXTERNAL initial response");
	is_int(0, (long)out.len, "EXTERNAL response is empty");
	ok(sasl_complete(&s), "EXTERNAL complete");
	is_int(-1, sasl_step(&s, "", 0, &out, &e), "EXTERNAL: a challenge fails");
	sasl_end(&s);

	buf_free(&want);
	buf_free(&out);
	free_secret(token);
}

static void
test_plain_login(void)
{
	struct sasl s = {.user = "tim", .password = "tanstaaftanstaaf"};
	struct buf out;
	struct error e;

	/* RFC 4616: NUL user NUL password */
	sasl_begin(&s, sasl_find("PLAIN"));
	buf_init(&out, 0);
	is_int(0, sasl_step(&s, "", 0, &out, &e), "PLAIN step");
	is_mem("\0tim\0tanstaaftanstaaf", 21, out.data, out.len, "PLAIN response");
	ok(sasl_complete(&s), "PLAIN complete");
	buf_reset(&out);
	is_int(-1, sasl_step(&s, "x", 1, &out, &e), "PLAIN: a second challenge fails");
	is_int(ST_ACCOUNT, e.status, "PLAIN: account class");
	sasl_end(&s);
	buf_free(&out);

	s = (struct sasl){.user = "bob", .password = "secret"};
	sasl_begin(&s, sasl_find("LOGIN"));
	buf_init(&out, 0);
	is_int(0, sasl_step(&s, "Username:", 9, &out, &e), "LOGIN user step");
	is_string("bob", out.data, "LOGIN sends the user");
	buf_reset(&out);
	is_int(0, sasl_step(&s, "Password:", 9, &out, &e), "LOGIN password step");
	is_string("secret", out.data, "LOGIN sends the password");
	buf_reset(&out);
	is_int(-1, sasl_step(&s, "More:", 5, &out, &e), "LOGIN: a third challenge fails");
	sasl_end(&s);
	buf_free(&out);
}

int
main(void)
{
	plan_lazy();
	for (size_t i = 0; i < sizeof choices / sizeof choices[0]; i++) {
		const struct sasl_mech *m =
			sasl_choose(choices[i].offered, choices[i].encrypted,
				    choices[i].channel_binding, choices[i].plaintext_ok);

		is_string(choices[i].chosen, m ? m->name : NULL,
			  "choose from '%s' (tls %d, cb %d, plaintext_ok %d)", choices[i].offered,
			  choices[i].encrypted, choices[i].channel_binding,
			  choices[i].plaintext_ok);
	}
	for (size_t i = 0; i < sizeof properties / sizeof properties[0]; i++) {
		const struct sasl_mech *m = sasl_find(properties[i].name);

		if (!ok(m != NULL, "%s exists", properties[i].name))
			continue;
		is_int(properties[i].reveals_password, m->reveals_password, "%s reveals_password",
		       m->name);
		is_int(properties[i].needs_tls, m->needs_tls, "%s needs_tls", m->name);
		is_int(properties[i].needs_password, m->needs_password, "%s needs_password",
		       m->name);
		is_int(properties[i].initial_response, m->initial_response, "%s initial_response",
		       m->name);
	}
	ok(sasl_find("plain") != NULL, "find ignores case");
	ok(sasl_find("XOAUTH3") == NULL, "unknown mechanism");
	is_string("SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN "
		  "CRAM-MD5 XOAUTH2 OAUTHBEARER EXTERNAL",
		  sasl_mechanisms(), "the list of mechanisms");

	test_plain_login();
	test_cram_md5();
	test_scram_ok();
	test_scram_bad();
	test_scram_more();
	test_oauth();
	return 0;
}
