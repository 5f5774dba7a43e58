/* tls_cert-t.c - tests for src/tls_cert.c: tls_fingerprint parsing
 * (tls_set_pin: SHA-256 and legacy SHA-1, anything else refused with
 * ST_CONFIG), and the verification messages.  Those come from handshakes
 * run in this process, a GnuTLS server and a client session with
 * tls_verify_peer as its verify function on the two ends of a socketpair,
 * against certificates made here: expired, not yet valid, untrusted,
 * issued for other names (listed, at most six, made printable), pinned
 * rightly and wrongly; then tls_describe() of a session that passed. */
#include "config.h"

#include "tls_private.h"

#include "tap/basic.h"

#include <gnutls/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DAY 86400

static gnutls_x509_privkey_t key;

#define SHA256_A                                                                                   \
	"AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:"  \
	"77:88:99"
#define SHA1_A "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67"

static void
test_pins(void)
{
	static const struct {
		const char *pin;
		int rc;
		size_t len;
		gnutls_digest_algorithm_t algo;
		unsigned char first;
	} cases[] = {
		{SHA256_A, 0, 32, GNUTLS_DIG_SHA256, 0xAA},
		{"aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:"
		 "55:"
		 "66:77:88:99",
		 0, 32, GNUTLS_DIG_SHA256, 0xAA},
		{SHA1_A, 0, 20, GNUTLS_DIG_SHA1, 0x01},
		{"01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF", -1, 0, 0, 0}, /* MD5's length */
		{SHA256_A ":00", -1, 0, 0, 0},
		{"AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:"
		 "55:"
		 "66:77:88",
		 -1, 0, 0, 0},
		{"AABBCCDDEEFF00112233445566778899AABBCCDDEEFF00112233445566778899", -1, 0, 0, 0},
		{"GG:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:"
		 "55:"
		 "66:77:88:99",
		 -1, 0, 0, 0},
		{SHA256_A ":", -1, 0, 0, 0},
		{"", -1, 0, 0, 0},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct tls t;
		struct error e;
		int rc;

		memset(&t, 0, sizeof t);
		error_clear(&e);
		rc = tls_set_pin(&t, cases[i].pin, &e);
		is_int(cases[i].rc, rc, "tls_set_pin %s", cases[i].pin);
		if (rc == 0) {
			is_int(CHECK_PIN, t.check, "it checks the pin");
			is_int((long)cases[i].len, (long)t.pin_len, "%zu bytes", cases[i].len);
			is_int(cases[i].algo, t.pin_algo, "the digest");
			is_int(cases[i].first, t.pin[0], "its first byte");
		} else {
			is_int(ST_CONFIG, e.status, "refused: ST_CONFIG");
			ok(strstr(e.msg, "is not a SHA-256 fingerprint") != NULL, "saying so: %s",
			   e.msg);
			is_int(CHECK_NONE, t.check, "the check is unchanged");
		}
	}
}

/* A certificate signed by itself. */
struct cert_spec {
	long from, until; /* validity, seconds from now */
	const char *cn;
	const char *names[8]; /* DNS names */
	const char *ip;       /* an IPv4 address name, or NULL */
};

static gnutls_x509_crt_t
make_cert(const struct cert_spec *c)
{
	static unsigned char serial;
	gnutls_x509_crt_t crt;
	time_t now = time(NULL);

	serial++;
	if (gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_crt_set_version(crt, 3) < 0 ||
	    gnutls_x509_crt_set_serial(crt, &serial, 1) < 0 ||
	    gnutls_x509_crt_set_activation_time(crt, now + c->from) < 0 ||
	    gnutls_x509_crt_set_expiration_time(crt, now + c->until) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, c->cn,
					  (unsigned)strlen(c->cn)) < 0 ||
	    gnutls_x509_crt_set_key(crt, key) < 0)
		bail("cannot make a certificate");
	for (size_t i = 0; i < 8 && c->names[i] != NULL; i++)
		if (gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, c->names[i],
							 (unsigned)strlen(c->names[i]),
							 GNUTLS_FSAN_APPEND) < 0)
			bail("cannot add %s", c->names[i]);
	if (c->ip != NULL) {
		unsigned char addr[4] = {127, 0, 0, 1};

		if (gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, 4,
							 GNUTLS_FSAN_APPEND) < 0)
			bail("cannot add the address");
	}
	if (gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0)
		bail("cannot sign the certificate");
	return crt;
}

static void
fingerprint_of(gnutls_x509_crt_t crt, char out[HEX_MAX])
{
	unsigned char md[32];
	size_t len = sizeof md;

	if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, md, &len) < 0)
		bail("no fingerprint");
	hex_encode(md, len, true, ':', out);
}

/* Both ends of a handshake, stepped in turn until the client is done. */
struct pair {
	gnutls_session_t server, client;
	gnutls_certificate_credentials_t server_cred, client_cred;
	int sv[2];
};

static int
handshake(struct pair *p, gnutls_x509_crt_t crt, bool trust, struct tls *t)
{
	int crc = GNUTLS_E_AGAIN, src = GNUTLS_E_AGAIN;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->sv) < 0 ||
	    gnutls_certificate_allocate_credentials(&p->server_cred) < 0 ||
	    gnutls_certificate_set_x509_key(p->server_cred, &crt, 1, key) < 0 ||
	    gnutls_certificate_allocate_credentials(&p->client_cred) < 0 ||
	    (trust && gnutls_certificate_set_x509_trust(p->client_cred, &crt, 1) < 0) ||
	    gnutls_init(&p->server, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0 ||
	    gnutls_set_default_priority(p->server) < 0 ||
	    gnutls_credentials_set(p->server, GNUTLS_CRD_CERTIFICATE, p->server_cred) < 0 ||
	    gnutls_init(&p->client, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0 ||
	    gnutls_set_default_priority(p->client) < 0 ||
	    gnutls_credentials_set(p->client, GNUTLS_CRD_CERTIFICATE, p->client_cred) < 0)
		bail("cannot set the sessions up");
	gnutls_transport_set_int(p->server, p->sv[0]);
	gnutls_transport_set_int(p->client, p->sv[1]);
	gnutls_session_set_ptr(p->client, t);
	gnutls_session_set_verify_function(p->client, tls_verify_peer);
	t->session = p->client;
	for (int round = 0; round < 1000 && crc != 0 && !gnutls_error_is_fatal(crc); round++) {
		struct pollfd fds[] = {{p->sv[0], POLLIN, 0}, {p->sv[1], POLLIN, 0}};

		crc = gnutls_handshake(p->client);
		if (src != 0 && !gnutls_error_is_fatal(src))
			src = gnutls_handshake(p->server);
		if (crc != 0 && !gnutls_error_is_fatal(crc))
			poll(fds, 2, 100);
	}
	return crc;
}

static void
pair_free(struct pair *p)
{
	gnutls_deinit(p->client);
	gnutls_deinit(p->server);
	gnutls_certificate_free_credentials(p->client_cred);
	gnutls_certificate_free_credentials(p->server_cred);
	close(p->sv[0]);
	close(p->sv[1]);
}

struct verify_case {
	const char *name;
	struct cert_spec cert;
	bool trust;
	const char *host;
	const char *pin;         /* "RIGHT": the certificate's own; else a pin or NULL */
	const char *expected[3]; /* parts of the message; NULL: the handshake passes */
	bool offers_pin;
};

static const struct verify_case verify_cases[] = {
	{"expired",
	 {-10 * DAY, -DAY, "localhost", {"localhost"}, NULL},
	 true,
	 "localhost",
	 NULL,
	 {"TLS certificate of localhost expired on ", " UTC; ask the server's administrator to "
						      "renew it"},
	 true},
	{"not yet valid",
	 {DAY, 10 * DAY, "localhost", {"localhost"}, NULL},
	 true,
	 "localhost",
	 NULL,
	 {"TLS certificate of localhost is not valid before ", " UTC; check the system clock"},
	 false},
	{"untrusted",
	 {-DAY, DAY, "localhost", {"localhost"}, NULL},
	 false,
	 "localhost",
	 NULL,
	 {"TLS certificate of localhost is not trusted: signer not found; set tls_trust_file to "
	  "the CA that signed it"},
	 true},
	{"another name",
	 {-DAY, DAY, "mail.example", {"mail.example", "smtp.example"}, "127.0.0.1"},
	 true,
	 "localhost",
	 NULL,
	 {"TLS certificate of localhost is issued for mail.example, smtp.example, 127.0.0.1; "
	  "check host or set tls_host_override"},
	 false},
	{"many names",
	 {-DAY,
	  DAY,
	  "a.example",
	  {"a.example", "b.example", "c.example", "d.example", "e.example", "f.example",
	   "g.example", "h.example"},
	  NULL},
	 true,
	 "localhost",
	 NULL,
	 {"is issued for a.example, b.example, c.example, d.example, e.example, f.example, ...; "},
	 false},
	{"only a common name",
	 {-DAY, DAY, "cn.example", {NULL}, NULL},
	 true,
	 "localhost",
	 NULL,
	 {"is issued for cn.example; "},
	 false},
	{"a common name with control bytes",
	 {-DAY, DAY, "evil\x1b[31m\x7f.example", {NULL}, NULL},
	 true,
	 "localhost",
	 NULL,
	 {"is issued for evil?[31m?.example; "},
	 false},
	{"pinned wrongly",
	 {-DAY, DAY, "localhost", {"localhost"}, NULL},
	 false,
	 "localhost",
	 SHA256_A,
	 {"TLS certificate of localhost does not match tls_fingerprint: expected " SHA256_A
	  ", seen ",
	  "; if the server's certificate was replaced, check the new one and update "
	  "tls_fingerprint"},
	 false},
	{"pinned, expired",
	 {-10 * DAY, -DAY, "other", {"other.example"}, NULL},
	 false,
	 "localhost",
	 "RIGHT",
	 {NULL},
	 false},
	{"trusted",
	 {-DAY, DAY, "localhost", {"localhost"}, NULL},
	 true,
	 "localhost",
	 NULL,
	 {NULL},
	 false},
};

static void
check_described(const struct verify_case *c, const struct tls *t, const char *fp)
{
	struct buf out;
	char *line = xasprintf("  sha256: %s\n", fp);

	buf_init(&out, 0);
	is_int(0, tls_describe(t, &out), "%s: described", c->name);
	ok(out.data != NULL && strstr(out.data, line) != NULL, "%s: its fingerprint", c->name);
	ok(out.data != NULL &&
		   strstr(out.data, c->pin != NULL ? "  verification: matches tls_fingerprint\n"
						   : "  verification: trusted\n") != NULL,
	   "%s: how it was verified", c->name);
	ok(out.data != NULL && strstr(out.data, "  protocol: TLS1.") != NULL, "%s: the protocol",
	   c->name);
	buf_free(&out);
	free(line);
}

static void
check_verify(const struct verify_case *c)
{
	gnutls_x509_crt_t crt = make_cert(&c->cert);
	char fp[HEX_MAX], *offer;
	struct pair p;
	struct tls t;
	int rc;

	fingerprint_of(crt, fp);
	memset(&t, 0, sizeof t);
	t.name = xstrdup(c->host);
	t.check = CHECK_CA;
	if (c->pin != NULL &&
	    tls_set_pin(&t, strcmp(c->pin, "RIGHT") == 0 ? fp : c->pin, &t.verify_error) < 0)
		bail("tls_set_pin: %s", t.verify_error.msg);
	rc = handshake(&p, crt, c->trust, &t);
	if (c->expected[0] == NULL) {
		is_int(0, rc, "%s: the handshake passes", c->name);
		is_int(ST_OK, t.verify_error.status, "%s: no verification error", c->name);
		if (rc == 0)
			check_described(c, &t, fp);
	} else {
		ok(rc < 0, "%s: the handshake fails (%s)", c->name, gnutls_strerror(rc));
		is_int(ST_CONFIG, t.verify_error.status, "%s: ST_CONFIG", c->name);
		for (size_t i = 0; i < 3 && c->expected[i] != NULL; i++)
			ok(strstr(t.verify_error.msg, c->expected[i]) != NULL, "%s: says \"%s\"",
			   c->name, c->expected[i]);
		offer = xasprintf(", or pin it by adding this line to the account: "
				  "tls_fingerprint %s",
				  fp);
		ok((strstr(t.verify_error.msg, offer) != NULL) == c->offers_pin, "%s: %s", c->name,
		   c->offers_pin ? "offers the pin, last" : "offers no pin");
		if (c->pin != NULL)
			ok(strstr(t.verify_error.msg, fp) != NULL, "%s: shows the fingerprint seen",
			   c->name);
		diag("%s", t.verify_error.msg);
		free(offer);
	}
	pair_free(&p);
	gnutls_x509_crt_deinit(crt);
	free(t.name);
}

static void
test_no_certificate(void)
{
	gnutls_session_t session;
	struct tls t;

	memset(&t, 0, sizeof t);
	t.name = xstrdup("mail.example");
	if (gnutls_init(&session, GNUTLS_CLIENT) < 0)
		bail("gnutls_init");
	gnutls_session_set_ptr(session, &t);
	ok(tls_verify_peer(session) != 0, "no certificate from the peer: rejected");
	is_string("the server mail.example sent no usable TLS certificate", t.verify_error.msg,
		  "saying so");
	is_int(ST_CONFIG, t.verify_error.status, "ST_CONFIG");
	gnutls_deinit(session);
	free(t.name);
}

int
main(void)
{
	plan_lazy();
	if (gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0)
		bail("cannot make a key");
	test_pins();
	test_no_certificate();
	for (size_t i = 0; i < sizeof verify_cases / sizeof verify_cases[0]; i++)
		check_verify(&verify_cases[i]);
	gnutls_x509_privkey_deinit(key);
	return 0;
}
