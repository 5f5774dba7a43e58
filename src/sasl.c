/* sasl.c - the SASL mechanism table and the mechanisms themselves: PLAIN,
 * LOGIN, CRAM-MD5, SCRAM-SHA-1 and SCRAM-SHA-256 (with their -PLUS channel
 * binding variants), XOAUTH2, OAUTHBEARER and EXTERNAL.
 *
 * Untrusted input: server challenges (already base64-decoded), above all
 * the SCRAM server-first and server-final messages, whose every attribute
 * is bounded and checked before use.  Responses hold credentials or values
 * derived from them: they go into caller-owned buffers that are wiped, and
 * every intermediate key computed here is wiped before returning. */
#include "config.h"

#include "sasl.h"

#include "crypto.h"
#include "i18n.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How much of a server-supplied text (a SCRAM e= value) goes into an
 * error message. */
#define SERVER_TEXT_MAX 200

/* RFC 5802 and RFC 7677 recommend at least 4096 iterations; a server that
 * asks for fewer weakens the stored keys.  Above 1000000 a hostile server
 * could make every attempt spin for seconds. */
#define SCRAM_ITERATIONS_MIN 4096
#define SCRAM_ITERATIONS_MAX 1000000
#define SCRAM_MESSAGE_MAX 4096 /* a server-first or server-final message */
#define SCRAM_NONCE_BYTES 24
#define SCRAM_HASH_MAX CRYPTO_HASH_MAX

static int
more_asked(const struct sasl *s, struct error *e)
{
	return error_set(e, ST_ACCOUNT,
			 _("the server asked for more after AUTH %s; check user and password"),
			 s->mech->name);
}

static int
too_long(const struct sasl *s, struct error *e)
{
	return error_set(e, ST_ACCOUNT, _("user name or password too long for AUTH %s"),
			 s->mech->name);
}

static int
crypto_failed(const struct sasl *s, int rc, struct error *e)
{
	return error_set(e, ST_SOFTWARE, _("AUTH %s: the cryptographic library failed: %s"),
			 s->mech->name, crypto_strerror(rc));
}

/* The length of the leading printable ASCII run of a server text, bounded,
 * so that it can go into a one-line message. */
static int
printable_len(const char *text, size_t n)
{
	size_t i = 0;

	while (i < n && i < SERVER_TEXT_MAX && (unsigned char)text[i] >= 0x20 &&
	       (unsigned char)text[i] < 0x7f)
		i++;
	return (int)i;
}

/* RFC 5802 5.1 saslname (also the gs2 authzid of RFC 7628 3.1): ',' and
 * '=' are escaped as =2C and =3D. */
static int
put_saslname(struct buf *out, const char *name)
{
	for (; *name != '\0'; name++) {
		const char *escaped = *name == ',' ? "=2C" : *name == '=' ? "=3D" : NULL;
		int rc = escaped != NULL ? buf_puts(out, escaped) : buf_append(out, name, 1);

		if (rc < 0)
			return -1;
	}
	return 0;
}

/* RFC 4616: authzid NUL authcid NUL passwd, in one initial response. */
static int
plain_step(struct sasl *s, const char *challenge, size_t len, struct buf *out, struct error *e)
{
	if (s->step_no > 0)
		return more_asked(s, e);
	if (buf_append(out, "", 1) < 0 || buf_puts(out, s->user) < 0 ||
	    buf_append(out, "", 1) < 0 || buf_puts(out, s->password) < 0)
		return too_long(s, e);
	return 0;
}

/* draft-murchison-sasl-login: the server prompts "Username:", then
 * "Password:"; the prompts' text is not checked, only their order. */
static int
login_step(struct sasl *s, const char *challenge, size_t len, struct buf *out, struct error *e)
{
	const char *answer;

	if (s->step_no == 0)
		answer = s->user;
	else if (s->step_no == 1)
		answer = s->password;
	else
		return more_asked(s, e);
	if (buf_puts(out, answer) < 0)
		return too_long(s, e);
	return 0;
}

/* RFC 2195: user SP lower-case hex of HMAC-MD5(password, challenge). */
static int
cram_md5_step(struct sasl *s, const char *challenge, size_t len, struct buf *out, struct error *e)
{
	unsigned char digest[16];
	int rc;

	if (s->step_no > 0)
		return more_asked(s, e);
	if (len == 0)
		return error_set(e, ST_ACCOUNT,
				 _("the server sent an empty AUTH CRAM-MD5 challenge; try another "
				   "mechanism with 'auth'"));
	rc = crypto_hmac(CRYPTO_MD5, s->password, strlen(s->password), challenge, len, digest);
	if (rc < 0)
		return crypto_failed(s, rc, e);
	rc = buf_puts(out, s->user);
	if (rc == 0)
		rc = buf_append(out, " ", 1);
	for (size_t i = 0; rc == 0 && i < sizeof digest; i++)
		rc = buf_printf(out, "%02x", digest[i]);
	wipe(digest, sizeof digest);
	return rc < 0 ? too_long(s, e) : 0;
}

/* What a SCRAM exchange remembers between its three steps. */
struct scram_state {
	enum crypto_alg alg;
	size_t hash_len;
	struct buf gs2_header; /* "n,,", "y,," or "p=<cb_type>,," */
	struct buf nonce;      /* the client nonce */
	struct buf first_bare; /* client-first-message-bare, part of AuthMessage */
	unsigned char server_signature[SCRAM_HASH_MAX];
};

static void
scram_end(void *state)
{
	struct scram_state *st = state;

	buf_free(&st->gs2_header);
	buf_free(&st->nonce);
	buf_free(&st->first_bare);
	wipe(st, sizeof *st);
	free(st);
}

/* The a=value attributes of a server message, by lower-case letter. */
struct scram_attrs {
	const char *value[26];
	size_t len[26];
};

#define SCRAM_ATTR(a, c) ((a)->value[(c) - 'a'])
#define SCRAM_ATTR_LEN(a, c) ((a)->len[(c) - 'a'])

/* Splits a server message into its attributes (RFC 5802 7: ALPHA "="
 * value, separated by ','); upper-case ones are checked but not kept.
 * Returns -1 for a malformed message or a repeated attribute. */
static int
scram_parse(const char *msg, size_t len, struct scram_attrs *a)
{
	const char *end = msg + len;
	const char *p = msg;

	memset(a, 0, sizeof *a);
	if (len == 0 || len > SCRAM_MESSAGE_MAX || memchr(msg, '\0', len) != NULL)
		return -1;
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma != NULL ? comma : end;
		bool lower = p[0] >= 'a' && p[0] <= 'z';

		if (stop - p < 2 || p[1] != '=' || !(lower || (p[0] >= 'A' && p[0] <= 'Z')))
			return -1;
		if (lower) {
			if (SCRAM_ATTR(a, p[0]) != NULL)
				return -1;
			SCRAM_ATTR(a, p[0]) = p + 2;
			SCRAM_ATTR_LEN(a, p[0]) = (size_t)(stop - p - 2);
		}
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

static int
scram_malformed(const struct sasl *s, struct error *e)
{
	return error_set(e, ST_ACCOUNT,
			 _("the server sent a malformed AUTH %s message; try another mechanism "
			   "with 'auth'"),
			 s->mech->name);
}

/* e= (RFC 5802 7 server-error) ends the exchange with the server's reason;
 * m= announces a mandatory extension that outbox does not know. */
static int
scram_refusal(const struct sasl *s, const struct scram_attrs *a, struct error *e)
{
	const char *reason = SCRAM_ATTR(a, 'e');

	if (reason != NULL)
		return error_set(e, ST_ACCOUNT, _("the server refused AUTH %s: %.*s"),
				 s->mech->name, printable_len(reason, SCRAM_ATTR_LEN(a, 'e')),
				 reason);
	if (SCRAM_ATTR(a, 'm') != NULL)
		return error_set(e, ST_ACCOUNT,
				 _("the server requires a SCRAM extension that outbox does not "
				   "support; try another mechanism with 'auth'"));
	return 0;
}

/* Step 0, client-first-message (RFC 5802 7): gs2 header, then n=user,r=nonce.
 * The gs2 flag is 'p' for -PLUS, 'y' when outbox could bind the channel but
 * the server offers no -PLUS mechanism (so that a downgrade is detected),
 * 'n' otherwise (RFC 5802 6). */
static int
scram_start(struct sasl *s, enum crypto_alg alg, struct buf *out, struct error *e)
{
	struct scram_state *st;
	int rc;

	if (s->mech->needs_channel_binding && s->cb_type == NULL)
		return error_set(e, ST_CONFIG,
				 _("AUTH %s needs channel binding, which this connection does not "
				   "provide; name a mechanism without -PLUS"),
				 s->mech->name);
	st = xcalloc(1, sizeof *st);
	s->state = st;
	st->alg = alg;
	st->hash_len = crypto_hash_len(alg);
	buf_init(&st->gs2_header, 0);
	buf_init(&st->nonce, 0);
	buf_init(&st->first_bare, 0);
	if (s->mech->needs_channel_binding)
		buf_printf(&st->gs2_header, "p=%s,,", s->cb_type);
	else
		buf_puts(&st->gs2_header,
			 s->cb_type != NULL && !s->server_offers_plus ? "y,," : "n,,");
	if (s->nonce != NULL) {
		buf_puts(&st->nonce, s->nonce);
	} else {
		unsigned char raw[SCRAM_NONCE_BYTES];

		rc = crypto_random(raw, sizeof raw);
		if (rc < 0)
			return crypto_failed(s, rc, e);
		base64_encode(raw, sizeof raw, &st->nonce);
	}
	if (buf_puts(&st->first_bare, "n=") < 0 || put_saslname(&st->first_bare, s->user) < 0 ||
	    buf_puts(&st->first_bare, ",r=") < 0 || buf_puts(&st->first_bare, st->nonce.data) < 0 ||
	    buf_append(out, st->gs2_header.data, st->gs2_header.len) < 0 ||
	    buf_append(out, st->first_bare.data, st->first_bare.len) < 0)
		return too_long(s, e);
	return 0;
}

/* RFC 5802 3: from the password, salt and iteration count to the
 * ClientProof and the ServerSignature that the server must send back.
 *
 * The password goes in as its bytes, without SASLprep (RFC 4013).  For
 * ASCII that is what SASLprep yields (it would only refuse control
 * characters).  For other passwords it is a known limitation, shared with
 * many clients and servers (Dovecot does not normalize either): full
 * SASLprep needs NFKC, which none of outbox's libraries offers, and a
 * partial mapping would match neither kind of server. */
static int
scram_compute(const struct scram_state *st, const char *password, const struct buf *salt,
	      unsigned iterations, const struct buf *auth_message, unsigned char *proof,
	      unsigned char *server_signature)
{
	unsigned char salted[SCRAM_HASH_MAX], client_key[SCRAM_HASH_MAX];
	unsigned char stored_key[SCRAM_HASH_MAX], server_key[SCRAM_HASH_MAX];
	size_t n = st->hash_len;
	int rc;

	rc = crypto_pbkdf2(st->alg, password, strlen(password), salt->data, salt->len, iterations,
			   salted, n);
	if (rc >= 0)
		rc = crypto_hmac(st->alg, salted, n, "Client Key", 10, client_key);
	if (rc >= 0)
		rc = crypto_hash(st->alg, client_key, n, stored_key);
	if (rc >= 0) /* ClientSignature, turned into the proof below */
		rc = crypto_hmac(st->alg, stored_key, n, auth_message->data, auth_message->len,
				 proof);
	if (rc >= 0)
		rc = crypto_hmac(st->alg, salted, n, "Server Key", 10, server_key);
	if (rc >= 0)
		rc = crypto_hmac(st->alg, server_key, n, auth_message->data, auth_message->len,
				 server_signature);
	for (size_t i = 0; rc >= 0 && i < n; i++)
		proof[i] ^= client_key[i];
	wipe(salted, sizeof salted);
	wipe(client_key, sizeof client_key);
	wipe(stored_key, sizeof stored_key);
	wipe(server_key, sizeof server_key);
	return rc;
}

/* The server's combined nonce must start with ours (else the exchange is
 * replayed or intercepted) and be printable, since it is echoed back. */
static bool
scram_nonce_ok(const struct scram_state *st, const char *nonce, size_t len)
{
	if (len < st->nonce.len || memcmp(nonce, st->nonce.data, st->nonce.len) != 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)nonce[i] < 0x21 || (unsigned char)nonce[i] > 0x7e)
			return false;
	return true;
}

/* The i= count, within SCRAM_ITERATIONS_MIN..MAX. */
static int
scram_iterations(const char *value, size_t len, long *iterations)
{
	char count[16];

	if (len >= sizeof count)
		return -1;
	memcpy(count, value, len);
	count[len] = '\0';
	return parse_long(count, SCRAM_ITERATIONS_MIN, SCRAM_ITERATIONS_MAX, iterations);
}

/* Step 1: server-first-message in, client-final-message out:
 * c=base64(gs2 header [+ channel binding data]),r=nonce,p=proof. */
static int
scram_proof(struct sasl *s, struct scram_state *st, const char *msg, size_t len, struct buf *out,
	    struct error *e)
{
	struct scram_attrs a;
	struct buf salt, cbind, auth_message, response;
	unsigned char proof[SCRAM_HASH_MAX];
	long iterations;
	int rc;

	if (scram_parse(msg, len, &a) < 0)
		return scram_malformed(s, e);
	if (scram_refusal(s, &a, e) < 0)
		return -1;
	if (SCRAM_ATTR(&a, 'r') == NULL || SCRAM_ATTR(&a, 's') == NULL ||
	    SCRAM_ATTR(&a, 'i') == NULL)
		return scram_malformed(s, e);
	if (!scram_nonce_ok(st, SCRAM_ATTR(&a, 'r'), SCRAM_ATTR_LEN(&a, 'r')))
		return error_set(e, ST_ACCOUNT,
				 _("the server's AUTH %s nonce does not extend outbox's: the "
				   "connection may be intercepted"),
				 s->mech->name);
	if (scram_iterations(SCRAM_ATTR(&a, 'i'), SCRAM_ATTR_LEN(&a, 'i'), &iterations) < 0)
		return error_set(
			e, ST_ACCOUNT,
			_("the server's SCRAM iteration count '%.*s' is not between %d and "
			  "%d; try another mechanism with 'auth'"),
			printable_len(SCRAM_ATTR(&a, 'i'), SCRAM_ATTR_LEN(&a, 'i')),
			SCRAM_ATTR(&a, 'i'), SCRAM_ITERATIONS_MIN, SCRAM_ITERATIONS_MAX);
	/* Only out may be bounded (by the caller); appends to the unbounded
	 * local buffers cannot fail. */
	buf_init(&salt, SCRAM_MESSAGE_MAX);
	buf_init(&cbind, 0);
	buf_init(&auth_message, 0);
	buf_init(&response, 0);
	rc = base64_decode(SCRAM_ATTR(&a, 's'), SCRAM_ATTR_LEN(&a, 's'), &salt);
	if (rc < 0 || salt.len == 0) {
		rc = scram_malformed(s, e);
		goto out;
	}
	buf_append(&cbind, st->gs2_header.data, st->gs2_header.len);
	if (s->mech->needs_channel_binding)
		buf_append(&cbind, s->cb_data, s->cb_len);
	buf_puts(&response, "c=");
	base64_encode((const unsigned char *)cbind.data, cbind.len, &response);
	buf_puts(&response, ",r=");
	buf_append(&response, SCRAM_ATTR(&a, 'r'), SCRAM_ATTR_LEN(&a, 'r'));
	/* AuthMessage = client-first-message-bare "," server-first-message ","
	 * client-final-message-without-proof */
	buf_printf(&auth_message, "%s,%.*s,%s", st->first_bare.data, (int)len, msg, response.data);
	rc = scram_compute(st, s->password, &salt, (unsigned)iterations, &auth_message, proof,
			   st->server_signature);
	if (rc < 0) {
		rc = crypto_failed(s, rc, e);
		goto out;
	}
	buf_puts(&response, ",p=");
	base64_encode(proof, st->hash_len, &response);
	if (buf_append(out, response.data, response.len) < 0)
		rc = too_long(s, e);
out:
	wipe(proof, sizeof proof);
	buf_free(&salt);
	buf_free(&cbind);
	buf_free(&auth_message);
	buf_free(&response);
	return rc;
}

/* Step 2: server-final-message in (v=ServerSignature, or e=reason), empty
 * response out.  Only a matching signature makes the exchange complete. */
static int
scram_verify(struct sasl *s, struct scram_state *st, const char *msg, size_t len, struct error *e)
{
	struct scram_attrs a;
	struct buf signature;
	bool match;

	if (scram_parse(msg, len, &a) < 0)
		return scram_malformed(s, e);
	if (scram_refusal(s, &a, e) < 0)
		return -1;
	if (SCRAM_ATTR(&a, 'v') == NULL)
		return scram_malformed(s, e);
	buf_init(&signature, SCRAM_MESSAGE_MAX);
	match = base64_decode(SCRAM_ATTR(&a, 'v'), SCRAM_ATTR_LEN(&a, 'v'), &signature) == 0 &&
		signature.len == st->hash_len &&
		crypto_equal(signature.data, st->server_signature, st->hash_len);
	buf_free(&signature);
	if (!match)
		return error_set(e, ST_ACCOUNT,
				 _("the server's SCRAM signature is wrong: it does not know the "
				   "password, or the connection is intercepted"));
	s->complete = true;
	return 0;
}

static int
scram_step(struct sasl *s, enum crypto_alg alg, const char *challenge, size_t len, struct buf *out,
	   struct error *e)
{
	if (s->step_no == 0)
		return scram_start(s, alg, out, e);
	if (s->state == NULL || s->step_no > 2)
		return more_asked(s, e);
	if (s->step_no == 1)
		return scram_proof(s, s->state, challenge, len, out, e);
	return scram_verify(s, s->state, challenge, len, e);
}

static int
scram_sha1_step(struct sasl *s, const char *challenge, size_t len, struct buf *out, struct error *e)
{
	return scram_step(s, CRYPTO_SHA1, challenge, len, out, e);
}

static int
scram_sha256_step(struct sasl *s, const char *challenge, size_t len, struct buf *out,
		  struct error *e)
{
	return scram_step(s, CRYPTO_SHA256, challenge, len, out, e);
}

/* The OAuth mechanisms separate key=value pairs with ^A: a user name, token
 * or host holding one would forge pairs. */
static int
oauth_check(const struct sasl *s, struct error *e)
{
	if (strchr(s->user, '\x01') != NULL || strchr(s->password, '\x01') != NULL ||
	    (s->host != NULL && strchr(s->host, '\x01') != NULL))
		return error_set(e, ST_CONFIG,
				 _("the user name or OAuth token for AUTH %s contains a ^A "
				   "character; check the account"),
				 s->mech->name);
	return 0;
}

/* Google's and Microsoft's XOAUTH2: user=U ^A auth=Bearer T ^A ^A.  A
 * challenge is a base64 JSON error report; an empty response lets the
 * server end the exchange with its 535. */
static int
xoauth2_step(struct sasl *s, const char *challenge, size_t len, struct buf *out, struct error *e)
{
	if (s->step_no == 1)
		return 0;
	if (s->step_no > 1)
		return more_asked(s, e);
	if (oauth_check(s, e) < 0)
		return -1;
	if (buf_puts(out, "user=") < 0 || buf_puts(out, s->user) < 0 ||
	    buf_puts(out, "\x01"
			  "auth=Bearer ") < 0 ||
	    buf_puts(out, s->password) < 0 || buf_puts(out, "\x01\x01") < 0)
		return too_long(s, e);
	return 0;
}

/* RFC 7628 3.1: gs2 header "n,a=user,", then ^A-separated host, port and
 * auth pairs.  A challenge is a JSON error report, answered with a lone ^A
 * (3.2.3) so that the server fails the exchange. */
static int
oauthbearer_step(struct sasl *s, const char *challenge, size_t len, struct buf *out,
		 struct error *e)
{
	int rc;

	if (s->step_no == 1)
		return buf_puts(out, "\x01") < 0 ? too_long(s, e) : 0;
	if (s->step_no > 1)
		return more_asked(s, e);
	if (oauth_check(s, e) < 0)
		return -1;
	rc = buf_puts(out, "n,a=");
	if (rc == 0)
		rc = put_saslname(out, s->user);
	if (rc == 0)
		rc = buf_puts(out, ",");
	if (rc == 0 && s->host != NULL && s->host[0] != '\0')
		rc = buf_printf(out, "\x01host=%s", s->host);
	if (rc == 0 && s->port != 0)
		rc = buf_printf(out, "\x01port=%u", s->port);
	if (rc == 0)
		rc = buf_printf(out,
				"\x01"
				"auth=Bearer %s\x01\x01",
				s->password);
	return rc < 0 ? too_long(s, e) : 0;
}

/* RFC 4422 appendix A: the identity comes from the TLS client certificate;
 * the empty response asks for no other authorization identity. */
static int
external_step(struct sasl *s, const char *challenge, size_t len, struct buf *out, struct error *e)
{
	return s->step_no > 0 ? more_asked(s, e) : 0;
}

/* In order of preference for sasl_choose. */
static const struct sasl_mech mechanisms[] = {
	{.name = "SCRAM-SHA-256-PLUS",
	 .needs_channel_binding = true,
	 .needs_tls = true,
	 .needs_password = true,
	 .initial_response = true,
	 .verifies_server = true,
	 .step = scram_sha256_step,
	 .end = scram_end},
	{.name = "SCRAM-SHA-1-PLUS",
	 .needs_channel_binding = true,
	 .needs_tls = true,
	 .needs_password = true,
	 .initial_response = true,
	 .verifies_server = true,
	 .step = scram_sha1_step,
	 .end = scram_end},
	{.name = "SCRAM-SHA-256",
	 .needs_password = true,
	 .initial_response = true,
	 .verifies_server = true,
	 .step = scram_sha256_step,
	 .end = scram_end},
	{.name = "SCRAM-SHA-1",
	 .needs_password = true,
	 .initial_response = true,
	 .verifies_server = true,
	 .step = scram_sha1_step,
	 .end = scram_end},
	{.name = "PLAIN",
	 .reveals_password = true,
	 .needs_password = true,
	 .initial_response = true,
	 .step = plain_step},
	{.name = "LOGIN", .reveals_password = true, .needs_password = true, .step = login_step},
	{.name = "CRAM-MD5", .needs_password = true, .step = cram_md5_step},
	{.name = "XOAUTH2",
	 .reveals_password = true,
	 .needs_password = true,
	 .initial_response = true,
	 .named_only = true,
	 .step = xoauth2_step},
	{.name = "OAUTHBEARER",
	 .reveals_password = true,
	 .needs_password = true,
	 .initial_response = true,
	 .named_only = true,
	 .step = oauthbearer_step},
	{.name = "EXTERNAL",
	 .needs_tls = true,
	 .initial_response = true,
	 .named_only = true,
	 .step = external_step},
};
#define N_MECHANISMS (sizeof mechanisms / sizeof mechanisms[0])

const struct sasl_mech *
sasl_find(const char *name)
{
	for (size_t i = 0; i < N_MECHANISMS; i++)
		if (strcasecmp(mechanisms[i].name, name) == 0)
			return &mechanisms[i];
	return NULL;
}

static bool
offered_has(const char *offered, const char *name)
{
	size_t n = strlen(name);

	while (*offered != '\0') {
		size_t len = strcspn(offered, " ");

		if (len == n && strncasecmp(offered, name, n) == 0)
			return true;
		offered += len;
		offered += strspn(offered, " ");
	}
	return false;
}

static bool
usable(const struct sasl_mech *m, bool encrypted, bool channel_binding, bool plaintext_ok)
{
	return !m->named_only && (channel_binding || !m->needs_channel_binding) &&
	       (encrypted || !m->needs_tls) && (encrypted || plaintext_ok || !m->reveals_password);
}

const struct sasl_mech *
sasl_choose(const char *offered, bool encrypted, bool channel_binding, bool plaintext_ok)
{
	for (size_t i = 0; i < N_MECHANISMS; i++)
		if (usable(&mechanisms[i], encrypted, channel_binding, plaintext_ok) &&
		    offered_has(offered, mechanisms[i].name))
			return &mechanisms[i];
	return NULL;
}

const char *
sasl_mechanisms(void)
{
	/* The unit test compares the whole list, so outgrowing this shows. */
	static char names[256];

	if (names[0] == '\0') {
		for (size_t i = 0; i < N_MECHANISMS; i++) {
			if (i > 0)
				strcat(names, " ");
			strcat(names, mechanisms[i].name);
		}
	}
	return names;
}

void
sasl_begin(struct sasl *s, const struct sasl_mech *mech)
{
	s->mech = mech;
	if (s->user == NULL)
		s->user = "";
	if (s->password == NULL)
		s->password = "";
	s->step_no = 0;
	s->state = NULL;
	s->complete = !mech->verifies_server;
}

int
sasl_step(struct sasl *s, const char *challenge, size_t len, struct buf *out, struct error *e)
{
	int rc = s->mech->step(s, challenge, len, out, e);

	s->step_no++;
	return rc;
}

bool
sasl_complete(const struct sasl *s)
{
	return s->complete;
}

void
sasl_end(struct sasl *s)
{
	if (s->state != NULL)
		s->mech->end(s->state);
	s->state = NULL;
}
